"""``check_suite``: every bad suite file is one error line that names the key.

Each case starts from a small valid suite and breaks one thing.
"""

from __future__ import annotations

import re

import pytest

from gluebench.benchmark.suite_loader import MAX_SUITE_BYTES, check_suite
from gluebench.errors import DataError

VALID = """\
[suite]
name = "mini"

[aggregate]
name = "mini_score"
groups = ["A"]

[submission]
format = "tsv"

[tasks.A]
input_fields = ["sentence"]
labels = ["0", "1"]
read = { inputs = ["sentence"], label = "label" }

[tasks.A.files]
dev = { path = "A/dev.tsv", size = 3 }
test = { path = "A/test.tsv", size = 3, label = false }

[entries.A]
metrics = ["accuracy"]
group = "A"
"""


OTHER = """
[tasks.A2]
input_fields = ["s"]
labels = ["x", "y"]
files.dev = { path = "M.tsv", size = 1, inputs = ["s"] }
"""


def write(tmp_path, text: str | bytes):
    path = tmp_path / "suite.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def broken(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


def test_the_valid_suite_loads(tmp_path):
    suite = check_suite(write(tmp_path, VALID))
    assert suite.entries["A"].submission_file == "A.tsv"
    assert suite.tasks["A"].files["test"].label_column is None


CASES = {
    "unknown metric": (broken('metrics = ["accuracy"]', 'metrics = ["acuracy"]'),
                       r"entries\.A\.metrics\[0\]: unknown metric 'acuracy'\. Did you mean "
                       r"'accuracy'\?"),
    "missing key": (broken('input_fields = ["sentence"]\n', ""),
                    r"tasks\.A\.input_fields: missing key; expected an array of strings"),
    "wrong type": (broken("size = 3 }", 'size = "3" }'),
                   r"tasks\.A\.files\.dev\.size: expected a whole number from 1 to 100000000, "
                   r"found the string '3'"),
    "boolean for a number": (broken("size = 3 }", "size = true }"),
                             r"tasks\.A\.files\.dev\.size: .*found the boolean true"),
    "absolute path": (broken('"A/dev.tsv"', '"/etc/passwd"'),
                      r"tasks\.A\.files\.dev\.path: '/etc/passwd' is absolute"),
    "drive path": (broken('"A/dev.tsv"', '"C:/data/dev.tsv"'), r"is absolute"),
    "parent path": (broken('"A/dev.tsv"', '"A/../../x.tsv"'),
                    r"tasks\.A\.files\.dev\.path: 'A/\.\./\.\./x\.tsv' leaves the data folder"),
    "backslash path": (broken('"A/dev.tsv"', r"'A\dev.tsv'"), r"uses '\\'"),
    "suite folder escape": (broken('name = "mini"', 'name = "mini"\nfolder = "../up"'),
                            r"suite\.folder: '\.\./up' leaves the data folder"),
    "huge size": (broken("size = 3 }", "size = 1000000000 }"),
                  r"tasks\.A\.files\.dev\.size: expected a whole number from 1 to 100000000"),
    "huge string": (broken('name = "mini"', 'name = "mini"\ndescription = "' + "x" * 2001 + '"'),
                    r"suite\.description: a string of 2001 characters; expected at most 2000"),
    "too many labels": (broken('labels = ["0", "1"]', "labels = [" + ", ".join(
        f'"{i}"' for i in range(1001)) + "]"),
        r"tasks\.A\.labels: an array of 1001 items; expected 2 to 1000"),
    "typo in a key": (broken('metrics = ["accuracy"]', 'metric = ["accuracy"]'),
                      r"entries\.A\.metrics: missing key"),
    "unknown key": (broken('group = "A"', 'group = "A"\nmetrix = 1'),
                    r"entries\.A\.metrix: unknown key; did you mean 'metrics'\?"),
    "unknown file key": (broken("size = 3 }", 'size = 3, lable = "x" }'),
                         r"tasks\.A\.files\.dev\.lable: unknown key; did you mean 'label'\?"),
    "unknown read key": (broken('label = "label" }', 'label = "label", quote = true }'),
                         r"tasks\.A\.read\.quote: unknown key; did you mean 'quoting'\?"),
    "metric for another target": (broken('"accuracy"]', '"pearson"]'),
                                  r"'pearson' is a metric for score targets; task 'A' has "
                                  r"class targets"),
    "metric for another label count": (broken('"accuracy"]', '"r3"]'),
                                       r"'r3' is defined for 3 classes; task 'A' has 2"),
    "grouped metric without its group": (broken('"accuracy"]', '"em_question"]'),
                                         r"'em_question' is defined over questions, but A's "
                                         r"files dev, test declare no group 'question'"),
    "unknown task": (broken('group = "A"', 'group = "A"\ntask = "B"'),
                     r"entries\.A\.task: unknown task 'B'"),
    "unknown file": (broken('group = "A"', 'group = "A"\ndev = "val"'),
                     r"entries\.A\.dev: unknown file 'val' of task 'A' \(known: dev, test\)"),
    "model with other labels": (broken('group = "A"', 'group = "A"\nmodel = "A2"') + OTHER,
                                r"entries\.A\.model: task 'A2' predicts labels x, y, but 'A' is "
                                r"labelled with labels 0, 1"),
    "group not listed": (broken('groups = ["A"]', 'groups = ["B"]'),
                         r"aggregate\.groups\[0\]: no entry is in group 'B'"),
    "category not kept": (broken('group = "A"', 'group = "A"\ncategories = ["Logic"]'),
                          r"entries\.A\.categories\[0\]: 'Logic' is not a meta column"),
    "two targets": (broken('labels = ["0", "1"]', 'labels = ["0", "1"]\nscore_range = [0, 5]'),
                    r"tasks\.A: both labels and score_range given; expected exactly one"),
    "empty range": (broken('labels = ["0", "1"]', "score_range = [5, 5]"),
                    r"tasks\.A\.score_range: \[5, 5\]; expected low < high"),
    "label with spaces": (broken('labels = ["0", "1"]', 'labels = ["0", " 1"]'),
                          r"tasks\.A\.labels\[1\]: expected a label token without surrounding "
                          r"spaces"),
    "duplicate label": (broken('labels = ["0", "1"]', 'labels = ["0", "0"]'),
                        r"tasks\.A\.labels: '0' appears twice"),
    "rows only for jsonl": (broken('label = "label" }', 'label = "label", rows = "a[]" }'),
                            r"tasks\.A\.read\.rows: only for format = 'jsonl'"),
    "path against rows": (broken('read = { inputs = ["sentence"], label = "label" }',
                                 'read = { format = "jsonl", rows = "qs[]", inputs = ["qs.text"],'
                                 ' label = "label" }'),
                          r"tasks\.A\.read\.inputs: path 'qs\.text' reads 'qs' as an object"),
    "bad field path": (broken('read = { inputs = ["sentence"], label = "label" }',
                              'read = { format = "jsonl", inputs = ["a..b"], label = "label" }'),
                       r"tasks\.A\.read\.inputs: path 'a\.\.b': step '' is not a key"),
    "column not in header": (broken('dev = { path = "A/dev.tsv", size = 3 }',
                                    'dev = { path = "A/dev.tsv", size = 3, header = ["s", '
                                    '"label"] }'),
                             r"tasks\.A\.read\.inputs: column 'sentence' is not in the header"),
    "same submission file": (broken('group = "A"', 'group = "A"\n\n[entries.A2]\ntask = "A"\n'
                                    'metrics = ["accuracy"]\nfile = "A.tsv"'),
                             r"entries\.A2\.file: 'A\.tsv' is also the file of entry 'A'"),
    "unsafe file name": (broken('group = "A"', 'group = "A"\nfile = "../A.tsv"'),
                         r"entries\.A\.file: expected a file name such as CoLA\.tsv"),
    "bad template": (broken('format = "tsv"', 'format = "tsv"\nfile = "preds.tsv"'),
                     r"submission\.file: 'preds\.tsv'; expected a file name template with "
                     r"\{entry\}"),
    "unknown format": (broken('format = "tsv"', 'format = "csv"'),
                       r"submission\.format: expected one of 'tsv', 'jsonl', found the string "
                       r"'csv' \(did you mean 'tsv'\?\)"),
    "control character": (broken('name = "mini"', 'name = "mini"\ntitle = "a\\u0007b"'),
                          r"suite\.title: 'a\\x07b' holds a control character"),
    "no tasks": (VALID[:VALID.index("[tasks.A]")], r"tasks: missing key; expected a table"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_suite_is_one_error_line_naming_the_key(tmp_path, case):
    text, expected = CASES[case]
    with pytest.raises(DataError) as caught:
        check_suite(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "suite.toml") + ": ")
    assert re.search(expected, message), message


def test_too_many_tasks(tmp_path):
    more = "".join(f'[tasks.T{i}]\ninput_fields = ["s"]\nlabels = ["0", "1"]\n'
                   f'files.dev = {{ path = "d.tsv", size = 1, inputs = ["s"] }}\n'
                   for i in range(200))
    with pytest.raises(DataError, match=r"tasks: 201 task; expected 1 to 200"):
        check_suite(write(tmp_path, VALID + more))


def test_not_utf8(tmp_path):
    raw = VALID.replace('name = "mini"', 'name = "mini"\ntitle = "caf\xe9"').encode("latin-1")
    with pytest.raises(DataError, match=r"suite\.toml line 3: not valid UTF-8 \(byte \d+\)"):
        check_suite(write(tmp_path, raw))


def test_not_toml(tmp_path):
    with pytest.raises(DataError, match=r"not valid TOML: .*line 2"):
        check_suite(write(tmp_path, "[suite]\nname = \n"))


def test_too_large(tmp_path):
    with pytest.raises(DataError, match=rf"bytes; a suite file may have at most {MAX_SUITE_BYTES}"):
        check_suite(write(tmp_path, VALID + "#" * MAX_SUITE_BYTES))


def test_a_leading_bom_is_accepted(tmp_path):
    assert check_suite(write(tmp_path, b"\xef\xbb\xbf" + VALID.encode())).name == "mini"
