"""The official GLUE server zip: ``gluebench submission`` builds it, ``gluebench validate``
checks it.

One full test-prediction folder (all 11 files at their official sizes, rows shuffled,
some STS-B values outside [0, 5]) is built once per module: QQP alone has 390965 rows.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark.predictions import write_predictions
from gluebench.benchmark.tasks import get_task
from gluebench.cli import main

# The official test sizes, written out here (not read from gluebench.benchmark.tasks) as an oracle.
OFFICIAL_SIZES = {
    "CoLA": 1063, "SST-2": 1821, "MRPC": 1725, "STS-B": 1379, "QQP": 390965,
    "MNLI-m": 9796, "MNLI-mm": 9847, "QNLI": 5463, "RTE": 3000, "WNLI": 146, "AX": 1104,
}
FILES = {name: f"{name}.tsv" for name in OFFICIAL_SIZES}
BINARY = ("0", "1")
NLI3 = ("entailment", "neutral", "contradiction")
NLI2 = ("entailment", "not_entailment")
VOCAB = {
    "CoLA": BINARY, "SST-2": BINARY, "MRPC": BINARY, "QQP": BINARY, "WNLI": BINARY,
    "MNLI-m": NLI3, "MNLI-mm": NLI3, "AX": NLI3,
    "QNLI": NLI2, "RTE": NLI2,
    "STS-B": None,  # floats
}
# The test files that are on disk: `gluebench baseline random --split test` writes these.
ON_DISK = ("CoLA", "SST-2", "MRPC", "STS-B", "QNLI", "RTE", "WNLI", "AX")
# Written directly: their test data are not on disk. Entry -> task.
WRITTEN = {"QQP": "QQP", "MNLI-m": "MNLI", "MNLI-mm": "MNLI"}
# STS-B values planted outside [0, 5]: index -> value; clipped to 0 or 5 in the zip.
STSB_OUT_OF_RANGE = {3: -0.75, 500: 5.5, 1378: 12.0}
HEADER = "index\tprediction"


def _cli(*args) -> tuple[int, str, str]:
    """Run the CLI in process (usable from module-scoped fixtures, unlike capsys)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def _read_rows(path: Path) -> tuple[str, list[tuple[str, str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0], [tuple(line.split("\t")) for line in lines[1:]]


def _write_rows(path: Path, rows: list[tuple[str, str]]) -> None:
    path.write_text("\n".join([HEADER, *("\t".join(r) for r in rows)]) + "\n", encoding="utf-8")


def _shuffle_file(path: Path, rng: np.random.Generator) -> None:
    header, rows = _read_rows(path)
    assert header == HEADER
    order = rng.permutation(len(rows))
    shuffled = [rows[i] for i in order]
    assert [int(r[0]) for r in shuffled] != sorted(int(r[0]) for r in shuffled)
    _write_rows(path, shuffled)


@pytest.fixture(scope="module")
def pred_dir(tmp_path_factory, glue_dir) -> Path:
    """All 11 test prediction files, rows shuffled, 3 STS-B values out of range."""
    out = tmp_path_factory.mktemp("test_preds")
    code, _, err = _cli("baseline", "random", "--data-dir", glue_dir, "--split", "test",
                        "-o", out, "--seed", "7")
    assert code == 0, err
    rng = np.random.default_rng(2024)
    for entry, task_name in WRITTEN.items():
        task = get_task(task_name)
        n = OFFICIAL_SIZES[entry]
        write_predictions(out / FILES[entry], task, np.arange(n),
                          rng.integers(0, len(task.labels), size=n))
    # Plant STS-B values outside [0, 5].
    header, rows = _read_rows(out / FILES["STS-B"])
    rows = [(i, str(STSB_OUT_OF_RANGE.get(int(i), v))) for i, v in rows]
    _write_rows(out / FILES["STS-B"], rows)
    for name in FILES.values():
        _shuffle_file(out / name, rng)
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES.values())
    return out


@pytest.fixture(scope="module")
def built(pred_dir, tmp_path_factory):
    """``gluebench submission`` run once: (exit code, stdout, stderr, zip path)."""
    zip_path = tmp_path_factory.mktemp("sub") / "sub.zip"
    code, out, err = _cli("submission", "--predictions", pred_dir, "-o", zip_path)
    return code, out, err, zip_path


@pytest.fixture(scope="module")
def members(built) -> dict[str, bytes]:
    code, _, err, zip_path = built
    assert code == 0, err
    with zipfile.ZipFile(zip_path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _input_predictions(pred_dir: Path, entry: str) -> dict[int, str]:
    _, rows = _read_rows(pred_dir / FILES[entry])
    return {int(i): v for i, v in rows}


# ---- building the zip ---------------------------------------------------------------------

@pytest.mark.slow
def test_submission_exits_0(built):
    code, out, err, zip_path = built
    assert code == 0, err
    assert "error" not in err.lower()
    assert zip_path.is_file()
    assert zipfile.is_zipfile(zip_path)


def test_zip_has_exactly_the_11_files_at_top_level(members):
    assert sorted(members) == sorted(FILES.values())
    assert all("/" not in name for name in members)


@pytest.mark.parametrize("entry", list(OFFICIAL_SIZES))
def test_file_format_and_index_order(members, pred_dir, entry):
    lines = members[FILES[entry]].decode("utf-8").splitlines()
    assert lines[0] == HEADER
    rows = [line.split("\t") for line in lines[1:]]
    assert all(len(r) == 2 for r in rows)
    n = OFFICIAL_SIZES[entry]
    assert len(rows) == n
    assert [int(r[0]) for r in rows] == list(range(n))  # re-ordered: input was shuffled
    values = [r[1] for r in rows]
    given = _input_predictions(pred_dir, entry)
    if VOCAB[entry] is None:
        return  # STS-B: see the tests below
    assert set(values) <= set(VOCAB[entry])
    # Each prediction stays with its index (re-ordering moves rows, not labels).
    assert values == [given[i] for i in range(n)]


def test_stsb_floats_clipped_to_range(members, pred_dir):
    lines = members[FILES["STS-B"]].decode("utf-8").splitlines()
    values = [float(line.split("\t")[1]) for line in lines[1:]]
    assert all(math.isfinite(v) and 0.0 <= v <= 5.0 for v in values)
    given = _input_predictions(pred_dir, "STS-B")
    for i, v in enumerate(values):
        expected = min(max(float(given[i]), 0.0), 5.0)
        assert v == pytest.approx(expected, rel=1e-5, abs=1e-6), i
    assert values[3] == 0.0 and values[500] == 5.0 and values[1378] == 5.0


def test_stsb_clip_warning_says_how_many(built, pred_dir):
    _, _, err, _ = built
    clip_lines = [ln for ln in err.splitlines()
                  if ln.startswith("warning:") and "clip" in ln.lower()]
    assert len(clip_lines) == 1, err
    line = clip_lines[0].replace(str(pred_dir), "<dir>")
    assert "STS-B" in line
    assert re.search(rf"\b{len(STSB_OUT_OF_RANGE)}\b", line), line


def test_validate_accepts_the_built_zip(built, run_cli):
    zip_path = built[3]
    code, out, err = run_cli("validate", zip_path)
    assert code == 0, out + err
    assert "problem" not in out.lower()


# ---- missing files ------------------------------------------------------------------------

def _partial_copy(pred_dir: Path, dest: Path, drop: tuple[str, ...]) -> Path:
    dest.mkdir()
    for entry, name in FILES.items():
        if entry not in drop:
            shutil.copy(pred_dir / name, dest / name)
    return dest


@pytest.mark.slow
def test_submission_with_missing_files_fails_naming_them(pred_dir, tmp_path, run_cli):
    partial = _partial_copy(pred_dir, tmp_path / "partial", ("WNLI", "AX"))
    zip_path = tmp_path / "sub.zip"
    code, out, err = run_cli("submission", "--predictions", partial, "-o", zip_path)
    assert code == 2
    assert "WNLI.tsv" in err and "AX.tsv" in err  # all problems, not just the first
    assert "missing" in err.lower()
    assert not zip_path.exists()


@pytest.mark.slow
def test_fill_missing_succeeds_and_warns(pred_dir, tmp_path, run_cli):
    partial = _partial_copy(pred_dir, tmp_path / "partial", ("WNLI", "STS-B"))
    zip_path = tmp_path / "sub.zip"
    code, out, err = run_cli("submission", "--predictions", partial, "-o", zip_path,
                             "--fill-missing")
    assert code == 0, err
    warned = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert any("WNLI.tsv" in ln for ln in warned), err
    assert any("STS-B.tsv" in ln for ln in warned), err
    with zipfile.ZipFile(zip_path) as zf:
        assert sorted(zf.namelist()) == sorted(FILES.values())
        wnli = zf.read("WNLI.tsv").decode().splitlines()
        stsb = zf.read("STS-B.tsv").decode().splitlines()
    assert wnli[0] == HEADER and len(wnli) - 1 == OFFICIAL_SIZES["WNLI"]
    assert {ln.split("\t")[1] for ln in wnli[1:]} <= set(BINARY)
    assert len(stsb) - 1 == OFFICIAL_SIZES["STS-B"]
    assert all(0.0 <= float(ln.split("\t")[1]) <= 5.0 for ln in stsb[1:])
    code, out, err = run_cli("validate", zip_path)
    assert code == 0, out + err


# ---- validate: negative cases -------------------------------------------------------------

def _zip(path: Path, contents: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    return path


def _edit_rows(data: bytes, edit) -> bytes:
    lines = data.decode("utf-8").splitlines()
    lines = edit(lines)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _swap_rows(lines: list[str]) -> list[str]:
    lines = list(lines)
    lines[10], lines[11] = lines[11], lines[10]  # data rows 9 and 10
    return lines


def _relabel(lines: list[str], row: int, value: str) -> list[str]:
    lines = list(lines)
    index = lines[row + 1].split("\t")[0]
    lines[row + 1] = f"{index}\t{value}"
    return lines


def _mentions(out: str, filename: str, *words: str) -> list[str]:
    """Output lines that name ``filename`` and contain every word (case-insensitive)."""
    return [ln for ln in out.splitlines()
            if filename in ln and all(w.lower() in ln.lower() for w in words)]


# Each case: (edit of the good members, [(file, words that must appear on one line), ...]).
CASES = {
    "subfolder": (
        lambda m: {f"submission/{n}": d for n, d in m.items()},
        [(name, ("folder",)) for name in FILES.values()],
    ),
    "missing_file": (
        lambda m: {n: d for n, d in m.items() if n != "WNLI.tsv"},
        [("WNLI.tsv", ("missing",))],
    ),
    "extra_file": (
        lambda m: {**m, "README.txt": b"my model\n"},
        [("README.txt", ("unexpected",))],
    ),
    "wrong_header": (
        lambda m: {**m, "SST-2.tsv": _edit_rows(m["SST-2.tsv"],
                                                lambda ls: ["id\tlabel", *ls[1:]])},
        [("SST-2.tsv", ("header",))],
    ),
    "wrong_row_count": (
        lambda m: {**m, "MRPC.tsv": _edit_rows(m["MRPC.tsv"], lambda ls: ls[:-1])},
        [("MRPC.tsv", ("1725",))],
    ),
    "unknown_label": (
        lambda m: {**m, "RTE.tsv": _edit_rows(m["RTE.tsv"],
                                              lambda ls: _relabel(ls, 5, "contradiction"))},
        [("RTE.tsv", ("contradiction",))],
    ),
    "out_of_order": (
        lambda m: {**m, "QNLI.tsv": _edit_rows(m["QNLI.tsv"], _swap_rows)},
        [("QNLI.tsv", ("order",))],
    ),
    "stsb_out_of_range": (
        lambda m: {**m, "STS-B.tsv": _edit_rows(m["STS-B.tsv"],
                                                lambda ls: _relabel(ls, 7, "5.25"))},
        [("STS-B.tsv", ("5.25",))],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_validate_rejects(case, members, tmp_path, run_cli):
    edit, expected = CASES[case]
    zip_path = _zip(tmp_path / f"{case}.zip", edit(members))
    code, out, err = run_cli("validate", zip_path)
    assert code == 2, out + err
    for filename, words in expected:
        assert _mentions(out, filename, *words), (filename, words, out)
    # The untouched files raise no complaint (CoLA is never edited by these cases).
    if case != "subfolder":
        assert not _mentions(out, "CoLA.tsv"), out


def test_validate_lists_all_problems_in_one_run(members, tmp_path, run_cli):
    bad = dict(members)
    bad["nested/CoLA.tsv"] = bad.pop("CoLA.tsv")                       # in a folder
    del bad["WNLI.tsv"]                                                # missing
    bad["notes.txt"] = b"hello\n"                                      # unexpected
    bad["SST-2.tsv"] = _edit_rows(bad["SST-2.tsv"], lambda ls: ["index,prediction", *ls[1:]])
    bad["MRPC.tsv"] = _edit_rows(bad["MRPC.tsv"], lambda ls: ls[:-3])  # 1722 rows
    bad["RTE.tsv"] = _edit_rows(bad["RTE.tsv"], lambda ls: _relabel(ls, 5, "maybe"))
    bad["QNLI.tsv"] = _edit_rows(bad["QNLI.tsv"], _swap_rows)
    bad["STS-B.tsv"] = _edit_rows(bad["STS-B.tsv"], lambda ls: _relabel(ls, 7, "-1.5"))
    bad["AX.tsv"] = _edit_rows(bad["AX.tsv"], lambda ls: _relabel(ls, 2, "not_entailment"))
    zip_path = _zip(tmp_path / "many.zip", bad)
    code, out, err = run_cli("validate", zip_path)
    assert code == 2, out + err
    expected = [
        ("nested/CoLA.tsv", ("folder",)),
        ("CoLA.tsv", ("missing",)),
        ("WNLI.tsv", ("missing",)),
        ("notes.txt", ("unexpected",)),
        ("SST-2.tsv", ("header",)),
        ("MRPC.tsv", ("1722", "1725")),
        ("RTE.tsv", ("maybe",)),
        ("QNLI.tsv", ("order",)),
        ("STS-B.tsv", ("-1.5",)),
        ("AX.tsv", ("not_entailment",)),
    ]
    missing = [(f, w) for f, w in expected if not _mentions(out, f, *w)]
    assert not missing, (missing, out)
    for untouched in ("QQP.tsv", "MNLI-m.tsv", "MNLI-mm.tsv"):
        assert not _mentions(out, untouched), out
    assert re.search(r"\d+ problem", err), err


def test_validate_not_a_zip(tmp_path, run_cli):
    path = tmp_path / "sub.zip"
    path.write_text("index\tprediction\n0\t1\n")
    code, out, err = run_cli("validate", path)
    assert code == 2
    assert "zip" in (out + err).lower()


def test_validate_nonexistent_path(tmp_path, run_cli):
    path = tmp_path / "nope.zip"
    code, out, err = run_cli("validate", path)
    assert code == 2
    assert "not found" in (out + err).lower()
