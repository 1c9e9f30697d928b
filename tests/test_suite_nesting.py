"""One nesting for MultiRC's nested JSON: the prediction writer and the submission builder.

``suite_prediction_writer.prediction_text`` (baselines, run outputs) and
``suite_submission.member_text`` (a user's file rebuilt into the zip) both write MultiRC
one line per paragraph with questions and answers nested; both go through
``suite_prediction_writer.nested_records``. Checked on the real MultiRC val file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from gluebench.benchmark import suite_prediction_writer as writer
from gluebench.benchmark import suite_submission
from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite_loader import load_suite
from tests.conftest import superglue_val_copy


@pytest.fixture(scope="module")
def multirc(tmp_path_factory):
    _, root = superglue_val_copy(tmp_path_factory)
    suite = load_suite("superglue")
    entry = suite.entry("MultiRC")
    table = load_split(suite, suite.task("MultiRC"), entry.dev, root)
    return suite, entry, table


def test_one_nesting_implementation():
    assert suite_submission.nested_records is writer.nested_records
    assert suite_submission.id_columns is writer.id_columns


def test_writer_output_read_back_and_rebuilt_is_the_same_text(multirc):
    suite, entry, table = multirc
    pred = np.random.default_rng(0).integers(0, 2, size=len(table))
    text = writer.prediction_text(suite, entry, table, pred)
    rows, problems = suite_submission.parse_member(suite, entry, text.encode(), "MultiRC.jsonl")
    assert problems == []
    assert [r.ids[-1] for r in rows] == [int(i) for i in table.ids]
    assert [r.label for r in rows] == pred.tolist()
    rebuilt = suite_submission.member_text(suite, entry, rows, table.ids)
    assert rebuilt == text


def test_one_line_per_paragraph_with_questions_and_answers_nested(multirc):
    suite, entry, table = multirc
    pred = np.zeros(len(table), dtype=np.int64)
    lines = [json.loads(x) for x in writer.prediction_text(suite, entry, table, pred).splitlines()]
    paragraph = dict(table.task.files[entry.dev].groups)
    names = {column: name for name, column in paragraph.items()}
    assert len(lines) == len(set(table.groups[names["idx"]].tolist()))
    answers = [a for line in lines for q in line["passage"]["questions"] for a in q["answers"]]
    assert [a["idx"] for a in answers] == [int(i) for i in table.ids]
    assert set(lines[0]) == {"idx", "passage"} and set(answers[0]) == {"idx", "label"}
