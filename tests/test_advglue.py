"""AdvGLUE: the real dev file, and the official evaluate.py rules re-derived with sklearn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from gluebench.benchmark.scoring import score_entry
from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.errors import DataError
from gluebench.robustness.advglue import ADV_TASKS, advglue_score, load_advglue

from .conftest import real_data_missing

SIZES = {"sst2": 148, "qqp": 78, "mnli": 121, "mnli-mm": 162, "qnli": 148, "rte": 81}


@pytest.fixture(scope="module")
def dev_json(glue_dir) -> Path:
    path = glue_dir.parent / "advglue" / "dev.json"
    if not path.is_file():
        real_data_missing("advglue/dev.json not found beside the GLUE data")
    return path


def test_real_dev_set_loads_with_its_originals(dev_json):
    data = load_advglue(dev_json)
    raw = json.loads(dev_json.read_text())
    ann = json.loads(dev_json.with_name("dev_ann.json").read_text())
    assert {k: len(v[0]) for k, v in data.items()} == SIZES
    for key, (adversarial, originals) in data.items():
        assert adversarial.labels.tolist() == [item["label"] for item in raw[key]]
        field = adversarial.task.input_fields[0]
        assert adversarial.inputs[field][0] == raw[key][0][field]
        with_original = [i for i, item in enumerate(ann[key])
                         if any(k.startswith("original_") for k in item)]
        assert len(originals) == len(with_original)
        first = ann[key][with_original[0]]
        changed = next(k for k in first if k.startswith("original_"))
        assert originals.inputs[changed.removeprefix("original_")][0] == first[changed]


def _official(raw: dict, preds: dict) -> float:
    """evaluate.py's rule, written out with scikit-learn."""
    scores = {}
    for key, items in raw.items():
        gold = [item["label"] for item in items]
        values = [accuracy_score(gold, preds[key])]
        if key == "qqp":
            values.append(f1_score(gold, preds[key]))
        scores[key] = np.mean(values)
    scores["mnli"] = (scores["mnli"] + scores.pop("mnli-mm")) / 2
    return 100 * np.mean(list(scores.values()))


def test_scores_follow_the_official_evaluation_script(dev_json):
    raw = json.loads(dev_json.read_text())
    data = load_advglue(dev_json)
    rng = np.random.default_rng(0)
    preds, ours = {}, {}
    for key, (adversarial, _) in data.items():
        k = len(adversarial.task.labels)
        preds[key] = rng.integers(0, k, len(adversarial))
        entry = ADV_TASKS[key][1]
        ours[key] = score_entry(BENCHMARKS[entry], adversarial, preds[key],
                                n_resamples=10)["score"]
    assert advglue_score(ours) == pytest.approx(_official(raw, preds))


def test_partial_score_averages_what_is_there():
    assert advglue_score({"sst2": 40.0, "rte": 60.0}) == 50.0
    assert advglue_score({"mnli": 30.0, "mnli-mm": 50.0, "rte": 60.0}) == 50.0
    assert advglue_score({}) is None


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"sst3": []}', "expected an object with keys"),
    ('{"sst2": [{"idx": 0, "label": 7, "sentence": "x"}]}', "sst2 item 0: label 7"),
    ('{"rte": [{"idx": 0, "label": 0, "sentence1": "x"}]}', "rte item 0: expected idx"),
])
def test_bad_files_say_where(tmp_path, content, message):
    path = tmp_path / "adv.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        load_advglue(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="AdvGLUE file not found"):
        load_advglue(tmp_path / "dev.json")
