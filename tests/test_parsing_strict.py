"""Strict, bounded parsing: what Python's int()/float() would let through is refused, each
refusal is one line quoting at most ~80 characters, stray line endings are named, STS-B
values outside [0, 5] are clipped with one warning, correlations stay exact at any scale,
and a folder of misnamed files gives one warning.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gluebench.benchmark import metrics
from gluebench.benchmark.predictions import check_predictions, max_file_bytes, write_predictions
from gluebench.benchmark.sources import load, read_split
from gluebench.benchmark.tasks import BENCHMARKS, TASKS
from gluebench.errors import DataError

RTE, STSB = BENCHMARKS["RTE"], BENCHMARKS["STS-B"]
RTE_DEV = 277  # official sizes, written out as an oracle
STSB_DEV = 1500


def rte_file(rows: list[str]) -> bytes:
    """An RTE dev prediction file: the given rows first, then correct rows to 276."""
    heads = (r.split("\t")[0] for r in rows)
    given = {int(h) for h in heads if h.isascii() and h.isdigit() and len(h) < 9}
    rest = [f"{i}\tentailment" for i in range(RTE_DEV) if i not in given]
    return ("index\tprediction\n" + "\n".join([*rows, *rest]) + "\n").encode()


def problems_of(raw: bytes, benchmark=RTE, size=RTE_DEV) -> list[str]:
    preds, problems = check_predictions("p.tsv", benchmark, size, raw=raw)
    assert (preds is None) == bool(problems)
    return [str(p) for p in problems]


def one_problem(raw: bytes, benchmark=RTE, size=RTE_DEV) -> str:
    found = problems_of(raw, benchmark, size)
    assert len(found) == 1, found
    assert "\n" not in found[0]
    return found[0]


# ---- indices: ASCII digits only ----------------------------------------------------------

@pytest.mark.parametrize("index", ["007", "0", "276"])
def test_plain_indices_are_read(index):
    raw = rte_file([f"{index}\tentailment"])
    preds, problems = check_predictions("p.tsv", RTE, RTE_DEV, raw=raw)
    assert problems == [] and int(index) in preds.index


@pytest.mark.parametrize("index", [
    "0_1",        # int() accepts digit grouping
    "\u0661",     # ARABIC-INDIC DIGIT ONE: int() reads it as 1
    "\uff11",     # FULLWIDTH DIGIT ONE
    "\u00b9",     # SUPERSCRIPT ONE: str.isdigit() is True
    "+1", "-0", " 1", "1 ", "\u20091", "1.0", "1e0", "0x1", "",
])
def test_tricky_indices_are_refused(index):
    line = one_problem(rte_file([f"{index}\tentailment"]))
    assert "p.tsv line 2: index '" in line and "not a non-negative integer" in line, line


def test_an_enormous_index_is_refused_without_converting_it():
    line = one_problem(rte_file(["9" * 5000 + "\tentailment"]))
    assert "too large (5000 digits)" in line
    assert len(line) < 200  # the index is quoted, not printed in full


# ---- values: plain decimals; labels spelled exactly --------------------------------------

def stsb_file(value: str, at: int = 7) -> bytes:
    rows = [f"{i}\t{value if i == at else '2.5'}" for i in range(STSB_DEV)]
    return ("index\tprediction\n" + "\n".join(rows) + "\n").encode()


@pytest.mark.parametrize(("text", "value"), [
    ("3.8", 3.8), ("-0.5", -0.5), ("1e-3", 1e-3), ("5.", 5.0), (".5", 0.5), ("+1.0", 1.0),
    ("2E+0", 2.0), ("0004.2", 4.2),
])
def test_plain_numbers_are_read(text, value):
    preds, problems = check_predictions("p.tsv", STSB, STSB_DEV, raw=stsb_file(text))
    assert problems == [] and preds.values[7] == value


@pytest.mark.parametrize("text", [
    "2_5", "nan", "NaN", "inf", "-Infinity", "1e999", "0x1p1", "\u0662.\u0665", " 2.5",
    "2.5 ", "2,5", "", "e3", "1e", ".", "2.5\x85", "\uff12",
])
def test_tricky_numbers_are_refused(text):
    line = one_problem(stsb_file(text), STSB, STSB_DEV)
    assert line.startswith("p.tsv line 9: prediction '") and "not a finite number" in line, line


def test_labels_must_be_spelled_exactly():
    line = one_problem(rte_file(["5\tentailment "]))
    assert "has whitespace around it" in line and "entailment, not_entailment" in line
    line = one_problem(rte_file(["5\tEntailment"]))
    assert "unknown label 'Entailment'" in line


def test_long_offending_text_is_quoted_to_80_characters():
    line = one_problem(rte_file(["5\t" + "x" * 10_000]))
    quoted = line.split("'")[1]
    assert quoted == "x" * 80 + "..."
    assert len(line) < 200


def test_control_characters_are_escaped_in_messages():
    line = one_problem(rte_file(["5\tentail\x1b[31mment"]))
    assert "\x1b" not in line and "\\x1b" in line


# ---- line endings ---------------------------------------------------------------------------

def test_crlf_is_a_line_ending():
    raw = rte_file([]).replace(b"\n", b"\r\n")
    assert problems_of(raw) == []


def test_a_file_with_lone_cr_line_endings_says_so():
    raw = rte_file([]).replace(b"\n", b"\r")
    line = one_problem(raw)
    assert "p.tsv line 1: header is 'index<TAB>prediction\\r0<TAB>entailment" in line, line
    assert "lone CR (carriage return)" in line and "LF or CRLF" in line
    assert len(line) < 300


@pytest.mark.parametrize(("char", "name"), [
    ("\u2028", "U+2028 (line separator)"), ("\x85", "U+0085 (NEL, next line)"),
    ("\u2029", "U+2029 (paragraph separator)"), ("\x0b", "a vertical tab"),
    ("\r", "a lone CR"),
])
def test_a_stray_line_ending_inside_a_field_is_named(char, name):
    # str.splitlines() would break this row in two; the file's real lines end only at LF.
    line = one_problem(rte_file([f"5\tentail{char}ment"]))
    assert "p.tsv line 2:" in line and name in line, line


def test_a_stray_line_ending_in_gold_data_is_named(tmp_path, glue_dir):
    lines = (glue_dir / "RTE" / "dev.tsv").read_text(encoding="utf-8").split("\n")
    fields = lines[4].split("\t")
    lines[4] = "\t".join(fields[:2]) + "\u2028" + "\t".join(fields[2:])  # one tab fewer
    path = tmp_path / "dev.tsv"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match=r"line 5: .*found 3 \(the line holds U\+2028"):
        read_split(TASKS["RTE"], "dev", path)


# ---- the same strictness for gold data ---------------------------------------------------

@pytest.mark.parametrize(("task", "column", "bad", "fragment"), [
    ("RTE", 0, "1_0", "index '1_0' is not a non-negative integer"),
    ("RTE", 0, "\u0661\u0660", "not a non-negative integer"),
    ("STS-B", -1, "2_5", "score '2_5' is not a finite number"),
    ("STS-B", -1, "nan", "score 'nan' is not a finite number"),
])
def test_gold_files_are_read_as_strictly(tmp_path, glue_dir, task, column, bad, fragment):
    lines = (glue_dir / task / "dev.tsv").read_text(encoding="utf-8").split("\n")
    fields = lines[3].split("\t")
    fields[column] = bad
    lines[3] = "\t".join(fields)
    path = tmp_path / "dev.tsv"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match="line 4: .*" + fragment):
        read_split(TASKS[task], "dev", path)


# ---- bounded reading -------------------------------------------------------------------------

def test_a_file_too_large_for_its_rows_is_refused_unread(tmp_path):
    path = tmp_path / "RTE.tsv"
    path.write_bytes(rte_file([]) + b" " * max_file_bytes(RTE_DEV))
    preds, problems = check_predictions(path, RTE, RTE_DEV)
    assert preds is None and len(problems) == 1
    assert f"more than a file of {RTE_DEV} rows can hold" in str(problems[0])


def test_a_file_with_far_too_many_lines_is_refused_before_parsing():
    line = one_problem(rte_file([]) + b"\n" * 5000)
    assert "5278 lines; expected the header and 277 rows" in line


def test_many_bad_rows_give_ten_problems_and_a_count():
    raw = rte_file([f"{i}\tmaybe" for i in range(200)])
    found = problems_of(raw)
    assert len(found) == 11
    assert found[-1] == "p.tsv: ... and 190 more problem(s) in this file"


def test_trailing_blank_lines_are_dropped_but_inner_ones_are_problems():
    assert problems_of(rte_file([]) + b"\n \n\t\n") == []
    raw = rte_file([]).replace(b"\n5\t", b"\n\n5\t", 1)
    assert problems_of(raw) == ["p.tsv line 7: expected 2 tab-separated fields "
                                "(index, prediction), found 1"]


# ---- STS-B out of range in `score`: clipped, one warning with the count ----------------------

def test_score_clips_stsb_like_the_server_with_one_warning(glue_dir, tmp_path, run_cli):
    gold = load("STS-B", "dev", glue_dir).labels
    rng = np.random.default_rng(3)
    pred = np.round(np.clip(gold + rng.normal(0, 1, len(gold)), 0, 5), 3)
    pred[[4, 50, 700, 1499]] = [-1.0, 5.5, 17.0, -0.25]
    write_predictions(tmp_path / "p" / "STS-B.tsv", TASKS["STS-B"], np.arange(len(gold)), pred)
    code, out, err = run_cli("score", "--data-dir", glue_dir, "--predictions", tmp_path / "p",
                             "--resamples", "10", "--json", tmp_path / "r.json")
    assert code == 0, err
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1, err
    assert "4 STS-B prediction(s) outside [0, 5] clipped" in warnings[0]
    import json

    result = json.loads((tmp_path / "r.json").read_text())["tasks"]["STS-B"]
    clipped = np.clip(pred, 0, 5)
    assert result["pearson"] == pytest.approx(stats.pearsonr(gold, clipped)[0], abs=1e-12)
    assert result["spearman"] == pytest.approx(stats.spearmanr(gold, clipped)[0], abs=1e-12)


# ---- correlations exact at any finite scale --------------------------------------------------

@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(11)
    a = rng.normal(size=400)
    return a, a + rng.normal(size=400)


@pytest.mark.parametrize("scale", [1e300, 1e-300, 1e150, 1e-150, 1.0])
def test_pearson_against_scipy_on_scaled_data(pair, scale):
    a, b = pair[0] * scale, pair[1] * scale
    assert metrics.pearson(a, b) == pytest.approx(stats.pearsonr(a, b)[0], rel=1e-12)
    assert metrics.pearson(a, pair[1]) == pytest.approx(stats.pearsonr(*pair)[0], rel=1e-12)
    assert metrics.spearman(a, b) == pytest.approx(stats.spearmanr(a, b)[0], rel=1e-12)


@pytest.mark.parametrize("scale", [1e307, 1e308 / 8])
def test_pearson_is_exact_where_products_would_overflow(pair, scale):
    # Even the values' sum overflows here; the scale-free answer is the unscaled one.
    a, b = pair[0] * scale, pair[1] * scale
    assert np.isfinite(a).all()
    r = metrics.pearson(a, b)
    assert r == pytest.approx(stats.pearsonr(*pair)[0], rel=1e-12)


def test_batched_pearson_is_exact_per_row(pair):
    rows = np.stack([pair[0] * 1e300, pair[0] * 1e-300, pair[0]])
    got = metrics.pearson_batched(rows, np.stack([pair[1]] * 3))
    np.testing.assert_allclose(got, stats.pearsonr(*pair)[0], rtol=1e-12)


# ---- a folder of misnamed files: one warning -------------------------------------------------

def test_many_misnamed_files_give_one_summary_warning(glue_dir, tmp_path, run_cli):
    folder = tmp_path / "preds"
    code, _, err = run_cli("baseline", "majority", "--data-dir", glue_dir, "--tasks", "RTE",
                           "-o", folder)
    assert code == 0, err
    for i in range(30):
        (folder / f"rte_seed{i}.tsv").write_text("index\tprediction\n")
    code, out, err = run_cli("score", "--data-dir", glue_dir, "--predictions", folder,
                             "--resamples", "10")
    assert code == 0, err
    warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(warnings) == 1, err
    assert "30 .tsv files ignored" in warnings[0] and "'rte_seed0.tsv'" in warnings[0]
    assert "and 25 more" in warnings[0]
