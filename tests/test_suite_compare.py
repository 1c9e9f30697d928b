"""``compare --suite superglue A B`` on the real SuperGLUE val files (``real_data``): a
system against itself differs by 0 with p = 1; the gold labels against a random system
are significant after Holm; differences equal scikit-learn's; each entry resamples its
unit (MultiRC paragraphs, AX-g pairs); a bad file is one error line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from gluebench import SCHEMA_VERSION
from gluebench.cli import main
from tests.conftest import SUPERGLUE_VAL_FILES, SUPERGLUE_VAL_TASKS, superglue_val_copy

REPO = Path(__file__).resolve().parents[1]
TASKS, FILES = SUPERGLUE_VAL_TASKS, SUPERGLUE_VAL_FILES


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return superglue_val_copy(tmp_path_factory)[1]


@pytest.fixture(scope="module")
def systems(data, tmp_path_factory) -> dict[str, Path]:
    """gold: the gold files themselves (they hold idx and label, MultiRC nested);
    random: labels drawn uniformly, written by hand in the official layout."""
    root = tmp_path_factory.mktemp("systems")
    rng = np.random.default_rng(7)
    gold, rand = root / "gold", root / "random"
    gold.mkdir()
    rand.mkdir()
    for task in TASKS:
        src = data / "superglue" / FILES.get(task, f"{task}/val.jsonl")
        shutil.copyfile(src, gold / f"{task}.jsonl")
        rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines()]
        for r in rows:
            if task == "MultiRC":
                for q in r["passage"]["questions"]:
                    for a in q["answers"]:
                        a["label"] = int(rng.integers(0, 2))
            elif isinstance(r["label"], bool) or task == "COPA":
                r["label"] = int(rng.integers(0, 2)) if task == "COPA" else bool(
                    rng.integers(0, 2))
            else:
                vocab = (["entailment", "contradiction", "neutral"] if task == "CB"
                         else ["entailment", "not_entailment"])
                r["label"] = vocab[int(rng.integers(0, len(vocab)))]
        (rand / f"{task}.jsonl").write_text(
            "".join(json.dumps({"idx": r["idx"], "label": r["label"]} if task != "MultiRC"
                               else r) + "\n" for r in rows), encoding="utf-8")
    return {"gold": gold, "random": rand}


def compare(capsys, tmp_path, data, a, b, *extra) -> dict:
    out = tmp_path / "cmp.json"
    code, _, err = run(capsys, "compare", "--suite", "superglue", a, b, "--data-dir", data,
                       "--json", out, *extra)
    assert code == 0, err
    return json.loads(out.read_text())


@pytest.mark.real_data
def test_a_system_against_itself_differs_by_zero_with_p_one(capsys, tmp_path, data, systems):
    result = compare(capsys, tmp_path, data, systems["random"], systems["random"],
                     "--resamples", 200)
    assert result["schema_version"] == SCHEMA_VERSION
    assert result["suite"]["name"] == "superglue" and list(result["tasks"]) == list(TASKS)
    for name, t in result["tasks"].items():
        for key, r in t.items():
            if isinstance(r, dict):
                assert r["diff"] == 0.0 and r["p_value"] == 1.0, (name, key)
                assert r["ci"] == [0.0, 0.0], (name, key)
        assert t["score"]["p_holm"] == 1.0


def _labels(path: Path, task: str) -> list:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    if task == "MultiRC":
        return [a["label"] for r in rows for q in r["passage"]["questions"] for a in q["answers"]]
    return [str(r["label"]).lower() for r in sorted(rows, key=lambda r: int(r["idx"]))]


@pytest.mark.real_data
def test_gold_beats_random_significantly_and_differences_match_scikit_learn(
        capsys, tmp_path, data, systems):
    result = compare(capsys, tmp_path, data, systems["gold"], systems["random"],
                     "--resamples", 500)
    tasks = result["tasks"]
    for task in ("BoolQ", "MultiRC", "WiC", "RTE"):
        assert tasks[task]["score"]["p_holm"] < 0.05, task
        assert tasks[task]["score"]["ci"][0] > 0, task
    for task in ("BoolQ", "COPA", "RTE", "WiC", "WSC"):
        y, p = _labels(systems["gold"] / f"{task}.jsonl", task), _labels(
            systems["random"] / f"{task}.jsonl", task)
        assert tasks[task]["accuracy"]["diff"] == pytest.approx(
            1.0 - accuracy_score(y, p), abs=1e-12), task
    y = _labels(systems["gold"] / "MultiRC.jsonl", "MultiRC")
    p = _labels(systems["random"] / "MultiRC.jsonl", "MultiRC")
    assert tasks["MultiRC"]["f1a"]["diff"] == pytest.approx(1.0 - f1_score(y, p), abs=1e-12)
    assert (tasks["MultiRC"]["resample"], tasks["MultiRC"]["n_units"]) == ("paragraph", 83)
    assert (tasks["AX-g"]["resample"], tasks["AX-g"]["n_units"]) == ("pair", 178)
    # Holm: adjusted p-values are never below the raw ones and keep their order
    raw = [t["score"]["p_value"] for t in tasks.values()]
    adj = [t["score"]["p_holm"] for t in tasks.values()]
    assert all(h >= r for h, r in zip(adj, raw, strict=True))
    assert min(adj) == pytest.approx(min(raw) * len(raw))


@pytest.mark.real_data
def test_bad_prediction_file_is_one_error_line_and_no_json(capsys, tmp_path, data, systems):
    bad = tmp_path / "bad"
    shutil.copytree(systems["random"], bad)
    lines = (bad / "CB.jsonl").read_text(encoding="utf-8").splitlines()
    lines[2] = json.dumps({"idx": 99999, "label": "neutral"})
    (bad / "CB.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "cmp.json"
    code, _, err = run(capsys, "compare", "--suite", "superglue", systems["gold"], bad,
                       "--data-dir", data, "--json", out)
    assert code == 2
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert "CB.jsonl" in err and "line 3" in err and "99999" in err
    assert not out.exists()


def test_record_compare_resamples_queries_and_is_hand_worked(capsys, tmp_path):
    """The official-layout ReCoRD fixture: 3 queries. A answers all three exactly; B gets
    "The Eiffel Tower" (EM after normalisation), "Paris" (wrong) and "Messi" (a gold
    alias): A - B = EM 1/3, F1 1/3; every resample is a draw of whole queries."""
    data = tmp_path / "data"
    (data / "superglue/ReCoRD").mkdir(parents=True)
    shutil.copyfile(REPO / "tests/fixtures/superglue/ReCoRD/val.jsonl",
                    data / "superglue/ReCoRD/val.jsonl")
    for name, labels in (("a", ["Eiffel Tower", "France", "Lionel Messi"]),
                         ("b", ["The Eiffel Tower", "Paris", "Messi"])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ReCoRD.jsonl").write_text(
            "".join(json.dumps({"idx": i, "label": t}) + "\n" for i, t in enumerate(labels)),
            encoding="utf-8")
    result = compare(capsys, tmp_path, data, tmp_path / "a", tmp_path / "b",
                     "--resamples", 300)
    record = result["tasks"]["ReCoRD"]
    assert (record["resample"], record["n_units"], record["n"]) == ("query", 3, 3)
    assert record["record_em"]["diff"] == pytest.approx(1 / 3, abs=1e-12)
    assert record["record_f1"]["diff"] == pytest.approx(1 / 3, abs=1e-12)
    assert record["score"]["diff"] == pytest.approx(100 / 3, abs=1e-9)
    # resampling 3 queries: the difference is k/3 for k = 0..3 drawn wrong answers
    assert record["record_em"]["ci"][0] >= 0.0 and record["record_em"]["ci"][1] <= 1.0
    # only one query differs: swapping it flips the sign half the time, so p is about 1
    assert record["score"]["p_value"] > 0.5


def test_compare_suite_needs_a_data_dir(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("GLUE_DIR", raising=False)
    code, _, err = run(capsys, "compare", "--suite", "superglue", tmp_path, tmp_path)
    assert code == 2 and err.startswith("error:") and "--data-dir" in err
    assert len(err.strip().splitlines()) == 1
