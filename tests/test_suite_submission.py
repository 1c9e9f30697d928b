"""``submission --suite superglue`` and ``validate --suite superglue`` in process.

Round trip on the real SuperGLUE val files (marked ``real_data``): several prediction
systems, written as real submissions write them (shuffled lines, JSON booleans and
"TRUE"/"false" strings, AX-b's idx as a string or a number, MultiRC nested), go through
``submission``, ``validate`` and ``score --suite superglue``; the scores of the zip's files
are compared with scikit-learn to 1e-12. Bad zips list every problem; a bad prediction
folder is one error line and nothing is written.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.conftest import suite_data_roots
from tests.test_suite_cli import TASKS, expected_metrics, run, write_predictions

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
REAL_FILES = {"AX-b": ["AX-b/AX-b.jsonl"], "AX-g": ["AX-g/AX-g.jsonl"]}
ZIP_FILES = ["BoolQ.jsonl", "CB.jsonl", "COPA.jsonl", "MultiRC.jsonl", "ReCoRD.jsonl",
             "RTE.jsonl", "WiC.jsonl", "WSC.jsonl", "AX-b.jsonl", "AX-g.jsonl"]
RECORD_PREDICTIONS = [{"idx": 2, "label": "Lionel"}, {"idx": 0, "label": "the Eiffel Tower"},
                      {"idx": 1, "label": "Paris"}]


def _real() -> Path:
    candidates = suite_data_roots()
    real = next((Path(c) for c in filter(None, candidates)
                 if (Path(c) / "superglue" / "CB" / "val.jsonl").is_file()), None)
    if real is None:
        message = "real data (../shared/data/superglue) not found"
        if os.environ.get("GLUEBENCH_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"{message}, and GLUEBENCH_REQUIRE_REAL_DATA=1", pytrace=False)
        pytest.skip(message)
    return real


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """The real SuperGLUE val and test files plus the official-layout ReCoRD fixture."""
    real = _real()
    root = tmp_path_factory.mktemp("data")
    for task in TASKS:
        for rel in REAL_FILES.get(task, [f"{task}/val.jsonl", f"{task}/test.jsonl"]):
            (root / "superglue" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real / "superglue" / rel, root / "superglue" / rel)
    shutil.copytree(FIXTURES / "superglue/ReCoRD", root / "superglue/ReCoRD")
    return root


def val_system(folder: Path, data: Path, kind: str, seed: int) -> dict:
    preds = write_predictions(folder, data, kind, seed)
    (folder / "ReCoRD.jsonl").write_text("".join(json.dumps(x) + "\n"
                                                 for x in RECORD_PREDICTIONS))
    return preds


@pytest.fixture(scope="module")
def good_zip(tmp_path_factory, data) -> bytes:
    """A valid dev-sized SuperGLUE zip built by ``submission``."""
    folder = tmp_path_factory.mktemp("good")
    val_system(folder / "pred", data, "flips", 5)
    code = _quiet_main("submission", "--suite", "superglue", folder / "pred", "--split", "dev",
                       "--data-dir", data, "-o", folder / "ok.zip")
    assert code == 0
    return (folder / "ok.zip").read_bytes()


def _quiet_main(*argv) -> int:
    from gluebench.cli import main
    return main([str(a) for a in argv])


def members(raw: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(files: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return path


# ---- round trip on the real val files ----------------------------------------------------

@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.parametrize("kind,seed", [("gold", 0), ("flips", 1), ("random", 7)])
def test_round_trip_submission_validate_score(capsys, tmp_path, data, kind, seed):
    preds = val_system(tmp_path / "pred", data, kind, seed)
    out_zip = tmp_path / "superglue.zip"
    code, out, err = run(capsys, "submission", "--suite", "superglue", tmp_path / "pred",
                         "--split", "dev", "--data-dir", data, "-o", out_zip)
    assert code == 0, err
    assert "MultiRC.jsonl 4848" in out
    files = members(out_zip.read_bytes())
    assert sorted(files) == sorted(ZIP_FILES)

    code, out, err = run(capsys, "validate", "--suite", "superglue", out_zip, "--split", "dev",
                         "--data-dir", data)
    assert code == 0, out + err
    assert "OK" in out

    _check_official_layout(files, data)
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    for name, body in files.items():
        (unpacked / name).write_bytes(body)
    scores = tmp_path / "scores.json"
    code, _, err = run(capsys, "score", "--suite", "superglue", "--split", "dev",
                       "--predictions", unpacked, "--data-dir", data, "--resamples", 20,
                       "--json", scores)
    assert code == 0, err
    results = json.loads(scores.read_text())
    for task in TASKS:
        for metric, value in expected_metrics(data, task, preds[task]).items():
            assert results["tasks"][task][metric] == pytest.approx(value, abs=1e-12)
    assert results["tasks"]["ReCoRD"]["record_f1"] == pytest.approx(5 / 9, abs=1e-12)
    assert results["tasks"]["ReCoRD"]["record_em"] == pytest.approx(1 / 3, abs=1e-12)
    assert results["superglue_score"] is not None


def _check_official_layout(files: dict[str, bytes], data: Path) -> None:
    """Lines in idx order; lower-case boolean strings; COPA's 0/1 numbers; MultiRC nested
    exactly as the data file (paragraph and question idx); ReCoRD's label the text."""
    def lines(name):
        return [json.loads(x) for x in files[name].decode().splitlines()]

    boolq = lines("BoolQ.jsonl")
    assert [r["idx"] for r in boolq] == list(range(3270))
    assert {r["label"] for r in boolq} <= {"true", "false"} and set(boolq[0]) == {"idx", "label"}
    assert {type(r["label"]) for r in lines("COPA.jsonl")} == {int}
    assert [r["idx"] for r in lines("AX-b.jsonl")] == list(range(1104))
    assert {r["label"] for r in lines("ReCoRD.jsonl")} == {"Lionel", "the Eiffel Tower", "Paris"}
    gold = [json.loads(x) for x in (data / "superglue/MultiRC/val.jsonl").read_text()
            .splitlines()]
    shape = [(p["idx"], [(q["idx"], [a["idx"] for a in q["answers"]])
                         for q in p["passage"]["questions"]]) for p in gold]
    written = lines("MultiRC.jsonl")
    assert [(p["idx"], [(q["idx"], [a["idx"] for a in q["answers"]])
                        for q in p["passage"]["questions"]]) for p in written] == shape
    assert {a["label"] for p in written for q in p["passage"]["questions"]
            for a in q["answers"]} <= {0, 1}


@pytest.mark.slow
@pytest.mark.real_data
def test_test_sized_zip_against_official_sizes_without_data_dir(capsys, tmp_path, data):
    """No --data-dir: ids 0..size-1 at the official test sizes from the suite file."""
    pred = tmp_path / "pred"
    pred.mkdir()
    for task in TASKS:
        rel = REAL_FILES.get(task, [None, f"{task}/test.jsonl"])[-1]
        rows = [json.loads(x) for x in (data / "superglue" / rel).read_text().splitlines()]
        if task == "MultiRC":
            body = [{"idx": p["idx"], "passage": {"questions": [
                {"idx": q["idx"], "answers": [{"idx": a["idx"], "label": 1}
                                              for a in q["answers"]]}
                for q in p["passage"]["questions"]]}} for p in rows]
        else:
            label = {"COPA": 0, "CB": "neutral"}.get(task, True)
            label = "entailment" if task in ("RTE", "AX-b", "AX-g") else label
            body = [{"idx": r["idx"], "label": label} for r in rows]
        (pred / f"{task}.jsonl").write_text("".join(json.dumps(b) + "\n" for b in body))
    (pred / "ReCoRD.jsonl").write_text("".join(json.dumps({"idx": i, "label": "x"}) + "\n"
                                               for i in range(10000)))
    out_zip = tmp_path / "test.zip"
    code, out, err = run(capsys, "submission", "--suite", "superglue", pred, "-o", out_zip)
    assert code == 0, err
    assert "BoolQ.jsonl 3245" in out and "MultiRC.jsonl 9693" in out
    code, out, err = run(capsys, "validate", "--suite", "superglue", out_zip)
    assert code == 0, out + err
    # the same zip is not dev-sized: the official dev sizes are checked instead
    code, out, _ = run(capsys, "validate", "--suite", "superglue", out_zip, "--split", "dev")
    assert code == 2 and "BoolQ.jsonl: no prediction for idx 3245" in out
    assert "CB.jsonl line 57: unknown idx 56; expected ids 0..55" in out


# ---- bad zips: every problem listed ------------------------------------------------------

def _bomb() -> bytes:
    return b" " * (64 << 20)   # deflates to ~64 KiB: a ratio of ~1000


def _misnest(files: dict[str, bytes]) -> None:
    """Move answer 0 of paragraph 0 from question 0 into question 1."""
    lines = files["MultiRC.jsonl"].decode().splitlines()
    first = json.loads(lines[0])
    questions = first["passage"]["questions"]
    questions[1]["answers"].append(questions[0]["answers"].pop(0))
    lines[0] = json.dumps(first)
    files["MultiRC.jsonl"] = ("\n".join(lines) + "\n").encode()


BREAKS = {
    "missing member": (lambda f: f.pop("CB.jsonl"), "upload.zip: missing CB.jsonl"),
    "extra member": (lambda f: f.__setitem__("README.txt", b"hi\n"),
                     "upload.zip: unexpected file README.txt"),
    "duplicate idx": (lambda f: f.__setitem__("RTE.jsonl", f["RTE.jsonl"]
                                              + b'{"idx": 3, "label": "entailment"}\n'),
                      "RTE.jsonl line 278: duplicate idx 3 (first on line 4)"),
    "wrong label token": (lambda f: f.__setitem__("WiC.jsonl", f["WiC.jsonl"].replace(
        b'"label": "true"', b'"label": "yes"', 1)), "unknown label 'yes'; expected one of: "
                          "false, true"),
    "bomb": (lambda f: f.__setitem__("BoolQ.jsonl", _bomb()), "(a zip bomb?)"),
    "misnested MultiRC answer": (_misnest, "MultiRC.jsonl line 1: idx 0 is nested under idx "
                                 "0/1; expected 0/0 as in the data file"),
}


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.parametrize("case", sorted(BREAKS))
def test_validate_lists_each_problem(capsys, tmp_path, data, good_zip, case):
    files = members(good_zip)
    breaker, expected = BREAKS[case]
    breaker(files)
    path = rezip(files, tmp_path / "upload.zip")
    code, out, err = run(capsys, "validate", "--suite", "superglue", path, "--split", "dev",
                         "--data-dir", data)
    assert code == 2
    assert expected in out, out
    assert "1 problem(s) found" in err, out


@pytest.mark.slow
@pytest.mark.real_data
def test_validate_lists_every_problem_of_one_zip(capsys, tmp_path, data, good_zip):
    files = members(good_zip)
    for breaker, _ in BREAKS.values():
        breaker(files)
    path = rezip(files, tmp_path / "upload.zip")
    code, out, err = run(capsys, "validate", "--suite", "superglue", path, "--split", "dev",
                         "--data-dir", data)
    assert code == 2
    for _, expected in BREAKS.values():
        assert expected in out, (expected, out)
    assert f"{len(BREAKS)} problem(s) found" in err


def test_validate_not_a_zip_is_one_line(capsys, tmp_path):
    path = tmp_path / "x.zip"
    path.write_bytes(b"not a zip at all")
    code, out, err = run(capsys, "validate", "--suite", "superglue", path)
    assert code == 2
    assert out.strip().splitlines() == [f"{path}: not a zip file (no end-of-archive record: "
                                        "not a zip, or truncated)"]


# ---- bad prediction folders: one error line, nothing written ------------------------------

FOLDER_BREAKS = {
    "missing file": (lambda p: (p / "CB.jsonl").unlink(), "CB.jsonl: missing"),
    "duplicate idx": (lambda p: _append(p / "BoolQ.jsonl", {"idx": 7, "label": True}),
                      "duplicate idx 7"),
    "unknown idx": (lambda p: _append(p / "COPA.jsonl", {"idx": 100, "label": 1}),
                    "unknown idx 100; expected ids 0..99"),
    "wrong label token": (lambda p: _append(p / "RTE.jsonl", {"idx": 0, "label": "entails"}),
                          "unknown label 'entails'"),
    "label not the entity text": (lambda p: (p / "ReCoRD.jsonl").write_text(
        '{"idx": 0, "label": 3}\n'), "label is a number; expected the entity's text"),
}


def _append(path: Path, record: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(record) + "\n")


@pytest.mark.real_data
@pytest.mark.parametrize("case", sorted(FOLDER_BREAKS))
def test_bad_folder_is_one_error_line_and_nothing_written(capsys, tmp_path, data, case):
    val_system(tmp_path / "pred", data, "flips", 2)
    breaker, expected = FOLDER_BREAKS[case]
    breaker(tmp_path / "pred")
    out_zip = tmp_path / "out.zip"
    code, out, err = run(capsys, "submission", "--suite", "superglue", tmp_path / "pred",
                         "--split", "dev", "--data-dir", data, "-o", out_zip)
    assert code == 2
    lines = [x for x in err.strip().splitlines() if not x.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], err
    assert not out_zip.exists() and list(tmp_path.glob("out.zip*")) == []


# ---- label tokens as written --------------------------------------------------------------

def test_output_label_tokens_follow_the_suite_format():
    """SuperGLUE writes booleans as lower-case strings; a suite saying booleans = "json"
    gets JSON booleans; 0/1 tokens are numbers; other tokens and entity texts are strings."""
    from dataclasses import replace

    from gluebench.benchmark.suite_loader import load_suite
    from gluebench.benchmark.suite_submission import output_label

    suite = load_suite("superglue")
    sub, boolq = suite.submission, suite.task("BoolQ")
    assert [output_label(boolq, sub, v) for v in (True, "FALSE", "true")] == ["true", "false",
                                                                              "true"]
    as_json = replace(sub, booleans="json")
    assert [output_label(boolq, as_json, v) for v in (True, "False")] == [True, False]
    assert output_label(suite.task("COPA"), sub, 1) == 1
    assert output_label(suite.task("CB"), sub, "neutral") == "neutral"
    assert output_label(suite.task("ReCoRD"), sub, "Paris") == "Paris"
    for task, bad in (("BoolQ", "yes"), ("COPA", True), ("COPA", 1.0), ("ReCoRD", 3)):
        with pytest.raises(ValueError, match="expected"):
            output_label(suite.task(task), sub, bad)
