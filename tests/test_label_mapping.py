"""Mapping a model's id2label onto our labels: by name, never silently by position."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gluebench.benchmark.tasks import get_task
from gluebench.errors import UsageError
from gluebench.models.hf import label_permutation, parse_label_map, resolve_model

MNLI = get_task("MNLI")


def test_mnli_in_another_order_is_mapped_by_name():
    # roberta-large-mnli's order: 0 contradiction, 1 neutral, 2 entailment.
    perm = label_permutation(MNLI, {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"})
    assert perm.tolist() == [2, 1, 0]
    logits = np.array([[5.0, 0, 0], [0, 0, 5.0]])       # model says: contradiction, entailment
    assert [MNLI.labels[i] for i in perm[logits.argmax(1)]] == ["contradiction", "entailment"]


@pytest.mark.parametrize("task, id2label, expected", [
    ("RTE", {0: "entailment", 1: "not_entailment"}, [0, 1]),
    ("RTE", {0: "not entailment", 1: "entailment"}, [1, 0]),
    ("WNLI", {0: "not_entailment", 1: "entailment"}, [0, 1]),
    ("SST-2", {0: "NEGATIVE", 1: "POSITIVE"}, [0, 1]),
    ("SST-2", {0: "pos", 1: "neg"}, [1, 0]),
    ("CoLA", {0: "unacceptable", 1: "acceptable"}, [0, 1]),
    ("MRPC", {0: "0", 1: "1"}, [0, 1]),          # the GLUE labels themselves
    ("QQP", {0: "duplicate", 1: "not_duplicate"}, [1, 0]),
])
def test_named_labels(task, id2label, expected):
    assert label_permutation(get_task(task), id2label).tolist() == expected


@pytest.mark.parametrize("task", ["MNLI", "RTE", "SST-2"])
def test_generic_labels_are_refused_with_the_way_out(task):
    n = len(get_task(task).labels)
    with pytest.raises(UsageError, match="generic") as info:
        label_permutation(get_task(task), {i: f"LABEL_{i}" for i in range(n)}, model_name="m")
    assert "--label-map" in str(info.value)


def test_explicit_label_map_resolves_generic_labels():
    mapping = parse_label_map("LABEL_0=contradiction, LABEL_1=neutral,LABEL_2=entailment")
    perm = label_permutation(MNLI, {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},
                             label_map=mapping)
    assert perm.tolist() == [2, 1, 0]
    by_id = label_permutation(MNLI, {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},
                              label_map={"0": "neutral", "1": "entailment", "2": "contradiction"})
    assert by_id.tolist() == [1, 0, 2]


@pytest.mark.parametrize("id2label, message", [
    ({0: "entailment", 1: "not_entailment"}, "has 2 output labels"),
    ({0: "entailment", 1: "neutral", 2: "maybe"}, "label 'maybe' (output 2) is not a MNLI label"),
    ({0: "entailment", 1: "entails", 2: "neutral"}, "two outputs map to the same"),
])
def test_unresolvable_mappings_are_refused(id2label, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        label_permutation(MNLI, id2label)


def test_bad_label_map_syntax():
    with pytest.raises(UsageError, match="MODEL_LABEL=GLUE_LABEL"):
        parse_label_map("LABEL_0:neutral")


def test_model_references(tmp_path):
    assert "embedded" in resolve_model(None).description
    assert resolve_model("textattack/bert-base-uncased-RTE").path == \
        "textattack/bert-base-uncased-RTE"
    with pytest.raises(UsageError, match="not found"):
        resolve_model("./no/such/model")
    with pytest.raises(UsageError, match="no config.json"):
        resolve_model(str(tmp_path))
