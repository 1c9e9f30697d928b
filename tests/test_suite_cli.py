"""``gluebench suites``, ``suite check`` and ``score --suite superglue`` in process.

Real SuperGLUE val files (../shared/data/superglue, marked ``real_data``): several
prediction systems written in the official submission format are scored through
``gluebench.cli.main`` and every metric is compared with scikit-learn to 1e-12; the
grouped metrics (MultiRC's EM per question, AX-g parity) with an independent reading of
the gold file, ReCoRD with a hand-worked case on the official-layout fixture.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from gluebench.cli import main
from tests.conftest import suite_data_roots

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
TASKS = ("BoolQ", "CB", "COPA", "MultiRC", "RTE", "WiC", "WSC", "AX-b", "AX-g")
FILES = {"AX-b": "AX-b/AX-b.jsonl", "AX-g": "AX-g/AX-g.jsonl"}
LABELS = {"BoolQ": [False, True], "WiC": [False, True], "WSC": [False, True], "COPA": [0, 1],
          "CB": ["entailment", "contradiction", "neutral"], "MultiRC": [0, 1],
          "RTE": ["entailment", "not_entailment"], "AX-b": ["entailment", "not_entailment"],
          "AX-g": ["entailment", "not_entailment"]}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ---- suites and suite check ------------------------------------------------------------

def test_suites_lists_the_builtin_suites_as_json(capsys):
    code, out, _ = run(capsys, "suites", "--json")
    assert code == 0
    suites = {s["name"]: s for s in json.loads(out)}
    assert {"glue", "superglue", "fewglue"} <= set(suites)
    sg = suites["superglue"]
    assert sg["aggregate"]["name"] == "superglue_score"
    assert sg["aggregate"]["beside"] == ["AX-b", "AX-g"]
    assert len(sg["aggregate"]["groups"]) == 8 and "ReCoRD" in sg["entries"]
    assert suites["glue"]["aggregate"]["beside"] == ["AX"]


def test_suites_table_names_every_suite(capsys):
    code, out, _ = run(capsys, "suites")
    assert code == 0 and all(n in out for n in ("glue", "superglue", "fewglue"))


@pytest.mark.parametrize("name", ["glue", "superglue", "fewglue"])
def test_suite_check_accepts_the_builtin_files(capsys, name):
    path = REPO / "src/gluebench/benchmark/suites" / f"{name}.toml"
    code, out, _ = run(capsys, "suite", "check", path)
    assert code == 0 and "OK" in out and f"'{name}'" in out


@pytest.mark.parametrize("name", ["clue", "klej"])
def test_suite_check_accepts_the_examples(capsys, name):
    code, out, _ = run(capsys, "suite", "check", REPO / "examples/suites" / f"{name}.toml")
    assert code == 0 and "OK" in out


VALID = (REPO / "src/gluebench/benchmark/suites/superglue.toml").read_text(encoding="utf-8")
BAD = {
    "unknown metric": (VALID.replace('metrics = ["accuracy"]\ngroup = "BoolQ"',
                                     'metrics = ["acuracy"]\ngroup = "BoolQ"'),
                       ["entries.BoolQ.metrics", "acuracy", "accuracy"]),
    "missing key": (VALID.replace('name = "superglue_score"\n', ""), ["aggregate.name"]),
    "wrong type": (VALID.replace('size = 56 }', 'size = "56" }'), ["CB", "size"]),
    "path leaving": (VALID.replace('"CB/val.jsonl"', '"../../etc/passwd"'), ["CB", "path"]),
    "absolute path": (VALID.replace('"CB/val.jsonl"', '"/etc/passwd"'), ["CB", "path"]),
    "huge value": (VALID.replace('size = 56 }', 'size = 10000000000 }'), ["CB", "size"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_suite_check_rejects_a_bad_file_with_one_line_naming_the_key(capsys, tmp_path, case):
    text, expected = BAD[case]
    assert text != VALID
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "suite", "check", path)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err and str(path) in lines[0]
    for word in expected:
        assert word in lines[0], (word, lines[0])


def test_suite_check_rejects_non_utf8(capsys, tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(VALID.replace("Boolean Questions", "Bool\u00e9en").encode("latin-1"))
    code, _, err = run(capsys, "suite", "check", path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "UTF-8" in err and err.startswith("error:")


# ---- score --suite superglue on the real val files ---------------------------------------

@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """A data folder: the real SuperGLUE val files plus the official-layout ReCoRD fixture."""
    candidates = suite_data_roots()
    real = next((Path(c) for c in filter(None, candidates)
                 if (Path(c) / "superglue" / "CB" / "val.jsonl").is_file()), None)
    if real is None:
        message = "real data (../shared/data/superglue) not found"
        if os.environ.get("GLUEBENCH_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"{message}, and GLUEBENCH_REQUIRE_REAL_DATA=1", pytrace=False)
        pytest.skip(message)
    root = tmp_path_factory.mktemp("data")
    for task in TASKS:
        rel = FILES.get(task, f"{task}/val.jsonl")
        (root / "superglue" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real / "superglue" / rel, root / "superglue" / rel)
    (root / "superglue/ReCoRD").mkdir()
    shutil.copyfile(FIXTURES / "superglue/ReCoRD/val.jsonl", root / "superglue/ReCoRD/val.jsonl")
    return root


def gold_rows(data: Path, task: str) -> list[dict]:
    """Independent reading: (idx, label index, question id) per row, in file order."""
    path = data / "superglue" / FILES.get(task, f"{task}/val.jsonl")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if task == "MultiRC":
            for q in r["passage"]["questions"]:
                for a in q["answers"]:
                    rows.append({"idx": a["idx"], "y": a["label"], "q": q["idx"]})
        else:
            y = LABELS[task].index(r["label"])
            rows.append({"idx": r["idx"], "y": y})
    return rows


def system(kind: str, y: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "gold":
        return y.copy()
    if kind == "flips":   # gold with k = 7 labels changed
        out = y.copy()
        at = rng.choice(len(y), size=min(7, len(y)), replace=False)
        out[at] = (out[at] + 1) % n_classes
        return out
    if kind == "constant":
        return np.zeros_like(y)
    return rng.integers(0, n_classes, size=len(y))


def write_predictions(folder: Path, data: Path, kind: str, seed: int) -> dict[str, np.ndarray]:
    """The official files (shuffled line order, mixed label tokens); the predicted ids."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    preds = {}
    for task in TASKS:
        rows = gold_rows(data, task)
        y = np.array([r["y"] for r in rows])
        pred = system(kind, y, len(LABELS[task]), rng)
        preds[task] = pred
        if task == "MultiRC":
            lines = _multirc_lines(data, dict(zip((r["idx"] for r in rows), pred.tolist(),
                                                  strict=True)))
        else:
            lines = [json.dumps({"idx": _idx(task, r["idx"], i), "label": _token(task, p, i)})
                     for i, (r, p) in enumerate(zip(rows, pred.tolist(), strict=True))]
        rng.shuffle(lines)   # matched by idx, never by line order
        (folder / f"{task}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return preds


def _idx(task, idx, i):
    """AX-b's idx as the official string on even rows, a number on odd ones."""
    return (str(idx) if i % 2 == 0 else int(idx)) if task == "AX-b" else idx


def _token(task, p, i):
    """Booleans as JSON booleans, "true"/"FALSE"-style strings, alternately."""
    value = LABELS[task][p]
    if isinstance(value, bool) and i % 3 == 1:
        return "TRUE" if value else "False"
    if isinstance(value, bool) and i % 3 == 2:
        return str(value).lower()
    return value


def _multirc_lines(data: Path, by_answer: dict) -> list[str]:
    lines = []
    for line in (data / "superglue/MultiRC/val.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        lines.append(json.dumps({"idx": r["idx"], "passage": {"questions": [
            {"idx": q["idx"], "answers": [{"idx": a["idx"], "label": by_answer[a["idx"]]}
                                          for a in q["answers"]]}
            for q in r["passage"]["questions"]]}}))
    return lines


def expected_metrics(data: Path, task: str, pred: np.ndarray) -> dict[str, float]:
    rows = gold_rows(data, task)
    y = np.array([r["y"] for r in rows])
    if task == "CB":
        return {"accuracy": accuracy_score(y, pred), "f1_macro": f1_score(y, pred, average="macro")}
    if task == "MultiRC":
        questions: dict = {}
        for r, p in zip(rows, pred, strict=True):
            questions.setdefault(r["q"], []).append(r["y"] == p)
        return {"f1a": f1_score(y, pred, zero_division=0.0),
                "em_question": float(np.mean([all(v) for v in questions.values()]))}
    if task == "AX-b":
        return {"mcc": matthews_corrcoef(y, pred)}
    if task == "AX-g":
        parity = np.mean([pred[2 * k] == pred[2 * k + 1] for k in range(len(pred) // 2)])
        return {"gender_parity": float(parity), "accuracy": accuracy_score(y, pred)}
    return {"accuracy": accuracy_score(y, pred)}


@pytest.mark.real_data
@pytest.mark.parametrize("kind,seed", [("gold", 0), ("flips", 1), ("constant", 0),
                                       ("random", 7)])
def test_score_superglue_matches_scikit_learn(capsys, tmp_path, data, kind, seed):
    preds = write_predictions(tmp_path / "pred", data, kind, seed)
    out_json = tmp_path / "scores.json"
    code, out, err = run(capsys, "score", "--suite", "superglue", "--split", "dev",
                         "--predictions", tmp_path / "pred", "--data-dir", data,
                         "--resamples", 200, "--json", out_json)
    assert code == 0, err
    results = json.loads(out_json.read_text())
    assert results["suite"]["name"] == "superglue" and len(results["suite"]["sha256"]) == 64
    assert results["schema_version"] >= 1
    for task in TASKS:
        got = results["tasks"][task]
        expected = expected_metrics(data, task, preds[task])
        for metric, value in expected.items():
            assert got[metric] == pytest.approx(value, abs=1e-12), (task, metric)
            lo, hi = got["ci"][metric]
            assert lo - 1e-12 <= got[metric] <= hi + 1e-12, (task, metric)
        assert got["score"] == pytest.approx(100 * np.mean(list(expected.values())), abs=1e-10)
    assert results["tasks"]["MultiRC"]["resample"] == "paragraph"
    assert results["tasks"]["MultiRC"]["n_units"] == 83
    assert results["tasks"]["AX-g"]["resample"] == "pair"
    # no ReCoRD predictions: a labelled partial average of the 7 task scores (AX-b and
    # AX-g beside it, not in it), never the SuperGLUE score
    groups = ["BoolQ", "CB", "COPA", "MultiRC", "RTE", "WiC", "WSC"]
    assert results["superglue_score"] is None and results["tasks_missing"] == ["ReCoRD"]
    assert results["partial_average"] == pytest.approx(
        np.mean([results["tasks"][t]["score"] for t in groups]), abs=1e-10)
    assert "SuperGLUE" in out


@pytest.mark.real_data
def test_record_hand_worked_and_the_full_superglue_score(capsys, tmp_path, data):
    preds = write_predictions(tmp_path / "pred", data, "flips", 3)
    # ReCoRD fixture: q0 'the Eiffel Tower' (EM 1, F1 1); q1 'Paris' (0, 0);
    # q2 'Lionel' vs 'Lionel Messi' (EM 0, F1 2/3) -> F1 5/9, EM 1/3
    lines = [{"idx": 2, "label": "Lionel"}, {"idx": 0, "label": "the Eiffel Tower"},
             {"idx": 1, "label": "Paris"}]
    (tmp_path / "pred/ReCoRD.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    out_json = tmp_path / "s.json"
    code, _, err = run(capsys, "score", "--suite", "superglue", "--predictions",
                       tmp_path / "pred", "--data-dir", data, "--resamples", 100,
                       "--json", out_json)
    assert code == 0, err
    r = json.loads(out_json.read_text())
    assert r["tasks"]["ReCoRD"]["record_f1"] == pytest.approx(5 / 9, abs=1e-12)
    assert r["tasks"]["ReCoRD"]["record_em"] == pytest.approx(1 / 3, abs=1e-12)
    task_scores = []
    for task in ("BoolQ", "CB", "COPA", "MultiRC", "RTE", "WiC", "WSC"):
        task_scores.append(100 * np.mean(list(expected_metrics(data, task, preds[task])
                                               .values())))
    task_scores.append(100 * (5 / 9 + 1 / 3) / 2)
    assert r["superglue_score"] == pytest.approx(np.mean(task_scores), abs=1e-10)
    assert r["partial_average"] is None and r["tasks_missing"] == []


@pytest.mark.real_data
def test_missing_tasks_give_a_labelled_partial_average(capsys, tmp_path, data):
    preds = write_predictions(tmp_path / "pred", data, "random", 11)
    for task in ("BoolQ", "AX-b"):
        (tmp_path / "pred" / f"{task}.jsonl").unlink()
    out_json = tmp_path / "s.json"
    code, out, err = run(capsys, "score", "--suite", "superglue", "--predictions",
                         tmp_path / "pred", "--data-dir", data, "--resamples", 50,
                         "--json", out_json)
    assert code == 0, err
    r = json.loads(out_json.read_text())
    present = ["CB", "COPA", "MultiRC", "RTE", "WiC", "WSC"]
    expected = np.mean([100 * np.mean(list(expected_metrics(data, t, preds[t]).values()))
                        for t in present])
    assert r["superglue_score"] is None
    assert r["partial_average"] == pytest.approx(expected, abs=1e-10)
    assert r["partial_average_tasks"] == present
    assert r["tasks_missing"] == ["BoolQ", "ReCoRD", "AX-b"]
    assert "partial average" in out


# ---- bad prediction files: one error line, exit 2, nothing written -------------------------

def _break(folder: Path, task: str, how: str) -> str:
    path = folder / f"{task}.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    if how == "duplicate":
        lines.append(lines[0])
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return f"line {len(lines)}: duplicate id"
    if how == "unknown":
        lines[1] = json.dumps({**first, "idx": 999999})
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return "line 2: unknown id 999999"
    if how == "label":
        lines[2] = json.dumps({**json.loads(lines[2]), "label": "yes"})
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return "line 3: unknown label 'yes'"
    if how == "float id":
        lines[3] = json.dumps({**json.loads(lines[3]), "idx": 1.5})
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return "line 4: id is a number"
    raise AssertionError(how)


@pytest.mark.real_data
@pytest.mark.parametrize("task,how", [("BoolQ", "missing"), ("AX-b", "duplicate"),
                                      ("CB", "unknown"), ("WiC", "label"),
                                      ("COPA", "float id"), ("MultiRC", "missing")])
def test_bad_prediction_file_is_one_error_line_and_nothing_is_written(capsys, tmp_path, data,
                                                                      task, how):
    write_predictions(tmp_path / "pred", data, "gold", 0)
    path = tmp_path / "pred" / f"{task}.jsonl"
    if how == "missing":
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
        expected = "no prediction for id"
    else:
        expected = _break(tmp_path / "pred", task, how)
    out_json = tmp_path / "scores.json"
    code, out, err = run(capsys, "score", "--suite", "superglue", "--predictions",
                         tmp_path / "pred", "--data-dir", data, "--json", out_json)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err
    assert f"{task}.jsonl" in lines[0] and expected in lines[0], lines[0]
    assert not out_json.exists()


def test_unknown_suite_is_one_error_line(capsys, tmp_path):
    code, _, err = run(capsys, "score", "--suite", "superglu", "--predictions", tmp_path,
                       "--data-dir", tmp_path)
    assert code == 2 and "Did you mean 'superglue'" in err and len(err.strip().splitlines()) == 1
