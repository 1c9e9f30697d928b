"""Property-based tests: arbitrary bytes into the prediction parser, the TSV (gold data)
reader and the zip validator give either a result or one-line problems, never another
exception; valid files read back exactly.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gluebench.benchmark.predictions import check_predictions, predictions_text, read_predictions
from gluebench.benchmark.sources import read_split
from gluebench.benchmark.submission import inspect_submission
from gluebench.benchmark.tasks import BENCHMARKS, TASKS
from gluebench.errors import DataError
from gluebench.formats.fields import parse_index, parse_number

# Modest by default to keep the suite fast; GLUEBENCH_HYPOTHESIS_EXAMPLES=5000 hunts longer.
EXAMPLES = int(os.environ.get("GLUEBENCH_HYPOTHESIS_EXAMPLES", "60"))
FAST = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ENTRIES = [BENCHMARKS["RTE"], BENCHMARKS["STS-B"], BENCHMARKS["MNLI-m"]]

# Text that looks like a prediction file, with the characters that trip parsers.
PIECES = st.sampled_from(["index", "prediction", "\t", "\n", "\r\n", "\r", "0", "1", "2", "07",
                          "-1", "+1", "1_0", "\u0661", "\uff11", "2.5", "1e3", "nan", "inf",
                          " ", "entailment", "not_entailment", "neutral", "\u2028", "\x85",
                          "\ufeff", "\x00", "\U0001F600", "\xe9"])
FILE_LIKE = st.lists(PIECES, max_size=60).map(lambda parts: "".join(parts).encode("utf-8"))
ANY_BYTES = st.binary(max_size=400) | FILE_LIKE


def assert_one_line(problem) -> None:
    text = str(problem)
    assert text and "\n" not in text and "\r" not in text, text
    assert len(text) < 500, text


@FAST
@given(raw=ANY_BYTES, entry=st.sampled_from(ENTRIES),
       size=st.one_of(st.none(), st.integers(0, 5)))
def test_prediction_parser_gives_a_result_or_one_line_problems(raw, entry, size):
    preds, problems = check_predictions("p.tsv", entry, size, raw=raw)
    assert (preds is None) == bool(problems)
    for p in problems:
        assert isinstance(p, DataError)
        assert_one_line(p)
    if preds is not None:
        assert len(preds.index) == len(preds.values) == len(set(preds.index.tolist()))
        if size is not None:
            assert sorted(preds.index.tolist()) == list(range(size))
        if TASKS[entry.task].is_regression:
            assert np.isfinite(preds.values).all()


@FAST
@given(raw=ANY_BYTES)
def test_reading_a_prediction_file_raises_only_one_data_error(raw):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "RTE.tsv"
        path.write_bytes(raw)
        try:
            read_predictions(path, BENCHMARKS["RTE"], 3)
        except DataError as exc:
            assert_one_line(exc)


@FAST
@given(entry=st.sampled_from(ENTRIES), data=st.data())
def test_written_predictions_read_back_exactly(entry, data):
    task = TASKS[entry.task]
    n = data.draw(st.integers(1, 40))
    if task.is_regression:
        values = np.array(data.draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n)))
    else:
        values = np.array(data.draw(st.lists(st.integers(0, len(task.labels) - 1),
                                             min_size=n, max_size=n)))
    order = np.array(data.draw(st.permutations(range(n))))
    text = predictions_text(task, order, values)
    crlf = data.draw(st.booleans())
    raw = (text.replace("\n", "\r\n") if crlf else text).encode()
    preds, problems = check_predictions("p.tsv", entry, n, raw=raw)
    assert problems == []
    back = dict(zip(preds.index.tolist(), preds.values.tolist(), strict=True))
    for i, v in zip(order.tolist(), values.tolist(), strict=True):
        expected = float(f"{v:.6g}") if task.is_regression else v
        assert back[i] == expected


@FAST
@given(text=st.text(max_size=30))
def test_an_index_is_exactly_ascii_digits(text):
    try:
        value = parse_index(text)
    except ValueError as exc:
        assert_one_line(exc)
        assert not (text.isascii() and text.isdigit() and len(text) <= 18)
    else:
        assert text.isascii() and text.isdigit() and value == int(text)


@FAST
@given(text=st.text(max_size=30) | st.floats(allow_nan=True).map(repr))
def test_a_number_is_a_plain_finite_decimal(text):
    try:
        value = parse_number(text)
    except ValueError as exc:
        assert_one_line(exc)
    else:
        assert np.isfinite(value) and value == float(text)
        assert text.isascii() and "_" not in text and text.strip() == text
        assert not any(c in text.lower() for c in "xnaif")


@FAST
@given(raw=ANY_BYTES, task=st.sampled_from([TASKS["RTE"], TASKS["STS-B"], TASKS["CoLA"]]))
def test_gold_tsv_reader_gives_examples_or_one_data_error(raw, task):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dev.tsv"
        path.write_bytes(raw)
        try:
            examples = read_split(task, "dev", path)
        except DataError as exc:
            assert_one_line(exc)
        else:
            assert len(examples.index) == len(examples)


# ---- the zip validator --------------------------------------------------------------------

def small_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


SMALL = {b.submission_file: predictions_text(TASKS[b.task], np.arange(3), np.zeros(3)).encode()
         for b in BENCHMARKS.values()}
SMALL_ZIP = small_zip(SMALL)


def assert_check(check, label="upload") -> None:
    for p in check.problems:
        assert_one_line(p)
        assert p.startswith(label), p
    assert len(check.problems) <= 41
    assert check.problems or len(check.predictions) == len(BENCHMARKS)


@FAST
@given(raw=st.binary(max_size=600) | st.just(b"PK\x05\x06" + bytes(18)))
def test_validator_on_arbitrary_bytes(raw):
    assert_check(inspect_submission(raw, split="dev"))


@FAST
@given(edits=st.lists(st.tuples(st.integers(0, len(SMALL_ZIP) - 1), st.integers(0, 255)),
                      min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.integers(0, len(SMALL_ZIP))))
def test_validator_on_a_corrupted_zip(edits, cut):
    raw = bytearray(SMALL_ZIP)
    for at, value in edits:
        raw[at] = value
    check = inspect_submission(bytes(raw[:cut]), split="dev")
    assert_check(check)


# zipfile cuts a member name at its first NUL, so a name starting with one cannot be written.
NAME_CHARS = st.characters(codec="utf-8", exclude_characters="\x00")


@FAST
@given(members=st.dictionaries(st.text(NAME_CHARS, min_size=1, max_size=20)
                               | st.sampled_from(list(SMALL)),
                               ANY_BYTES, max_size=6))
def test_validator_on_zips_of_arbitrary_members(members):
    check = inspect_submission(small_zip(members), split="test", label="z.zip")
    assert_check(check, "z.zip")
    assert check.problems  # never OK: no member set here has the official sizes


@settings(max_examples=max(EXAMPLES // 2, 25), deadline=None)
@given(raw=st.binary(max_size=300) | st.sampled_from([SMALL_ZIP, SMALL_ZIP[:200]]))
def test_validate_command_prints_problems_never_a_traceback(raw):
    from gluebench.cli import main

    fd, name = tempfile.mkstemp(suffix=".zip")
    with os.fdopen(fd, "wb") as out:
        out.write(raw)
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["validate", name])
    finally:
        os.unlink(name)
    assert code == 2  # none of these is a test-sized submission
    assert "Traceback" not in stdout.getvalue() + stderr.getvalue()
    assert "OK" not in stdout.getvalue()
    lines = stdout.getvalue().splitlines()
    assert lines and all(line.startswith(name) for line in lines)
    assert stderr.getvalue().splitlines() == [f"{len(lines)} problem(s) found in {name}"]
