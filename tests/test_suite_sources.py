"""Reading every file of every suite into flat example tables, checked against the files.

Real data: ../shared/data (superglue/, fewglue/, clue/, klej/, glue/), sizes from its
README; each table is compared with an independent ``json.loads``/``csv`` reading of the
same file. Without the data these tests skip, except under GLUEBENCH_REQUIRE_REAL_DATA=1
(CI), where they fail. Formats the real data lacks (ReCoRD val/test, the full training
splits) are tested on fixtures in the official layout (tests/fixtures/superglue/).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark import sources as glue_data
from gluebench.benchmark import tasks as glue_tasks
from gluebench.benchmark.metric_registry import get_metric
from gluebench.benchmark.split_reader import load_split, read_split
from gluebench.benchmark.suite_loader import check_suite, load_suite
from gluebench.benchmark.table import NO_GOLD
from gluebench.errors import DataError
from tests.conftest import suite_data_roots

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
EXAMPLES = REPO / "examples" / "suites"


@pytest.fixture(scope="module")
def root() -> Path:
    """The real data root (../shared/data): skipped without it, failed under CI's flag."""
    candidates = suite_data_roots()
    for c in filter(None, candidates):
        for path in (Path(c), Path(c).parent):
            if (path / "superglue" / "CB" / "val.jsonl").is_file():
                return path
    message = "real data (../shared/data/superglue, ...) not found"
    if os.environ.get("GLUEBENCH_REQUIRE_REAL_DATA") == "1":
        pytest.fail(f"{message}, and GLUEBENCH_REQUIRE_REAL_DATA=1", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def superglue():
    return load_suite("superglue")


def json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---- SuperGLUE: every official file shape ------------------------------------------------

# README "Other GLUE-family suites": rows of the val and test files (and MultiRC's options).
README_SIZES = {("BoolQ", "dev"): 3270, ("BoolQ", "test"): 3245, ("CB", "dev"): 56,
                ("CB", "test"): 250, ("COPA", "dev"): 100, ("COPA", "test"): 500,
                ("MultiRC", "dev"): 4848, ("MultiRC", "test"): 9693, ("RTE", "dev"): 277,
                ("RTE", "test"): 3000, ("WiC", "dev"): 638, ("WiC", "test"): 1400,
                ("WSC", "dev"): 104, ("WSC", "test"): 146, ("AX-b", "test"): 1104,
                ("AX-g", "test"): 356}


@pytest.mark.parametrize(("task", "key"), list(README_SIZES), ids=lambda v: str(v))
def test_superglue_files_load_with_their_official_sizes(root, superglue, task, key):
    spec = superglue.tasks[task].files[key]
    table = load_split(superglue, superglue.tasks[task], key, root)
    assert len(table) == spec.size == README_SIZES[task, key]
    assert len(np.unique(table.ids)) == len(table)
    assert table.has_gold == (spec.label_column is not None)


@pytest.mark.parametrize("task", ["BoolQ", "CB", "COPA", "RTE", "WiC", "WSC"])
def test_flat_tasks_match_an_independent_reading(root, superglue, task):
    spec = superglue.tasks[task]
    table = load_split(superglue, spec, "dev", root)
    records = json_lines(root / "superglue" / task / "val.jsonl")
    assert table.ids.tolist() == [r["idx"] for r in records]
    tokens = [str(r["label"]).lower() for r in records]  # JSON true -> "true", 1 -> "1"
    assert [spec.labels[i] for i in table.labels] == tokens
    first = spec.input_fields[0]
    assert table.inputs[first][:3] == [r.get(first, r.get("target", {}).get(first))
                                       for r in records[:3]]


def test_multirc_is_one_row_per_answer_option_with_paragraph_and_question_groups(root,
                                                                                 superglue):
    table = load_split(superglue, superglue.tasks["MultiRC"], "dev", root)
    records = json_lines(root / "superglue" / "MultiRC" / "val.jsonl")
    answers = [(p["idx"], q["idx"], a["idx"], a["label"], a["text"], q["question"])
               for p in records for q in p["passage"]["questions"] for a in q["answers"]]
    assert table.ids.tolist() == [a[2] for a in answers]
    assert table.groups["paragraph"].tolist() == [a[0] for a in answers]
    assert table.groups["question"].tolist() == [a[1] for a in answers]
    assert table.labels.tolist() == [a[3] for a in answers]
    assert table.inputs["answer"] == [a[4] for a in answers]
    assert table.inputs["question"] == [a[5] for a in answers]
    # README: 83 paragraphs, 953 questions, 4848 answer options; ids unique split-wide.
    assert len(set(table.groups["paragraph"])) == 83
    assert len(set(table.groups["question"])) == 953 and len(set(table.ids)) == 4848


def test_ax_b_string_idx_and_optional_category_keys(root, superglue):
    table = load_split(superglue, superglue.tasks["AX-b"], "test", root)
    records = json_lines(root / "superglue" / "AX-b" / "AX-b.jsonl")
    assert all(isinstance(r["idx"], str) for r in records)
    assert table.ids.tolist() == [int(r["idx"]) for r in records] == list(range(1104))
    for key in superglue.entries["AX-b"].categories:
        assert table.meta[key] == [r.get(key, "") for r in records]
    assert sum(bool(v) for v in table.meta["logic"]) == 364


def test_ax_g_minimal_pairs_are_consecutive_rows(root, superglue):
    table = load_split(superglue, superglue.tasks["AX-g"], "test", root)
    pairs = table.groups["pair"]
    assert pairs.tolist() == [i // 2 for i in range(356)]
    # the two rows of a pair share the hypothesis and differ in the premise (the pronoun)
    hyp, prem = table.inputs["hypothesis"], table.inputs["premise"]
    assert all(hyp[2 * k] == hyp[2 * k + 1] and prem[2 * k] != prem[2 * k + 1]
               for k in range(178))


def test_wic_character_offsets_and_wsc_token_indices(root, superglue):
    wic = load_split(superglue, superglue.tasks["WiC"], "dev", root)
    for k in ("1", "2"):
        spans = [s[a:b] for s, a, b in zip(wic.inputs[f"sentence{k}"], wic.inputs[f"start{k}"],
                                          wic.inputs[f"end{k}"], strict=True)]
        assert all(isinstance(a, int) for a in wic.inputs[f"start{k}"])
        # the marked span is the word in context (an inflected form of `word` as a rule)
        share = np.mean([w.lower()[:3] in s.lower() for w, s in zip(wic.inputs["word"], spans,
                                                                   strict=True)])
        assert share > 0.9
    wsc = load_split(superglue, superglue.tasks["WSC"], "dev", root)
    # the index counts whitespace tokens; the span's text may differ in case/punctuation
    hits = [text.split()[wsc.inputs[f"span{k}_index"][i]].lower().strip(".,;:!?\"'")
            == wsc.inputs[f"span{k}_text"][i].split()[0].lower()
            for i, text in enumerate(wsc.inputs["text"]) for k in "12"]
    assert np.mean(hits) > 0.95


def test_boolean_labels_and_their_string_copies_read_the_same(root, superglue, tmp_path):
    source = root / "superglue" / "BoolQ" / "val.jsonl"
    records = json_lines(source)[:40]
    spellings = ["true", "True", "TRUE", "false", "False"]
    copy = tmp_path / "val.jsonl"
    copy.write_text("".join(json.dumps({**r, "label": (str(r["label"]).lower() if i % 2 else
                                                        spellings[i % 5] if r["label"] ==
                                                        (spellings[i % 5].lower() == "true")
                                                        else r["label"])}) + "\n"
                            for i, r in enumerate(records)))
    task = superglue.tasks["BoolQ"]
    assert read_split(task, "dev", copy).labels.tolist() == [int(r["label"]) for r in records]


BAD_ROWS = {
    "unknown label": ("BoolQ", lambda r: {**r, "label": "maybe"},
                      r"line 1: unknown label 'maybe'; expected one of: false, true"),
    "label as a number": ("BoolQ", lambda r: {**r, "label": 1.0},
                          r"line 1: label is a float; expected a string, a boolean or a whole"),
    "missing field": ("CB", lambda r: {k: v for k, v in r.items() if k != "hypothesis"},
                      r"line 1: missing field 'hypothesis'; expected the layout of CB's dev"),
    "text not a string": ("CB", lambda r: {**r, "premise": 3},
                          r"line 1: field 'premise' is a number; expected a string"),
    "idx not a number": ("RTE", lambda r: {**r, "idx": "seven"},
                         r"line 1: idx: index 'seven' is not a non-negative integer"),
    "negative idx": ("RTE", lambda r: {**r, "idx": -1}, r"line 1: idx is a number; expected a "
                     "non-negative whole number"),
    "offset outside": ("WiC", lambda r: {**r, "end1": 999},
                       r"line 1: span 25\.\.999 \(start1, end1\) is not inside 'sentence1'"),
    "token index outside": ("WSC", lambda r: {**r, "target": {**r["target"],
                                                              "span2_index": 500}},
                            r"line 1: span2_index = 500 is past the last token of 'text'"),
    "nested not a list": ("MultiRC", lambda r: {**r, "passage": {**r["passage"],
                                                                 "questions": {}}},
                          r"line 1: 'passage\.questions' is a object; expected a list"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_record_is_one_error_naming_file_and_line(root, superglue, tmp_path, case):
    task, change, expected = BAD_ROWS[case]
    records = json_lines(root / "superglue" / task / "val.jsonl")[:3]
    path = tmp_path / "val.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [change(records[0]), *records[1:]]))
    with pytest.raises(DataError, match=expected) as caught:
        read_split(superglue.tasks[task], "dev", path)
    assert str(caught.value).startswith(str(path))


def test_duplicate_ids_are_refused(root, superglue, tmp_path):
    records = json_lines(root / "superglue" / "RTE" / "val.jsonl")[:3]
    path = tmp_path / "val.jsonl"
    path.write_text("".join(json.dumps({**r, "idx": 5}) + "\n" for r in records))
    with pytest.raises(DataError, match=r"line 2: duplicate idx 5 \(first on line 1\)"):
        read_split(superglue.tasks["RTE"], "dev", path)


# ---- fixtures: ReCoRD val/test and the training splits --------------------------------------

def test_record_val_rows_are_queries_with_entity_texts_and_answers(superglue):
    table = read_split(superglue.tasks["ReCoRD"], "dev", FIXTURES / "superglue/ReCoRD/val.jsonl")
    assert table.ids.tolist() == [0, 1, 2]
    assert table.groups["query"].tolist() == [0, 1, 2]
    assert table.groups["passage"].tolist() == [0, 0, 1]
    assert table.answers == [("Eiffel Tower", "Eiffel Tower"), ("France",),
                             ("Lionel Messi", "Messi")]
    # inclusive ends: the whole entity, not its last character short
    assert table.inputs["entities"][2] == ["Lionel Messi", "Barcelona", "Messi"]
    assert table.inputs["entities"][0][:3] == ["Paris", "CNN", "Barack Obama"]
    assert table.labels is None and table.scored().all()
    items = table.items(["the Eiffel Tower", "Paris", "Lionel Messi"])
    assert get_metric("record_em").value(items) == pytest.approx(2 / 3, abs=1e-15)


def test_record_test_has_no_answers(superglue):
    table = read_split(superglue.tasks["ReCoRD"], "test",
                       FIXTURES / "superglue/ReCoRD/test.jsonl")
    assert len(table) == 3 and not table.has_gold and table.answers is None


def test_record_entity_outside_the_passage_is_refused(superglue, tmp_path):
    record = json_lines(FIXTURES / "superglue/ReCoRD/val.jsonl")[1]
    record["passage"]["entities"][0]["end"] = 500
    path = tmp_path / "val.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(DataError, match=r"line 1: span 0\.\.501 \(start, end \(inclusive\)\) "
                       r"is not inside 'passage'"):
        read_split(superglue.tasks["ReCoRD"], "dev", path)


@pytest.mark.parametrize("task", ["BoolQ", "CB", "COPA", "MultiRC", "RTE", "WiC", "WSC",
                                  "ReCoRD"])
def test_training_files_in_the_official_layout(superglue, task):
    path = FIXTURES / "superglue" / task / "train.jsonl"
    table = read_split(superglue.tasks[task], "train", path)
    records = json_lines(path)
    rows = {"MultiRC": lambda r: sum(len(q["answers"]) for q in r["passage"]["questions"]),
            "ReCoRD": lambda r: len(r["qas"])}.get(task, lambda r: 1)
    assert len(table) == sum(rows(r) for r in records) and table.has_gold


def test_fewglue_files_load(root):
    fewglue = load_suite("fewglue")
    diagnostics = {"AX-b", "AX-g"}  # SuperGLUE's, predicted by the RTE model; test files only
    for name in diagnostics:
        assert fewglue.tasks[name].files["test"].path == f"superglue/{name}/{name}.jsonl"
        assert load_split(fewglue, fewglue.tasks[name], "test", root).has_gold
    for task in (t for t in fewglue.tasks.values() if t.name not in diagnostics):
        for key in ("train", "dev32"):
            table = load_split(fewglue, task, key, root)
            assert len(table) == task.files[key].size
        assert task.files["dev"].path == f"superglue/{task.name}/val.jsonl"


# ---- CLUE and KLEJ --------------------------------------------------------------------------

def test_clue_ocnli_dash_rows_are_kept_but_not_scored(root):
    clue = check_suite(EXAMPLES / "clue.toml")
    table = load_split(clue, clue.tasks["OCNLI"], "dev", root)
    records = json_lines(root / "clue" / "ocnli" / "dev.json")
    assert len(table) == 3000 and table.ids.tolist() == list(range(3000))
    gold = [r["label"] for r in records]
    assert int((table.labels == NO_GOLD).sum()) == gold.count("-") == 50
    assert (~table.scored()).sum() == 50
    scored = table.labels[table.scored()]
    assert np.bincount(scored).tolist() == [gold.count(x) for x in clue.tasks["OCNLI"].labels]
    # metrics see the 2950 scored rows only
    pred = np.random.default_rng(0).integers(0, 3, len(table))
    items = table.items(pred)
    kept = [i for i, g in enumerate(gold) if g != "-"]
    assert len(items) == 2950 and items.gold.tolist() == table.labels[kept].tolist()
    assert get_metric("accuracy").value(items) == pytest.approx(
        np.mean([clue.tasks["OCNLI"].labels[pred[i]] == gold[i] for i in kept]), abs=1e-12)


def test_clue_wsc_character_spans_and_test_ids(root):
    clue = check_suite(EXAMPLES / "clue.toml")
    task = clue.tasks["CLUEWSC2020"]
    dev = load_split(clue, task, "dev", root)
    assert len(dev) == 304 and dev.labels.tolist().count(1) == 111
    text, start, covered = dev.inputs["text"][0], dev.inputs["span1_index"][0], \
        dev.inputs["span1_text"][0]
    assert text[start:start + len(covered)] == covered
    test = load_split(clue, task, "test", root)
    assert test.ids.tolist() == list(range(1, 291))   # the test file's own `id`, from 1
    assert clue.submission.ids == "position"         # submissions use positions 0..289
    assert clue.entries["OCNLI"].submission_file == "ocnli_50k_predict.json"


@pytest.mark.parametrize(("task", "key", "size"), [
    ("NKJP-NER", "train", 15794), ("NKJP-NER", "dev", 1941), ("NKJP-NER", "test", 2058),
    ("PolEmo2.0-IN", "dev", 723), ("PolEmo2.0-IN", "test", 722),
    ("PolEmo2.0-OUT", "dev", 494), ("PolEmo2.0-OUT", "test", 494)])
def test_klej_tsv_is_read_with_quoting_off(root, task, key, size):
    klej = check_suite(EXAMPLES / "klej.toml")
    spec = klej.tasks[task].files[key]
    table = load_split(klej, klej.tasks[task], key, root)
    path = root / "klej" / spec.path
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    assert len(table) == len(rows) == size
    assert table.inputs["sentence"] == [r[0] for r in rows]
    if spec.label_column:
        assert [klej.tasks[task].labels[i] for i in table.labels] == [r[1] for r in rows]


def test_klej_with_default_csv_quoting_would_merge_rows(root):
    # The README's trap, checked: CSV quoting reads NKJP-NER's train file as 15310 rows.
    with open(root / "klej" / "nkjp-ner" / "train.tsv", encoding="utf-8", newline="") as f:
        assert len(list(csv.reader(f, delimiter="\t"))) - 1 == 15310


def test_quoted_tsv_when_a_suite_turns_quoting_on(tmp_path):
    text = (EXAMPLES / "klej.toml").read_text().replace("quoting = false", "quoting = true")
    suite_path = tmp_path / "klej.toml"
    suite_path.write_text(text)
    klej = check_suite(suite_path)
    path = tmp_path / "dev.tsv"
    path.write_text('sentence\ttarget\n"a\tquoted ""cell"""\ttime\nplain\tnoEntity\n')
    table = read_split(klej.tasks["NKJP-NER"], "dev", path)
    assert table.inputs["sentence"] == ['a\tquoted "cell"', "plain"]
    assert table.labels.tolist() == [5, 1]


# ---- GLUE: the new reader gives what gluebench.benchmark.sources reads today ----

def _glue_files(root: Path | None):
    out = []
    for name, task in glue_tasks.TASKS.items():
        for key, spec in task.files.items():
            for base in filter(None, [root, FIXTURES / "official_formats"]):
                if (base / spec.path).is_file():
                    out.append((name, key, base / spec.path))
    return out


@pytest.mark.slow
def test_glue_tables_equal_gluebench_data(root):
    glue = load_suite("glue")
    files = _glue_files(root / "glue")
    assert len(files) >= 30
    for name, key, path in files:
        old = glue_data.read_split(glue_tasks.TASKS[name], key, path)
        new = read_split(glue.tasks[name], key, path)
        assert new.ids.tolist() == old.index.tolist(), (name, key)
        assert new.inputs == old.inputs, (name, key)
        assert (new.labels is None) == (old.labels is None), (name, key)
        if old.labels is not None:
            assert new.labels.dtype == old.labels.dtype
            assert np.array_equal(new.labels, old.labels), (name, key)
        assert new.meta == old.meta, (name, key)
