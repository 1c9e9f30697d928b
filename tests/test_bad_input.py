"""Bad input through the CLI: every case is ONE ``error:`` line on stderr, exit code 2.

Each test builds a correct prediction folder with ``gluebench baseline majority`` on the
real data, corrupts one thing, runs ``gluebench score`` in process and checks that the
message names the file (and the line, where there is one) and says what was expected.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gluebench.benchmark.tasks import TASKS

RTE_DEV = TASKS["RTE"].files["dev"].size      # 277
STSB_DEV = TASKS["STS-B"].files["dev"].size   # 1500


def assert_one_error(code: int, out: str, err: str, *fragments: str) -> str:
    """Exit 2, stderr exactly one ``error:`` line holding every fragment; no traceback."""
    assert code == 2, f"exit code {code}; stderr:\n{err}"
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected exactly one stderr line, got {len(lines)}:\n{err}"
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


@pytest.fixture
def make_preds(run_cli, glue_dir, tmp_path):
    """Write correct majority-baseline dev predictions for ``task``; return the file."""

    def make(task: str, name: str = "pred") -> Path:
        out = tmp_path / name
        code, _, err = run_cli("baseline", "majority", "--data-dir", glue_dir,
                               "--tasks", task, "-o", out)
        assert code == 0, err
        return out / f"{task}.tsv"

    return make


@pytest.fixture
def score(run_cli, glue_dir):
    """``gluebench score`` on a prediction folder (real data unless ``data_dir`` is given)."""

    def run(pred_dir, data_dir=None):
        return run_cli("score", "--data-dir", data_dir or glue_dir, "--predictions", pred_dir,
                       "--resamples", "10")

    return run


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def set_row(path: Path, file_line: int, text: str) -> None:
    """Replace the row on 1-based ``file_line`` (line 1 is the header)."""
    lines = lines_of(path)
    lines[file_line - 1] = text
    write_lines(path, lines)


def test_correct_predictions_score_cleanly(make_preds, score):
    """The starting point of every corruption below is accepted."""
    pred = make_preds("RTE")
    assert len(lines_of(pred)) == RTE_DEV + 1
    code, out, err = score(pred.parent)
    assert code == 0, err
    assert err == ""


# ---- prediction files ----------------------------------------------------------------------

def test_wrong_row_count(make_preds, score):
    pred = make_preds("RTE")
    write_lines(pred, lines_of(pred)[:101])  # header + 100 rows
    assert_one_error(*score(pred.parent), str(pred), "100 rows", f"expected {RTE_DEV}")


def test_duplicate_index(make_preds, score):
    pred = make_preds("RTE")
    set_row(pred, 7, "4\tentailment")  # line 7 held index 5; index 4 is on line 6
    assert_one_error(*score(pred.parent), f"{pred} line 7", "duplicate index 4",
                     "first on line 6")


def test_missing_index(make_preds, score):
    """The row of example 5 is deleted: one example has no prediction."""
    pred = make_preds("RTE")
    lines = lines_of(pred)
    del lines[6]  # file line 7 = index 5
    write_lines(pred, lines)
    assert_one_error(*score(pred.parent), str(pred), f"expected {RTE_DEV}")


def test_index_out_of_range(make_preds, score):
    pred = make_preds("RTE")
    last = RTE_DEV + 1  # file line of index 276
    set_row(pred, last, f"{RTE_DEV}\tentailment")
    assert_one_error(*score(pred.parent), f"{pred} line {last}", f"index {RTE_DEV}",
                     f"out of range 0..{RTE_DEV - 1}")


@pytest.mark.parametrize(("line", "row", "fragments"), [
    pytest.param(9, "\tentailment", ["index ''", "not a non-negative integer"],
                 id="empty-index"),
    *(pytest.param(4, f"{bad}\tentailment", [f"index '{bad}'", "not a non-negative integer"],
                   id=f"non-integer-index-{bad}") for bad in ["two", "2.0", "-2", "0x2"]),
    pytest.param(12, "10\tentail", ["unknown label 'entail'",
                                     "expected one of: entailment, not_entailment"],
                 id="unknown-label"),
    # A class id instead of the label name (RTE predictions are words, not 0/1).
    pytest.param(3, "1\t0", ["unknown label '0'", "expected one of: entailment, not_entailment"],
                 id="unknown-label-wrong-vocabulary"),
])
def test_bad_row(make_preds, score, line, row, fragments):
    pred = make_preds("RTE")
    set_row(pred, line, row)
    assert_one_error(*score(pred.parent), f"{pred} line {line}", *fragments)


@pytest.mark.parametrize("bad", ["nan", "NaN", "high", "3,5", ""])
def test_stsb_nan_or_non_numeric(make_preds, score, bad):
    pred = make_preds("STS-B")
    set_row(pred, 20, f"18\t{bad}")
    assert_one_error(*score(pred.parent), f"{pred} line 20", f"prediction '{bad}'",
                     "not a finite number")


@pytest.mark.parametrize("bad", ["inf", "-inf", "Infinity"])
def test_stsb_infinite(make_preds, score, bad):
    pred = make_preds("STS-B")
    set_row(pred, STSB_DEV + 1, f"{STSB_DEV - 1}\t{bad}")
    assert_one_error(*score(pred.parent), f"{pred} line {STSB_DEV + 1}",
                     f"prediction '{bad}'", "not a finite number")


@pytest.mark.parametrize("content", ["", "\n\n"], ids=["zero-bytes", "blank-lines"])
def test_empty_prediction_file(make_preds, score, content):
    pred = make_preds("RTE")
    pred.write_text(content, encoding="utf-8")
    assert_one_error(*score(pred.parent), str(pred), "empty file",
                     "expected the header 'index<TAB>prediction'")


@pytest.mark.parametrize("header", ["idx\tlabel", "index,prediction", "0\tentailment"])
def test_wrong_header(make_preds, score, header):
    pred = make_preds("RTE")
    set_row(pred, 1, header)
    assert_one_error(*score(pred.parent), f"{pred} line 1",
                     "expected 'index<TAB>prediction'")


def test_header_missing(make_preds, score):
    """The header line is dropped altogether: the first data row is read as the header."""
    pred = make_preds("RTE")
    write_lines(pred, lines_of(pred)[1:])
    assert_one_error(*score(pred.parent), f"{pred} line 1",
                     "expected 'index<TAB>prediction'")


def test_extra_columns(make_preds, score):
    pred = make_preds("RTE")
    set_row(pred, 5, "3\tentailment\t0.93")
    assert_one_error(*score(pred.parent), f"{pred} line 5",
                     "expected 2 tab-separated fields (index, prediction), found 3")


def test_non_utf8_prediction_file(make_preds, score):
    pred = make_preds("RTE")
    raw = pred.read_bytes().split(b"\n")
    raw[6] = b"5\tentailment\xe9"  # file line 7, Latin-1 byte
    pred.write_bytes(b"\n".join(raw))
    assert_one_error(*score(pred.parent), f"{pred} line 7", "not valid UTF-8")


# ---- folders and names ---------------------------------------------------------------------

def test_missing_data_directory(make_preds, score, tmp_path):
    pred = make_preds("RTE")
    missing = tmp_path / "no-such-glue"
    assert_one_error(*score(pred.parent, data_dir=missing), str(missing),
                     "data directory not found", "expected the official GLUE layout")


def test_missing_predictions_folder(score, tmp_path):
    missing = tmp_path / "no-such-predictions"
    assert_one_error(*score(missing), str(missing), "predictions folder not found")


def test_folder_without_submission_files(score, tmp_path):
    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "notes.txt").write_text("model v3\n", encoding="utf-8")
    assert_one_error(*score(folder), str(folder), "no prediction files",
                     "expected some of:", "RTE.tsv", "MNLI-m.tsv")


def test_folder_with_only_misnamed_tsv_files(score, tmp_path):
    """``rte.tsv`` (wrong case) is not ``RTE.tsv``: still exactly one line on stderr."""
    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "rte.tsv").write_text("index\tprediction\n0\tentailment\n", encoding="utf-8")
    assert_one_error(*score(folder), str(folder), "no prediction files",
                     "expected some of:", "RTE.tsv")


def test_unknown_task_name(run_cli, glue_dir, tmp_path):
    code, out, err = run_cli("baseline", "majority", "--data-dir", glue_dir,
                             "--tasks", "SST3", "-o", tmp_path / "out")
    assert_one_error(code, out, err, "'SST3'", "Did you mean 'SST-2'?")
    assert not (tmp_path / "out").exists()


# ---- data files ----------------------------------------------------------------------------

@pytest.fixture
def data_copy(glue_dir, tmp_path):
    """A copy of one task folder of the real data in a fresh data directory."""

    def copy(task: str) -> tuple[Path, Path]:
        root = tmp_path / "glue"
        shutil.copytree(glue_dir / task, root / task)
        return root, root / TASKS[task].files["dev"].path

    return copy


def test_malformed_data_row(make_preds, score, data_copy):
    pred = make_preds("RTE")
    root, dev = data_copy("RTE")
    lines = lines_of(dev)
    fields = lines[9].split("\t")  # file line 10
    lines[9] = "\t".join([fields[0], fields[1] + " " + fields[2], fields[3]])
    write_lines(dev, lines)
    assert_one_error(*score(pred.parent, data_dir=root), f"{dev} line 10",
                     "expected 4 tab-separated fields (index, sentence1, sentence2, label)",
                     "found 3")


def test_malformed_data_row_headerless_file(make_preds, score, data_copy):
    """CoLA dev has no header line: its first row is line 1, so row 5 is line 5."""
    pred = make_preds("CoLA")
    root, dev = data_copy("CoLA")
    raw = dev.read_bytes().split(b"\n")
    raw[4] = raw[4] + b"\textra"
    dev.write_bytes(b"\n".join(raw))
    assert_one_error(*score(pred.parent, data_dir=root), f"{dev} line 5",
                     "expected 4 tab-separated fields", "found 5")


def test_data_file_missing_column(make_preds, score, data_copy):
    pred = make_preds("RTE")
    root, dev = data_copy("RTE")
    set_row(dev, 1, "index\tsentence1\tsentence2\tgold")
    assert_one_error(*score(pred.parent, data_dir=root), f"{dev} line 1",
                     "missing column(s) label")


@pytest.mark.parametrize(("task", "line", "gold", "fragments"), [
    pytest.param("RTE", 10, "entails", ["unknown label 'entails'",
                                        "expected one of: entailment, not_entailment"],
                 id="unknown-gold-label"),
    pytest.param("STS-B", 3, "n/a", ["score 'n/a'", "not a finite number"],
                 id="non-finite-gold-score"),
])
def test_bad_gold_label(make_preds, score, data_copy, task, line, gold, fragments):
    pred = make_preds(task)
    root, dev = data_copy(task)
    lines = lines_of(dev)
    fields = lines[line - 1].split("\t")
    lines[line - 1] = "\t".join([*fields[:-1], gold])  # the label is the last column
    write_lines(dev, lines)
    assert_one_error(*score(pred.parent, data_dir=root), f"{dev} line {line}", *fragments)


def test_non_utf8_data_file(make_preds, score, data_copy):
    pred = make_preds("RTE")
    root, dev = data_copy("RTE")
    raw = dev.read_bytes().split(b"\n")
    raw[9] = raw[9].replace(b" ", " caf\u00e9 ".encode("latin-1"), 1)  # file line 10
    dev.write_bytes(b"\n".join(raw))
    assert_one_error(*score(pred.parent, data_dir=root), f"{dev} line 10",
                     "not valid UTF-8")


def test_data_file_missing_for_task(make_preds, score, data_copy):
    """The data directory exists but has no RTE/dev.tsv."""
    pred = make_preds("RTE")
    root, dev = data_copy("RTE")
    dev.unlink()
    assert_one_error(*score(pred.parent, data_dir=root), str(root), "RTE/dev.tsv",
                     "not found")


def test_bad_file_fails_before_other_tasks_print(make_preds, score, run_cli, glue_dir):
    """STS-B (scored first) would warn about its constant prediction; the bad RTE file must
    stop the run before that, so stderr is the error line alone."""
    pred = make_preds("RTE")
    run_cli("baseline", "majority", "--data-dir", glue_dir, "--tasks", "STS-B",
            "-o", pred.parent)
    set_row(pred, 2, "0\tentail")
    assert_one_error(*score(pred.parent), f"{pred} line 2", "unknown label 'entail'")
