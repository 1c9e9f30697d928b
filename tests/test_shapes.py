"""Task shapes (gluebench.shapes.framing) on the real FewGLUE and SuperGLUE files."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite_loader import load_suite
from gluebench.shapes.framing import frame, shape_of
from tests.conftest import real_data_missing, suite_data_roots

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def root():
    for found in suite_data_roots():
        if (found / "fewglue" / "ReCoRD" / "train.jsonl").is_file():
            return found
    real_data_missing("FewGLUE data not found")


def _table(root, task, key="train", suite="fewglue"):
    s = load_suite(suite)
    return load_split(s, s.task(task), key, root)


def test_shapes_come_from_the_definition_not_the_name():
    s = load_suite("superglue")
    shapes = {name: shape_of(t) for name, t in s.tasks.items()}
    assert shapes["COPA"] == "choose-fields" and shapes["ReCoRD"] == "choose-entities"
    assert {n for n, v in shapes.items() if v == "classify"} == {
        "BoolQ", "CB", "MultiRC", "RTE", "WiC", "WSC", "AX-b", "AX-g"}


def test_wic_marks_the_target_word_in_both_sentences(root):
    table = _table(root, "WiC", "dev", "superglue")
    framed = frame(table)
    for row in range(len(table)):
        s1, s2 = table.inputs["sentence1"][row], table.inputs["sentence2"][row]
        a = s1[table.inputs["start1"][row]:table.inputs["end1"][row]]
        b = s2[table.inputs["start2"][row]:table.inputs["end2"][row]]
        st1, e1, st2, e2 = (table.inputs[k][row] for k in ("start1", "end1", "start2", "end2"))
        assert framed.first[row] == table.inputs["word"][row]
        assert framed.second[row] == (f"{s1[:st1]}*{a}*{s1[e1:]} {s2[:st2]}*{b}*{s2[e2:]}")


def test_wsc_marks_the_noun_phrase_and_the_pronoun(root):
    table = _table(root, "WSC", "dev", "superglue")
    framed = frame(table)
    assert framed.second is None
    same = 0
    for row, text in enumerate(framed.first):
        noun = re.search(r"\*(.+?)\*", text).group(1)
        pronoun = re.search(r"#(.+?)#", text).group(1)
        # the official span texts differ from the text in case and punctuation at times
        same += (noun.lower().strip(".,") == table.inputs["span1_text"][row].lower()
                 and pronoun.lower().strip(".,") == table.inputs["span2_text"][row].lower())
    assert same >= 0.95 * len(table)


def test_copa_is_a_choice_between_its_alternatives(root):
    table = _table(root, "COPA")
    framed = frame(table)
    assert framed.kind == "choose" and len(framed.first) == 2 * len(table)
    assert list(framed.bounds()) == list(range(0, 2 * len(table) + 1, 2))
    row = 0
    assert framed.first[0] == f"{table.inputs['premise'][row]} {table.inputs['question'][row]}"
    assert framed.second[:2] == [table.inputs["choice1"][row], table.inputs["choice2"][row]]
    # choosing the gold option everywhere gives back the gold labels
    assert framed.decide(framed.correct.astype(float)) == table.labels.tolist()


def test_record_ranks_the_passage_entities_and_gold_answers_are_among_them(root):
    table = _table(root, "ReCoRD")
    framed = frame(table)
    bounds = framed.bounds()
    for row in range(len(table)):
        options = framed.values[bounds[row]:bounds[row + 1]]
        assert len(options) == len(set(options)) == len(set(table.inputs["entities"][row]))
        assert "@placeholder" not in framed.first[bounds[row]]
    chosen = framed.decide(framed.correct.astype(float))
    assert all(c in answers for c, answers in zip(chosen, table.answers, strict=True))


def test_multirc_is_one_decision_per_answer_option_passage_first(root):
    table = _table(root, "MultiRC", "dev", "superglue")
    framed = frame(table)
    assert framed.kind == "classify" and len(framed.first) == len(table) == 4848
    assert framed.second[0] == (f"{table.inputs['question'][0]} {table.inputs['answer'][0]}")
    assert np.array_equal(framed.labels, table.labels)
