"""How a study changes fine-tuning: a data transform, a model transform, a loss term.

In the spirit of transformers' ``TrainerCallback`` and ``Trainer.compute_loss``: the training
loop knows no study. A study is a small settings dataclass (its knobs; registered with
``register_study``) whose ``hooks()`` returns a ``TrainingHooks``; the runner calls its three
hooks once per training unit (one task x seed):

1. ``transform_data(examples, unit)``: the training examples before they are encoded and
   batched: the loop trains on exactly what it returns (data diets keep a share);
2. ``transform_model(model, unit)``: the pre-trained model after loading, before the method
   (LoRA, BitFit, ...) chooses what is trained (layer dropping removes layers);
3. ``loss_term(examples, model, unit)``: a ``LossTerm`` that maps each micro-batch's task loss
   (cross-entropy, or MSE for regression) to the loss that is back-propagated (distillation
   mixes in a teacher's soft targets and adds a hidden-state loss).

Several studies compose in their registration order (``studies()``), whatever order their
settings were given in: each data transform receives the previous one's examples, each model
transform the previous one's model, and each loss term the previous one's loss.

A study's knobs are flat settings like ``TrainConfig``'s own (``--drop-layers``, a sweep
spec's ``keep_fraction``): ``train.config`` reads them into the study's dataclass, checks
them with its ``check()`` and records them in the run's config after ``TrainConfig``'s fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from gluebench.benchmark.examples import Examples


@dataclass(frozen=True)
class Unit:
    """What a hook may need to know about the training unit it changes."""

    task: str
    seed: int          # the training seed of this unit
    data_seed: int     # the config's seed of data subsamples
    regression: bool   # one output (STS-B) rather than class logits
    run_dir: str = ""  # the run directory (trackers write under it)


@dataclass
class Step:
    """One micro-batch as a loss term sees it."""

    logits: Any        # (micro, num_labels) float32, with gradient
    gold: Any          # (micro,) class ids, or float scores (regression)
    rows: Any          # (micro,) positions of the examples in the (transformed) training set
    outputs: Any       # the model's outputs (``hidden_states`` when a term ``needs_hidden``)
    mask: Any          # (micro, seq) attention mask
    regression: bool


class LossTerm(Protocol):
    """Turns the task loss of a micro-batch into the loss to back-propagate."""

    needs_hidden: bool    # ask the model for every layer's hidden states

    def parameters(self) -> list:
        """Trainable parameters of its own (the optimizer trains them with the model's)."""

    def to(self, device: str) -> LossTerm:
        """Move its parameters and targets to ``device``; returns itself."""

    def __call__(self, loss, step: Step):
        """The loss to back-propagate: ``loss`` (a scalar tensor) mixed with or added to."""


class TrainingHooks:
    """One study's hooks into a training unit; override what the study changes.

    Each default changes nothing, so a study that only transforms the data overrides
    ``transform_data`` alone.
    """

    def transform_data(self, examples: Examples, unit: Unit) -> Examples:
        return examples

    def transform_model(self, model, unit: Unit):
        return model

    def loss_term(self, examples: Examples, model, unit: Unit) -> LossTerm | None:
        """The loss term over ``examples`` (after every data transform) and ``model``."""
        return None

    # Observers (``train.reporting``): they see training, and change nothing.
    def start_unit(self, unit: Unit, config: dict) -> None:
        """Before training, with the run's resolved flat config."""

    def log_step(self, unit: Unit, step: int, logs: dict[str, float]) -> None:
        """After each optimizer step: ``loss``, ``learning_rate``, ``epoch``."""

    def end_unit(self, unit: Unit, record: dict) -> None:
        """After the unit's dev predictions are scored (``record["entries"]``)."""

    def end_run(self, run_dir, config: dict, results: dict) -> None:
        """After ``results.json`` is written."""


class ComposedHooks(TrainingHooks):
    """Several studies' hooks applied in order: each sees what the previous one made."""

    def __init__(self, hooks: Iterable[TrainingHooks] = ()):
        self.hooks = tuple(hooks)

    def transform_data(self, examples: Examples, unit: Unit) -> Examples:
        for hook in self.hooks:
            examples = hook.transform_data(examples, unit)
        return examples

    def transform_model(self, model, unit: Unit):
        for hook in self.hooks:
            model = hook.transform_model(model, unit)
        return model

    def loss_term(self, examples: Examples, model, unit: Unit) -> LossTerm | None:
        terms = [term for hook in self.hooks
                 if (term := hook.loss_term(examples, model, unit)) is not None]
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else ChainedLoss(terms)

    def start_unit(self, unit: Unit, config: dict) -> None:
        for hook in self.hooks:
            hook.start_unit(unit, config)

    def log_step(self, unit: Unit, step: int, logs: dict[str, float]) -> None:
        for hook in self.hooks:
            hook.log_step(unit, step, logs)

    def end_unit(self, unit: Unit, record: dict) -> None:
        for hook in self.hooks:
            hook.end_unit(unit, record)

    def end_run(self, run_dir, config: dict, results: dict) -> None:
        for hook in self.hooks:
            hook.end_run(run_dir, config, results)


class ChainedLoss:
    """Loss terms applied in order: each receives the loss the previous one returned."""

    def __init__(self, terms: Sequence[LossTerm]):
        self.terms = tuple(terms)
        self.needs_hidden = any(term.needs_hidden for term in self.terms)

    def parameters(self) -> list:
        return [p for term in self.terms for p in term.parameters()]

    def to(self, device: str) -> ChainedLoss:
        for term in self.terms:
            term.to(device)
        return self

    def __call__(self, loss, step: Step):
        for term in self.terms:
            loss = term(loss, step)
        return loss


class StudySettings(Protocol):
    """A study's knobs: a frozen dataclass whose fields are flat settings of a run.

    Field types follow ``TrainConfig``'s rules (``train.config.coerce``), and each field's
    ``metadata["help"]`` becomes its flag's help. ``record_defaults``: record the fields in
    every run's config even when the study is not used (the studies that were once
    ``TrainConfig`` fields do, so runs record what they always recorded); otherwise only a
    run that sets one records them.
    """

    name: ClassVar[str]
    record_defaults: ClassVar[bool]

    def check(self) -> None:
        """Raise ``UsageError`` when the values do not go together."""

    def hooks(self) -> TrainingHooks | None:
        """The hooks of these settings, or None when they change nothing."""


_STUDIES: list[type] = []


def register_study(settings: type) -> type:
    """Make a study's settings known to configs, flags and sweep specs; returns it.

    Its fields must not share a name with another study's (``TrainConfig``'s own fields
    are checked by ``train.config``).
    """
    if not dataclasses.is_dataclass(settings) or not isinstance(settings, type):
        raise TypeError(f"{settings!r}: a study's settings must be a dataclass")
    if settings in _STUDIES:
        return settings
    names = {f.name for f in dataclasses.fields(settings)}
    for other in _STUDIES:
        clash = names & {f.name for f in dataclasses.fields(other)}
        if clash:
            raise ValueError(f"study {settings.name!r}: setting {sorted(clash)[0]!r} is "
                             f"already study {other.name!r}'s")
    _STUDIES.append(settings)
    return settings


def unregister_study(settings: type) -> None:
    """Forget a registered study (for tests that define one)."""
    if settings in _STUDIES:
        _STUDIES.remove(settings)


def studies() -> tuple[type, ...]:
    """The registered studies' settings classes, in the order their hooks compose."""
    return tuple(_STUDIES)
