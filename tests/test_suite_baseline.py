"""``baseline majority|constant|random --suite superglue``: prediction files in the official
submission format that ``score --suite superglue`` reads unchanged, scored against
scikit-learn and hand counts on the real SuperGLUE val files (``real_data``), with the
majority class taken from FewGLUE's training files (``--train-suite fewglue``)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from gluebench.cli import main
from tests.conftest import SUPERGLUE_VAL_FILES, SUPERGLUE_VAL_TASKS, superglue_val_copy

REPO = Path(__file__).resolve().parents[1]
TASKS, FILES = SUPERGLUE_VAL_TASKS, SUPERGLUE_VAL_FILES
MODEL = {"AX-b": "RTE", "AX-g": "RTE"}
VOCAB = {"BoolQ": ["false", "true"], "WiC": ["false", "true"], "WSC": ["false", "true"],
         "COPA": ["0", "1"], "MultiRC": ["0", "1"],
         "CB": ["entailment", "contradiction", "neutral"],
         "RTE": ["entailment", "not_entailment"], "AX-b": ["entailment", "not_entailment"],
         "AX-g": ["entailment", "not_entailment"]}


def token(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """The real SuperGLUE val/diagnostic files, FewGLUE's train files, the ReCoRD fixture."""
    real, root = superglue_val_copy(tmp_path_factory)
    for task in (*TASKS[:7], "ReCoRD"):
        (root / "fewglue" / task).mkdir(parents=True)
        shutil.copyfile(real / "fewglue" / task / "train.jsonl",
                        root / "fewglue" / task / "train.jsonl")
    (root / "superglue/ReCoRD").mkdir()
    shutil.copyfile(REPO / "tests/fixtures/superglue/ReCoRD/val.jsonl",
                    root / "superglue/ReCoRD/val.jsonl")
    return root


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def flat(task: str, rows: list[dict]) -> dict[int, str]:
    """{idx: label token} of a gold or prediction file (MultiRC: per answer option)."""
    if task == "MultiRC":
        return {a["idx"]: token(a["label"]) for r in rows for q in r["passage"]["questions"]
                for a in q["answers"]}
    return {int(r["idx"]): token(r["label"]) for r in rows}


def gold(data: Path, task: str) -> dict[int, str]:
    return flat(task, records(data / "superglue" / FILES.get(task, f"{task}/val.jsonl")))


def fewglue_majority(data: Path, task: str) -> str:
    """Hand count of FewGLUE's training labels; ties to the label listed first."""
    labels = flat(task, records(data / "fewglue" / task / "train.jsonl")).values()
    counts = Counter(labels)
    return max(VOCAB[task], key=lambda t: (counts[t], -VOCAB[task].index(t)))


def score(capsys, tmp_path: Path, data: Path, pred: Path) -> dict:
    out = tmp_path / f"{pred.name}.json"
    code, _, err = run(capsys, "score", "--suite", "superglue", "--data-dir", data,
                       "--predictions", pred, "--json", out, "--resamples", 10)
    assert code == 0, err
    return json.loads(out.read_text())


def sklearn_metrics(task: str, y: dict[int, str], p: dict[int, str]) -> dict[str, float]:
    ids = sorted(y)
    yt = [VOCAB[task].index(y[i]) for i in ids]
    yp = [VOCAB[task].index(p[i]) for i in ids]
    if task == "AX-b":
        return {"mcc": matthews_corrcoef(yt, yp)}
    out = {"accuracy": accuracy_score(yt, yp)}
    if task == "CB":
        out["f1_macro"] = f1_score(yt, yp, average="macro")
    if task == "MultiRC":
        out = {"f1a": f1_score(yt, yp, zero_division=0.0)}
    return out


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.parametrize("kind", ["majority", "random", "constant"])
def test_baseline_files_score_unchanged_and_match_scikit_learn(capsys, tmp_path, data, kind):
    pred = tmp_path / kind
    code, out, err = run(capsys, "baseline", kind, "--suite", "superglue", "--train-suite",
                         "fewglue", "--data-dir", data, "--split", "dev", "-o", pred,
                         "--seed", 3)
    assert code == 0, err
    assert sorted(p.name for p in pred.iterdir()) == sorted(
        f"{t}.jsonl" for t in (*TASKS, "ReCoRD"))
    results = score(capsys, tmp_path, data, pred)
    for task in TASKS:
        y, p = gold(data, task), flat(task, records(pred / f"{task}.jsonl"))
        assert sorted(p) == sorted(y), task               # one prediction per gold idx
        if kind == "majority":
            assert set(p.values()) == {fewglue_majority(data, MODEL.get(task, task))}, task
            assert f"fewglue {MODEL.get(task, task)} train" in out
        if kind == "constant":
            assert set(p.values()) == {VOCAB[task][0]}, task
        for metric, value in sklearn_metrics(task, y, p).items():
            assert results["tasks"][task][metric] == pytest.approx(value, abs=1e-12), (task,
                                                                                     metric)
    assert results["superglue_score"] is not None        # all 8 tasks, ReCoRD from the fixture


@pytest.mark.real_data
def test_multirc_file_nests_answers_per_paragraph_as_in_the_data_file(capsys, tmp_path, data):
    pred = tmp_path / "m"
    code, _, err = run(capsys, "baseline", "majority", "--suite", "superglue", "--data-dir",
                       data, "--split", "dev", "-o", pred, "--tasks", "MultiRC")
    assert code == 0, err
    shape = [(r["idx"], [(q["idx"], [a["idx"] for a in q["answers"]])
                         for q in r["passage"]["questions"]])
             for r in records(data / "superglue/MultiRC/val.jsonl")]
    written = [(r["idx"], [(q["idx"], [a["idx"] for a in q["answers"]])
                           for q in r["passage"]["questions"]])
               for r in records(pred / "MultiRC.jsonl")]
    assert written == shape


@pytest.mark.real_data
def test_majority_without_training_files_takes_val_labels_and_says_so(capsys, tmp_path, data):
    pred = tmp_path / "v"
    code, out, err = run(capsys, "baseline", "majority", "--suite", "superglue", "--data-dir",
                         data, "--split", "dev", "-o", pred, "--tasks", "CB,BoolQ")
    assert code == 0, err
    for task in ("CB", "BoolQ"):
        counts = Counter(gold(data, task).values())
        assert set(flat(task, records(pred / f"{task}.jsonl")).values()) == {
            counts.most_common(1)[0][0]}
        assert f"superglue {task} dev" in out


@pytest.mark.real_data
def test_record_baselines_predict_entity_text_from_the_passage(capsys, tmp_path, data):
    rows = records(data / "superglue/ReCoRD/val.jsonl")
    for kind in ("majority", "constant", "random"):
        pred = tmp_path / kind
        code, _, err = run(capsys, "baseline", kind, "--suite", "superglue", "--data-dir",
                           data, "--split", "dev", "-o", pred, "--tasks", "ReCoRD")
        assert code == 0, err
        written = {r["idx"]: r["label"] for r in records(pred / "ReCoRD.jsonl")}
        for r in rows:
            text = r["passage"]["text"]
            mentions = [text[e["start"]:e["end"] + 1] for e in r["passage"]["entities"]]
            for q in r["qas"]:
                if kind == "majority":
                    assert written[q["idx"]] == Counter(mentions).most_common(1)[0][0]
                elif kind == "constant":
                    assert written[q["idx"]] == mentions[0]
                else:
                    assert written[q["idx"]] in mentions


@pytest.mark.real_data
def test_bad_training_file_is_one_error_line_and_nothing_is_written(capsys, tmp_path, data):
    broken = tmp_path / "data"
    shutil.copytree(data, broken)
    path = broken / "fewglue/RTE/train.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4].replace('"label": "not_entailment"', '"label": "maybe"').replace(
        '"label": "entailment"', '"label": "maybe"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "baseline", "majority", "--suite", "superglue",
                         "--train-suite", "fewglue", "--data-dir", broken, "--split", "dev",
                         "-o", out_dir, "--tasks", "BoolQ,RTE,AX-b")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    assert "train.jsonl" in err and "line 5" in err and "maybe" in err
    assert not out_dir.exists()


def test_unknown_train_suite_is_one_error_line(capsys, tmp_path):
    code, _, err = run(capsys, "baseline", "majority", "--suite", "superglue", "--train-suite",
                       "fewglu", "--data-dir", tmp_path, "-o", tmp_path / "o")
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_tasks_lists_a_suite_with_files_on_disk(capsys, tmp_path):
    (tmp_path / "superglue/CB").mkdir(parents=True)
    shutil.copyfile(REPO / "tests/fixtures/superglue/ReCoRD/val.jsonl", tmp_path / "x.jsonl")
    code, out, err = run(capsys, "tasks", "--suite", "superglue", "--json", "--data-dir",
                         tmp_path)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["suite"] == "superglue" and list(doc["tasks"])[:2] == ["BoolQ", "CB"]
    cb = doc["tasks"]["CB"]
    assert cb["labels"] == ["entailment", "contradiction", "neutral"]
    assert cb["files"]["dev"] == {"path": "CB/val.jsonl", "size": 56, "format": "jsonl",
                                  "labelled": True, "on_disk": "missing"}
    assert cb["entries"] == {"CB": ["accuracy", "f1_macro"]}
    assert doc["tasks"]["ReCoRD"]["target"] == "entity"
    assert doc["tasks"]["RTE"]["entries"] == {"RTE": ["accuracy"]}
    assert doc["tasks"]["AX-g"]["entries"] == {"AX-g": ["gender_parity", "accuracy"]}


@pytest.mark.real_data
def test_tasks_counts_rows_of_the_real_files(capsys, data):
    code, out, err = run(capsys, "tasks", "--suite", "superglue", "--json", "--data-dir", data)
    assert code == 0, err
    tasks = json.loads(out)["tasks"]
    assert tasks["MultiRC"]["files"]["dev"]["on_disk"] == len(gold(data, "MultiRC")) == 4848
    assert tasks["AX-b"]["files"]["test"]["on_disk"] == 1104
    assert tasks["BoolQ"]["files"]["train"]["on_disk"] == "missing"
    assert np.all([tasks[t]["files"]["dev"]["on_disk"] == len(gold(data, t))
                   for t in TASKS[:7]])
