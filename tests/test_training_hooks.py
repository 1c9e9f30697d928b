"""Studies plug into training through hooks (``train.hooks``): a data transform, a model
transform and a loss term; several compose in registration order; a new study is a module
(a settings dataclass and its hooks), not fields on ``TrainConfig``."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, fields
from typing import ClassVar

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.special import log_softmax, rel_entr, softmax

from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import get_task
from gluebench.errors import UsageError
from gluebench.train import features, loop
from gluebench.train.config import FIELDS, TrainConfig, build_config
from gluebench.train.diet import DataDietSettings, diet_subset
from gluebench.train.distillation import Distillation, DistillSettings
from gluebench.train.hooks import (
    ChainedLoss,
    ComposedHooks,
    Step,
    TrainingHooks,
    Unit,
    register_study,
    unregister_study,
)
from gluebench.train.pruning import LayerDropSettings

RTE = get_task("RTE")
UNIT = Unit("RTE", seed=1, data_seed=0, regression=False)


def _rte_train(n: int = 40):
    return open_source("sample").load(RTE, "train").subsample(n, 0)


# ---- a made-up study, defined here as its own module would define it -----------------------

SEEN: list[dict] = []   # what the study's loss term saw, one entry per micro-batch


@dataclass(frozen=True)
class OnlyLabelSettings:
    """Train only on the examples of one label, and mark the model it changed."""

    name: ClassVar[str] = "only-label"
    record_defaults: ClassVar[bool] = False

    only_label: int | None = field(default=None, metadata={
        "help": "train only on the examples of this label id"})

    def check(self) -> None:
        if self.only_label is not None and self.only_label < 0:
            raise UsageError(f"'only_label' must be a label id >= 0, got {self.only_label}")

    def hooks(self) -> TrainingHooks | None:
        return None if self.only_label is None else OnlyLabel(self.only_label)


class Recorder:
    """A loss term that changes nothing and records what reached it."""

    needs_hidden = False

    def parameters(self) -> list:
        return []

    def to(self, device: str) -> Recorder:
        return self

    def __call__(self, loss, step: Step):
        SEEN.append({"gold": step.gold.tolist(), "rows": step.rows.tolist()})
        return loss


class OnlyLabel(TrainingHooks):
    def __init__(self, label: int):
        self.label = label

    def transform_data(self, examples, unit):
        return examples.take(np.flatnonzero(examples.labels == self.label))

    def transform_model(self, model, unit):
        changed = copy.deepcopy(model)   # a new model: the runner must train what we return
        changed.config.changed_by = "only-label"   # saved with the checkpoint's config.json
        return changed

    def loss_term(self, examples, model, unit):
        return Recorder()


@pytest.fixture
def only_label():
    register_study(OnlyLabelSettings)
    SEEN.clear()
    yield OnlyLabelSettings
    unregister_study(OnlyLabelSettings)


def test_a_new_study_is_its_own_settings_not_trainconfig_fields(only_label):
    assert "only_label" not in {f.name for f in fields(TrainConfig)}
    assert "only_label" in FIELDS and FIELDS["only_label"].metadata["help"]
    config = build_config(only_label="1")               # a flag's text, coerced by its type
    assert config.studies == (OnlyLabelSettings(only_label=1),)
    assert config.to_dict()["only_label"] == 1
    assert "only_label" not in build_config().to_dict()   # plain runs record what they did
    with pytest.raises(UsageError, match="'only_label' must be a label id >= 0, got -1"):
        build_config(only_label=-1)
    with pytest.raises(UsageError, match="bad value 'two' for 'only_label'"):
        build_config(only_label="two")


def test_a_new_study_is_a_key_of_config_files_and_sweep_specs(only_label, tmp_path):
    from gluebench.sweep.spec import read_spec

    recipe = tmp_path / "recipe.toml"
    recipe.write_text("only-label = 0\nepochs = 1\n")
    assert build_config(recipe).study(OnlyLabelSettings).only_label == 0
    spec = tmp_path / "sweep.toml"
    spec.write_text('tasks = ["RTE"]\n[grid]\nonly_label = [0, 1]\n')
    assert read_spec(spec).grid == {"only_label": [0, 1]}


@pytest.mark.slow
def test_a_new_study_changes_training_through_its_hooks(only_label, tiny_model, tmp_path,
                                                         run_cli):
    # Its flag, its data transform (the loop trains on label-1 rows only, each of them), its
    # model transform (the saved model is the changed one) and its loss term (every micro-batch).
    out = tmp_path / "run"
    code, _, err = run_cli("finetune", "--data-dir", "sample", "--tasks", "RTE",
                           "--model", tiny_model, "--only-label", "1", "--epochs", "1",
                           "--batch-size", "8", "--max-seq-length", "32",
                           "--max-train-examples", "40", "--max-eval-examples", "16",
                           "--splits", "dev", "--no-progress", "--resamples", "20", "-o", out)
    assert code == 0, err
    kept = int(np.sum(_rte_train(40).labels == 1))
    assert 0 < kept < 40
    assert [g for s in SEEN for g in s["gold"]] == [1] * kept
    assert sorted(r for s in SEEN for r in s["rows"]) == list(range(kept))
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["only_label"] == 1
    assert results["training"]["RTE"]["train"]["examples"] == kept
    saved = json.loads((out / "checkpoints" / "RTE" / "seed-1" / "config.json").read_text())
    assert saved["changed_by"] == "only-label"


# ---- composition ------------------------------------------------------------------------

class Take(TrainingHooks):
    def __init__(self, n):
        self.n = n

    def transform_data(self, examples, unit):
        return examples.take(np.arange(min(self.n, len(examples))))

    def transform_model(self, model, unit):
        return [*model, f"take{self.n}"]


class Label(TrainingHooks):
    def __init__(self, label):
        self.label = label

    def transform_data(self, examples, unit):
        return examples.take(np.flatnonzero(examples.labels == self.label))

    def transform_model(self, model, unit):
        return [*model, f"label{self.label}"]


def test_transforms_compose_in_order_each_seeing_the_previous_result():
    examples = _rte_train(40)
    first_then_label = ComposedHooks([Take(10), Label(1)]).transform_data(examples, UNIT)
    label_then_first = ComposedHooks([Label(1), Take(10)]).transform_data(examples, UNIT)
    head = examples.index[:10]
    assert first_then_label.index.tolist() == head[examples.labels[:10] == 1].tolist()
    assert label_then_first.index.tolist() == examples.index[examples.labels == 1][:10].tolist()
    assert first_then_label.index.tolist() != label_then_first.index.tolist()
    assert ComposedHooks([Take(10), Label(1)]).transform_model([], UNIT) == ["take10", "label1"]
    assert ComposedHooks().transform_data(examples, UNIT) is examples   # nothing: unchanged


class Times(Recorder):
    def __init__(self, k):
        self.k = k

    def __call__(self, loss, step):
        return loss * self.k


class Plus(Recorder):
    def __init__(self, c, hidden=False):
        self.c, self.needs_hidden = c, hidden
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def parameters(self):
        return [self.weight]

    def __call__(self, loss, step):
        return loss + self.c


def test_loss_terms_chain_in_order_each_receiving_the_previous_loss():
    loss, step = torch.tensor(3.0), None
    assert float(ChainedLoss([Times(2), Plus(1)])(loss, step)) == 7.0    # 2 * 3 + 1
    assert float(ChainedLoss([Plus(1), Times(2)])(loss, step)) == 8.0    # (3 + 1) * 2
    plus = Plus(1, hidden=True)
    chained = ChainedLoss([Times(2), plus])
    assert chained.needs_hidden and chained.parameters() == [plus.weight]


class TermHooks(TrainingHooks):
    def __init__(self, term):
        self.term = term

    def loss_term(self, examples, model, unit):
        return self.term


def test_composed_hooks_chain_their_loss_terms():
    hooks = ComposedHooks([TermHooks(Times(2)), TrainingHooks(), TermHooks(Plus(1))])
    term = hooks.loss_term(None, None, UNIT)
    assert float(term(torch.tensor(3.0), None)) == 7.0
    assert ComposedHooks([TrainingHooks()]).loss_term(None, None, UNIT) is None


ORDER: list[str] = []


class Marks(TrainingHooks):
    def __init__(self, name):
        self.name = name

    def transform_data(self, examples, unit):
        ORDER.append(self.name)
        return examples


@dataclass(frozen=True)
class FirstSettings:
    name: ClassVar[str] = "first"
    record_defaults: ClassVar[bool] = False
    knob_one: bool = False

    def check(self) -> None:
        pass

    def hooks(self) -> TrainingHooks:
        return Marks(self.name)


@dataclass(frozen=True)
class SecondSettings:
    name: ClassVar[str] = "second"
    record_defaults: ClassVar[bool] = False
    knob_two: bool = False

    def check(self) -> None:
        pass

    def hooks(self) -> TrainingHooks:
        return Marks(self.name)


def test_studies_compose_in_registration_order_not_the_order_given():
    register_study(FirstSettings)
    register_study(SecondSettings)
    try:
        ORDER.clear()
        config = build_config(knob_two=True, knob_one=True)
        config.hooks().transform_data(_rte_train(4), UNIT)
        assert ORDER == ["first", "second"]
        assert list(config.to_dict())[-2:] == ["knob_one", "knob_two"]
    finally:
        unregister_study(SecondSettings)
        unregister_study(FirstSettings)


def test_a_study_setting_cannot_take_another_studys_name():
    @dataclass(frozen=True)
    class Clash:
        name: ClassVar[str] = "clash"
        kd_alpha: float = 0.5

    with pytest.raises(ValueError, match="'kd_alpha' is already study 'distill'"):
        register_study(Clash)


# ---- the loss term reaches the gradient -------------------------------------------------

class LogitBonus(Recorder):
    """Adds ``w`` x the mean of logit 0: d/d(bias_0) of the batch loss grows by exactly w."""

    def __init__(self, w):
        self.w = w

    def __call__(self, loss, step):
        return loss + self.w * step.logits[:, 0].mean()


def test_a_loss_terms_value_reaches_the_gradient(tiny_model):
    from gluebench.models import hf

    ref = hf.resolve_model(str(tiny_model))
    examples = _rte_train(6)
    data = features.encode(hf.load_tokenizer(ref), examples, 32)
    targets = torch.from_numpy(examples.labels.astype(np.int64))
    engine = loop.Engine("cpu", False, False)
    torch.manual_seed(0)
    model, _ = hf.load_classifier(ref, 2)
    model.eval()   # no dropout: the two backward passes see the same forward
    grads = []
    for term in (None, LogitBonus(0.75)):
        model.zero_grad()
        # 6 rows in micro-batches of 4 and 2: each part's loss is weighed by its share
        loop._step(model, data, np.arange(6), targets, False, 4, None, engine, term)
        grads.append(model.classifier.bias.grad.clone())
    np.testing.assert_allclose((grads[1] - grads[0]).numpy(), [0.75, 0.0], atol=1e-6)


# ---- the three studies' hooks ----------------------------------------------------------

def test_plain_runs_record_the_same_settings_in_the_same_order():
    assert build_config().studies == ()
    keys = list(build_config().to_dict())
    assert keys[keys.index("save_checkpoints"):] == [
        "save_checkpoints", "drop_layers", "keep_fraction", "diet_score", "diet_scores_file",
        "teacher_logits", "kd_temperature", "kd_alpha", "hidden_loss"]
    assert build_config(kd_alpha=0.5, drop_layers=None).studies == ()   # defaults: no study


def test_layer_dropping_is_a_model_transform(tiny_model):
    from gluebench.models import hf

    ref = hf.resolve_model(str(tiny_model))
    config = build_config(drop_layers="0")
    assert config.study(LayerDropSettings).drop_layers == (0,)
    original, _ = hf.load_classifier(ref, 2)
    kept = original.bert.encoder.layer[1].attention.self.query.weight.detach().clone()
    model = config.hooks().transform_model(original, UNIT)
    assert model.config.num_hidden_layers == 1 and len(model.bert.encoder.layer) == 1
    assert torch.equal(model.bert.encoder.layer[0].attention.self.query.weight, kept)
    assert build_config().hooks().transform_model(original, UNIT) is original


def test_a_data_diet_is_a_data_transform():
    examples = _rte_train(40)
    config = build_config(keep_fraction=0.25, diet_score="random")
    assert config.study(DataDietSettings).keep_fraction == 0.25
    kept = config.hooks().transform_data(examples, Unit("RTE", 3, 0, False))
    assert len(kept) == 10 and set(kept.index) <= set(examples.index)
    assert kept.index.tolist() == diet_subset(examples, config, seed=3).index.tolist()
    other_seed = config.hooks().transform_data(examples, Unit("RTE", 4, 0, False))
    assert other_seed.index.tolist() != kept.index.tolist()


def _teacher_file(tmp_path, examples, logits):
    path = tmp_path / "teacher.npz"
    np.savez(path, index=examples.index, logits=logits, pooling="mean",
             layer_map=np.zeros((0, 2), np.int64))
    return str(path)


def test_distillation_is_a_loss_term_mixing_the_task_loss_with_soft_targets(tmp_path):
    examples = _rte_train(8)
    rng = np.random.default_rng(0)
    teacher = rng.normal(size=(8, 2)).astype(np.float32)
    student = rng.normal(size=(3, 2)).astype(np.float32)
    rows, T, alpha = np.array([5, 0, 2]), 3.0, 0.3
    config = build_config(teacher_logits=_teacher_file(tmp_path, examples, teacher),
                          kd_temperature=T, kd_alpha=alpha)
    assert config.study(DistillSettings).kd_alpha == alpha
    term = config.hooks().loss_term(examples, _WidthOnly(32), UNIT)
    gold = torch.from_numpy(examples.labels[rows].astype(np.int64))
    logits = torch.from_numpy(student)
    task = F.cross_entropy(logits, gold)
    got = float(term(task, Step(logits, gold, torch.from_numpy(rows), None, None, False)))
    # scipy: CE to gold, and KL(teacher_T || student_T) averaged over the batch
    ce = -np.mean(log_softmax(student, axis=1)[np.arange(3), examples.labels[rows]])
    kl = np.sum(rel_entr(softmax(teacher[rows] / T, axis=1), softmax(student / T, axis=1))) / 3
    assert got == pytest.approx(alpha * ce + (1 - alpha) * T**2 * kl, rel=1e-5)
    assert isinstance(term, Distillation) and not term.needs_hidden


class _WidthOnly:
    """A stand-in model with a config of the student's width (what the loss term reads)."""

    def __init__(self, width):
        self.config = type("Config", (), {"hidden_size": width})()
