"""``gluebench robustness`` end to end on a tiny fine-tuned run (CPU, seconds)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from gluebench.benchmark.scoring import evaluation_examples
from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.errors import UsageError
from gluebench.robustness import suite
from gluebench.robustness import transformations as tf
from gluebench.run_models import RunModels

FEW = "typo_swap,lowercase,drop_nouns"


@pytest.fixture(scope="module")
def adv_json(tmp_path_factory):
    """A small AdvGLUE file in the official format (the real one is tested in test_advglue)."""
    path = tmp_path_factory.mktemp("adv") / "dev.json"
    path.write_text(json.dumps({
        "sst2": [{"idx": i, "label": i % 2, "sentence": s} for i, s in enumerate(
            ["a gorgeous , witty film", "it 's a dull , lifeless mess", "slow and tedious",
             "one of the year 's best"])],
        "rte": [{"idx": 0, "label": 0, "sentence1": "Cats sleep a lot .",
                 "sentence2": "Cats sleep .", "original_sentence1": "Cats nap a lot ."},
                {"idx": 1, "label": 1, "sentence1": "He left .", "sentence2": "He stayed ."}],
    }))
    return path


@pytest.fixture(scope="module")
def doc(tiny_run, adv_json, tmp_path_factory):
    work = tmp_path_factory.mktemp("rob") / "run"
    shutil.copytree(tiny_run, work)
    extra = work / "ood.tsv"
    gold = open_source("sample").load(BENCHMARKS["SST-2"] and _task("SST-2"), "dev")
    extra.write_text("sentence\tlabel\n" + "".join(
        f"{s.upper()}\t{y}\n" for s, y in zip(gold.inputs["sentence"][:40], gold.labels[:40],
                                                strict=True)))
    out = suite.run_robustness(work, open_source("sample"), tasks_spec="SST-2,RTE",
                               perturbations=FEW, advglue=str(adv_json),
                               extras=[f"upper={extra}"], max_examples=60, seed=3,
                               n_resamples=200, device="cpu")
    return work, out


def _task(name):
    from gluebench.benchmark.tasks import get_task

    return get_task(name)


@pytest.mark.slow
def test_document_has_every_section(doc):
    work, out = doc
    on_disk = json.loads((work / "analysis" / "robustness.json").read_text())
    assert on_disk == json.loads(json.dumps(out))
    assert out["schema_version"] == 1 and out["kind"] == "robustness"
    assert set(out["perturbations"]) == {"SST-2", "RTE"}
    assert set(out["perturbations"]["SST-2"]["results"]) == set(FEW.split(","))
    assert out["transformations"]["typo_swap"]["label_preserving"] is True
    assert out["transformations"]["drop_nouns"]["label_preserving"] is False
    assert set(out["advglue"]["entries"]) == {"SST-2", "RTE"}
    assert out["advglue"]["missing"]     # no QQP, MNLI, QNLI models in this run
    assert out["ood"]["upper"]["task"] == "SST-2" and out["ood"]["upper"]["n"] == 40
    preds = json.loads((work / "analysis" / "advglue_predictions.json").read_text())
    assert len(preds["sst2"]) == 4 and len(preds["rte"]) == 2


@pytest.mark.slow
def test_cells_agree_with_predictions_made_independently(doc):
    work, out = doc
    models = RunModels(work, device="cpu")
    predictor = models.predictor("SST-2")
    clean = evaluation_examples(open_source("sample"), BENCHMARKS["SST-2"], "dev").subsample(60, 3)
    base = predictor.predict(clean).values
    changed = suite.perturbed(clean, "typo_swap", 3)
    assert changed.inputs["sentence"] == tf.perturb("typo_swap", clean.inputs["sentence"], seed=3)
    values = predictor.predict(changed).values
    cell = out["perturbations"]["SST-2"]["results"]["typo_swap"]
    assert cell["flip_rate"] == pytest.approx(np.mean(values != base))
    acc = lambda v: 100 * np.mean(v == clean.labels)  # noqa: E731
    assert cell["score"] == pytest.approx(acc(values))
    assert cell["delta"] == pytest.approx(acc(values) - acc(base))
    assert cell["ci"][0] <= cell["delta"] <= cell["ci"][1]
    assert out["perturbations"]["SST-2"]["clean_score"] == pytest.approx(acc(base))


@pytest.mark.slow
def test_same_seed_same_document(doc, adv_json):
    work, out = doc
    again = suite.run_robustness(work, open_source("sample"), tasks_spec="SST-2,RTE",
                                 perturbations=FEW, advglue=str(adv_json), max_examples=60,
                                 seed=3, n_resamples=200, device="cpu")
    assert again["perturbations"] == out["perturbations"]
    assert again["advglue"] == out["advglue"]


def test_interrupted_run_resumes_finished_cells(tiny_run, tmp_path, monkeypatch):
    work = tmp_path / "run"
    shutil.copytree(tiny_run, work)
    calls, cut = [], [True]
    real = tf.perturb

    def failing(name, texts, *, seed):
        calls.append(name)
        if name == "lowercase" and cut:
            cut.pop()                     # only the first time: the rerun gets through
            raise RuntimeError("power cut")
        return real(name, texts, seed=seed)

    monkeypatch.setattr(tf, "perturb", failing)
    settings = dict(tasks_spec="SST-2", perturbations="typo_swap,lowercase", max_examples=30,
                    seed=0, n_resamples=50, device="cpu")
    with pytest.raises(RuntimeError, match="power cut"):
        suite.run_robustness(work, open_source("sample"), **settings)
    saved = json.loads((work / "analysis" / "robustness.json").read_text())
    assert list(saved["perturbations"]["SST-2"]["results"]) == ["typo_swap"]
    calls.clear()
    done = suite.run_robustness(work, open_source("sample"), **settings)
    assert calls == ["lowercase"]        # typo_swap was not recomputed
    assert list(done["perturbations"]["SST-2"]["results"]) == ["typo_swap", "lowercase"]
    assert "skipped" in done["advglue"]  # the sample has no AdvGLUE beside it


def test_a_bad_advglue_file_fails_before_any_work(tiny_run, tmp_path, run_cli):
    code, _, err = run_cli("robustness", tiny_run, "--data-dir", "sample", "--advglue",
                           tmp_path / "none.json")
    assert code == 2 and err.count("\n") == 1 and "AdvGLUE file not found" in err
    assert not (tiny_run / "analysis" / "robustness.json").exists()


def test_bad_input_is_one_line(tiny_run, tmp_path, run_cli, monkeypatch):
    code, _, err = run_cli("robustness", tiny_run, "--data-dir", "sample", "--perturbations",
                           "typo_swp")
    assert code == 2 and err.count("\n") == 1 and "Did you mean 'typo_swap'?" in err
    code, _, err = run_cli("robustness", tiny_run, "--data-dir", "sample", "--tasks", "CoLA")
    assert code == 2 and err.count("\n") == 1 and "no fine-tuned CoLA model" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli("robustness", empty, "--data-dir", "sample")
    assert code == 2 and "not a gluebench run directory" in err
    code, _, err = run_cli("robustness", tiny_run, "--data-dir", "sample", "--extra",
                           "x=/nope.tsv")
    assert code == 2 and err.count("\n") == 1


def test_missing_spacy_model_is_one_line(tiny_run, run_cli, monkeypatch):
    monkeypatch.setenv("GLUEBENCH_SPACY_MODEL", "no_such_spacy_model")
    monkeypatch.setattr(tf, "_NLP", None, raising=False)
    if hasattr(tf, "_load_spacy") and hasattr(tf._load_spacy, "cache_clear"):
        tf._load_spacy.cache_clear()
    code, _, err = run_cli("robustness", tiny_run, "--data-dir", "sample", "--perturbations",
                           "drop_nouns")
    assert code == 2 and err.count("\n") == 1 and "spaCy" in err


def test_wordnet_absence_is_reported_not_fatal():
    reason = tf.available("synonym_wordnet")
    if reason is None:
        pytest.skip("WordNet data is installed here")
    ready, skipped = suite.chosen_transformations("all")
    assert "synonym_wordnet" in skipped and len(ready) >= 10
    with pytest.raises(UsageError, match="synonym_wordnet"):
        suite.chosen_transformations("synonym_wordnet")


def test_a_run_whose_checkpoints_are_gone_is_one_line(tiny_run, tmp_path, run_cli):
    work = tmp_path / "run"
    shutil.copytree(tiny_run, work)
    shutil.rmtree(work / "checkpoints")
    # The recorded checkpoint path names the original run's model, which still exists: a
    # copied run whose own checkpoints are gone must not silently use it.
    assert (tiny_run / "checkpoints" / "SST-2").is_dir()
    code, _, err = run_cli("robustness", work, "--data-dir", "sample", "--tasks", "SST-2",
                           "--perturbations", "lowercase")
    assert code == 2 and err.count("\n") == 1 and "fine-tuned SST-2 model of this run is gone" \
        in err


def test_a_copied_run_uses_its_own_checkpoints(tiny_run, tmp_path):
    work = tmp_path / "copy"
    shutil.copytree(tiny_run, work)
    predictor = RunModels(work, device="cpu").predictor("RTE")
    assert predictor.checkpoint.startswith(str(work))
