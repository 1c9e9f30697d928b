"""The strict JSON-lines reader: one object per line, every problem as ``FILE line N: ...``."""

from __future__ import annotations

import json

import pytest

from gluebench.errors import DataError
from gluebench.formats.jsonl import MAX_DEPTH, parse_jsonl, read_jsonl


def test_records_with_their_line_numbers(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"idx": 0, "label": true}\r\n{"idx": "1", "label": "False"}\n')
    assert read_jsonl(path) == [(1, {"idx": 0, "label": True}),
                                (2, {"idx": "1", "label": "False"})]


def test_last_line_without_newline_and_trailing_blank_lines():
    # SuperGLUE's test files end without a newline; an editor may add blank lines.
    assert parse_jsonl(b'{"a": 1}', "x") == [(1, {"a": 1})]
    assert parse_jsonl(b'{"a": 1}\n\n  \n', "x") == [(1, {"a": 1})]


def test_a_bom_at_the_start_is_dropped_and_refused_elsewhere():
    assert parse_jsonl(b'\xef\xbb\xbf{"a": 1}\n', "x") == [(1, {"a": 1})]
    with pytest.raises(DataError, match=r"x line 2: byte-order mark inside the file"):
        parse_jsonl(b'{"a": 1}\n\xef\xbb\xbf{"a": 2}\n', "x")


BAD = {
    b'{"a": 1} x': r"line 1: unexpected text 'x' after the JSON object at column 10",
    b'{"a": 1}{"a": 2}': r"line 1: unexpected text '\{\"a\": 2\}' after the JSON object",
    b'[1, 2]': r"line 1: found a JSON array; expected a JSON object",
    b'"text"': r"line 1: found a JSON string; expected a JSON object",
    b'{"a": 1, "a": 2}': r"line 1: duplicate key 'a' in one object",
    b'{"a": NaN}': r"line 1: NaN is not a JSON number; expected a finite number",
    b'{"a": Infinity}': r"line 1: Infinity is not a JSON number",
    b'{"a": 1,}': r"line 1: not valid JSON \(.* at column 9\); expected one JSON object per line",
    b'{"a": 1}\n\n{"a": 2}': r"line 2: blank line; expected one JSON object per line",
    b'{"a": "caf\xe9"}': r"line 1: not valid UTF-8 \(byte 10 of the line\)",
    b'{"a": ' + b"9" * 5000 + b'}': r"line 1: not valid JSON \(Exceeds the limit",
    b'{"a": "x\ty"}': r"line 1: not valid JSON \(Invalid control character",
    b'{"a": 1}\n{"b": ': r"line 2: not valid JSON",
}


@pytest.mark.parametrize("raw", list(BAD), ids=[str(i) for i in range(len(BAD))])
def test_each_problem_is_one_line_naming_file_and_line(raw):
    with pytest.raises(DataError, match=BAD[raw]) as caught:
        parse_jsonl(raw, "data/x.jsonl")
    assert str(caught.value).startswith("data/x.jsonl line ")
    assert "\n" not in str(caught.value)


def test_nesting_is_bounded():
    deep = b'{"a": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}"
    with pytest.raises(DataError, match=rf"nested {MAX_DEPTH + 1} levels deep"):
        parse_jsonl(deep, "x")
    with pytest.raises(DataError, match="nested too deeply"):
        parse_jsonl(b"[" * 200_000, "x")  # Python's own recursion limit, caught


def test_long_lines_and_many_lines_are_refused_before_parsing():
    with pytest.raises(DataError, match=r"line 1: line of 30 bytes; expected at most 20"):
        parse_jsonl(b'{"a": "' + b"x" * 21 + b'"}', "x", max_line_bytes=20)
    with pytest.raises(DataError, match=r"x: 3 lines; expected at most 2"):
        parse_jsonl(b'{}\n{}\n{}\n', "x", max_lines=2)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_jsonl(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="not a file"):
        read_jsonl(tmp_path)


def test_agrees_with_json_on_valid_lines():
    records = [{"idx": i, "text": "naïve \u2028 \"q\"", "f": 0.5, "n": None, "l": [1, {"b": 2}]}
               for i in range(5)]
    raw = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()
    assert [r for _, r in parse_jsonl(raw, "x")] == records
