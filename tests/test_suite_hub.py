"""``--data-dir hf`` for SuperGLUE: the hub's ``super_glue`` configs read into the same tables
as the official JSON-lines files (``benchmark/suite_hub.py``).

No network: each config is built here from the real val/test files (../shared/data,
``real_data``) the way the hub's loading script builds it (``super_glue.py``'s
``_generate_examples``: MultiRC one row per answer with a nested ``idx``, ReCoRD one row
per query with exclusive entity ends sorted by start and sorted distinct answers, WSC's
``target`` flattened and "fixed" by ``_fix_wst``, labels as ``ClassLabel`` ids), saved
with ``save_to_disk`` and read through ``datasets.load_from_disk`` by our reader. The
JSONL reader on the same files is the reference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import suite_data_roots

datasets = pytest.importorskip("datasets")

from gluebench.benchmark.split_reader import load_split, read_split  # noqa: E402
from gluebench.benchmark.suite_loader import load_suite  # noqa: E402
from gluebench.errors import DataError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SUITE = load_suite("superglue")
Value, ClassLabel, Sequence = datasets.Value, datasets.ClassLabel, datasets.Sequence
BOOL = ClassLabel(names=["False", "True"])
NLI2 = ClassLabel(names=["entailment", "not_entailment"])
# the hub's features per config (super_glue.py), label last
FEATURES = {
    "boolq": (["question", "passage"], BOOL),
    "cb": (["premise", "hypothesis"], ClassLabel(names=["entailment", "contradiction",
                                                         "neutral"])),
    "copa": (["premise", "choice1", "choice2", "question"],
             ClassLabel(names=["choice1", "choice2"])),
    "rte": (["premise", "hypothesis"], NLI2),
    "wic": (["word", "sentence1", "sentence2", "start1", "start2", "end1", "end2"], BOOL),
    "wsc.fixed": (["text", "span1_index", "span2_index", "span1_text", "span2_text"], BOOL),
    "axb": (["sentence1", "sentence2"], NLI2),
    "axg": (["premise", "hypothesis"], NLI2),
}
INTS = {"start1", "start2", "end1", "end2", "span1_index", "span2_index"}


@pytest.fixture(scope="module")
def real() -> Path:
    candidates = suite_data_roots()
    found = next((Path(c) for c in filter(None, candidates)
                  if (Path(c) / "superglue" / "CB" / "val.jsonl").is_file()), None)
    if found is None:
        message = "real data (../shared/data/superglue) not found"
        if os.environ.get("GLUEBENCH_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"{message}, and GLUEBENCH_REQUIRE_REAL_DATA=1", pytrace=False)
        pytest.skip(message)
    return found


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _cast(label):
    """super_glue.py's ``_cast_label``: booleans as "True"/"False" class names."""
    return ("True" if label else "False") if isinstance(label, bool) else label


def _fix_wst(ex: dict) -> dict:
    """super_glue.py's ``_fix_wst``, as the hub's wsc.fixed config applies it."""
    for k in ("span1", "span2"):
        text, index = ex[k + "_text"], ex[k + "_index"]
        if text in ex["text"] or text in ("Kamenev and Zinoviev",
                                          "Kamenev, Zinoviev, and Stalin"):
            continue
        if "theyscold" in text:
            ex["span2_index"] = 10          # the script's text.replace result is discarded
        first_word = ex["text"].split()[index]
        text = (text[0].lower() if first_word[0].islower() else text[0].upper()) + text[1:]
        ex[k + "_text"] = text.rstrip(".").replace("\n", " ")
    return ex


def _flat_rows(config: str, records: list[dict]) -> list[dict]:
    fields, _ = FEATURES[config]
    rows = []
    for row in records:
        if config == "wsc.fixed":
            row = {**row, **row["target"]}
        example = {f: row[f] for f in fields}
        if config == "wsc.fixed":
            example = _fix_wst(example)
        example["idx"] = int(row["idx"])
        if "label" not in row:
            example["label"] = -1
        elif config == "copa":
            example["label"] = "choice2" if row["label"] else "choice1"
        else:
            example["label"] = _cast(row["label"])
        rows.append(example)
    return rows


def _multirc_rows(records: list[dict]) -> list[dict]:
    return [{"paragraph": r["passage"]["text"], "question": q["question"], "answer": a["text"],
             "label": -1 if a.get("label") is None else _cast(bool(a["label"])),
             "idx": {"paragraph": r["idx"], "question": q["idx"], "answer": a["idx"]}}
            for r in records for q in r["passage"]["questions"] for a in q["answers"]]


def _record_rows(records: list[dict]) -> list[dict]:
    rows = []
    for r in records:
        text = r["passage"]["text"]
        spans = sorted(({"text": text[e["start"]:e["end"] + 1], "start": e["start"],
                         "end": e["end"] + 1} for e in r["passage"]["entities"]),
                       key=lambda e: e["start"])
        for qa in r["qas"]:
            rows.append({"passage": text, "query": qa["query"],
                         "entities": sorted({e["text"] for e in spans}),
                         # a Sequence of dicts is stored as a dict of lists
                         "entity_spans": {k: [e[k] for e in spans] for k in ("text", "start",
                                                                            "end")},
                         "answers": sorted({a["text"] for a in qa.get("answers", [])}),
                         "idx": {"passage": r["idx"], "query": qa["idx"]}})
    return rows


def _features(config: str):
    if config == "multirc":
        return datasets.Features({
            "paragraph": Value("string"), "question": Value("string"),
            "answer": Value("string"),
            "idx": {"paragraph": Value("int32"), "question": Value("int32"),
                    "answer": Value("int32")}, "label": BOOL})
    if config == "record":
        return datasets.Features({
            "passage": Value("string"), "query": Value("string"),
            "entities": Sequence(Value("string")),
            "entity_spans": Sequence({"text": Value("string"), "start": Value("int32"),
                                      "end": Value("int32")}),
            "answers": Sequence(Value("string")),
            "idx": {"passage": Value("int32"), "query": Value("int32")}})
    fields, label = FEATURES[config]
    return datasets.Features({**{f: Value("int32" if f in INTS else "string") for f in fields},
                              "idx": Value("int32"), "label": label})


def _hub_rows(config: str, records: list[dict]) -> list[dict]:
    if config == "multirc":
        return _multirc_rows(records)
    if config == "record":
        return _record_rows(records)
    return _flat_rows(config, records)


def save_config(root: Path, config: str, splits: dict[str, Path]) -> None:
    """``root/config/``: the config's splits as the hub builds them, ``save_to_disk``-ed."""
    features = _features(config)
    built = datasets.DatasetDict({
        name: datasets.Dataset.from_list(_hub_rows(config, _records(path)), features=features)
        for name, path in splits.items()})
    built.save_to_disk(str(root / config))


TASK_FILES = {  # task -> (config, {our key: (hub split, file under superglue/)})
    "BoolQ": ("boolq", {"dev": ("validation", "BoolQ/val.jsonl"),
                        "test": ("test", "BoolQ/test.jsonl")}),
    "CB": ("cb", {"dev": ("validation", "CB/val.jsonl"), "test": ("test", "CB/test.jsonl")}),
    "COPA": ("copa", {"dev": ("validation", "COPA/val.jsonl"),
                      "test": ("test", "COPA/test.jsonl")}),
    "MultiRC": ("multirc", {"dev": ("validation", "MultiRC/val.jsonl"),
                            "test": ("test", "MultiRC/test.jsonl")}),
    "RTE": ("rte", {"dev": ("validation", "RTE/val.jsonl"),
                    "test": ("test", "RTE/test.jsonl")}),
    "WiC": ("wic", {"dev": ("validation", "WiC/val.jsonl"),
                    "test": ("test", "WiC/test.jsonl")}),
    "WSC": ("wsc.fixed", {"dev": ("validation", "WSC/val.jsonl"),
                          "test": ("test", "WSC/test.jsonl")}),
    "AX-b": ("axb", {"test": ("test", "AX-b/AX-b.jsonl")}),
    "AX-g": ("axg", {"test": ("test", "AX-g/AX-g.jsonl")}),
}


@pytest.fixture(scope="module")
def hub(real, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("super_glue")
    for config, keys in TASK_FILES.values():
        save_config(root, config, {split: real / "superglue" / rel
                                   for split, rel in keys.values()})
    # ReCoRD's val is not stored here: FewGLUE's 32 dev queries, in the official layout
    save_config(root, "record", {"validation": real / "fewglue" / "ReCoRD" / "dev32.jsonl"})
    return root


def assert_same_table(a, b, *, skip_inputs=()):
    assert a.task is b.task and len(a) == len(b)
    np.testing.assert_array_equal(a.ids, b.ids)
    if a.labels is None:
        assert b.labels is None
    else:
        np.testing.assert_array_equal(a.labels, b.labels)
    assert list(a.groups) == list(b.groups)
    for name in a.groups:
        np.testing.assert_array_equal(a.groups[name], b.groups[name])
    assert list(a.inputs) == list(b.inputs)
    for name in a.inputs:
        if name not in skip_inputs:
            assert list(a.inputs[name]) == list(b.inputs[name]), name


@pytest.mark.real_data
@pytest.mark.parametrize("task_name,key", [(t, k) for t, (_, keys) in TASK_FILES.items()
                                           for k in keys if t not in ("WSC", "AX-b")])
def test_the_hub_gives_the_jsonl_table(task_name, key, real, hub):
    task = SUITE.task(task_name)
    from_files = load_split(SUITE, task, key, real)
    from_hub = load_split(SUITE, task, key, f"hf:{hub}")
    assert from_hub.has_gold == from_files.has_gold
    assert_same_table(from_hub, from_files)


@pytest.mark.real_data
def test_ax_b_from_the_hub_has_no_categories(real, hub):
    task = SUITE.task("AX-b")
    from_files = load_split(SUITE, task, "test", real)
    from_hub = load_split(SUITE, task, "test", f"hf:{hub}")
    assert_same_table(from_hub, from_files)
    assert any(any(v) for v in from_files.meta.values())
    assert not any(any(v) for v in from_hub.meta.values())   # the hub lost them


@pytest.mark.real_data
def test_wsc_fixed_differs_only_in_the_span_texts_it_fixed(real, hub):
    task = SUITE.task("WSC")
    from_files = load_split(SUITE, task, "dev", real)
    from_hub = load_split(SUITE, task, "dev", f"hf:{hub}")
    texts = ("span1_text", "span2_text")
    assert_same_table(from_hub, from_files, skip_inputs=texts)
    changed = [(i, f, from_files.inputs[f][i], from_hub.inputs[f][i]) for f in texts
               for i in range(len(from_files)) if from_files.inputs[f][i] !=
               from_hub.inputs[f][i]]
    # val: "The ..." spans the text writes "the ..." come back lower-cased, nothing else
    assert len(changed) == 8, changed
    for _, _, official, fixed in changed:
        assert official.startswith("The ") and fixed == "t" + official[1:]


@pytest.mark.real_data
def test_record_from_the_hub_has_the_files_entities_and_answers(real, hub):
    task = SUITE.task("ReCoRD")
    from_files = read_split(task, "dev", real / "fewglue" / "ReCoRD" / "dev32.jsonl")
    from_hub = load_split(SUITE, task, "dev", f"hf:{hub}")
    assert_same_table(from_hub, from_files, skip_inputs=("entities",))
    for hub_entities, file_entities in zip(from_hub.inputs["entities"],
                                           from_files.inputs["entities"], strict=True):
        assert sorted(hub_entities) == sorted(file_entities)   # the hub sorts spans by start
    for hub_answers, file_answers in zip(from_hub.answers, from_files.answers, strict=True):
        assert list(hub_answers) == sorted(set(file_answers))   # distinct texts, sorted


def test_a_hidden_label_in_a_labelled_split_is_refused(tmp_path):
    rows = [{"premise": "p", "hypothesis": "h", "idx": 0, "label": 0},
            {"premise": "p", "hypothesis": "h", "idx": 1, "label": -1}]
    datasets.DatasetDict({"validation": datasets.Dataset.from_list(
        rows, features=_features("rte"))}).save_to_disk(str(tmp_path / "rte"))
    with pytest.raises(DataError) as info:
        load_split(SUITE, SUITE.task("RTE"), "dev", f"hf:{tmp_path}")
    assert "rte/validation" in str(info.value) and "2" in str(info.value)
    assert "label" in str(info.value)


def test_a_label_name_outside_the_vocabulary_is_refused(tmp_path):
    rows = [{"premise": "p", "hypothesis": "h", "idx": 0, "label": "neutral"}]
    features = datasets.Features({"premise": Value("string"), "hypothesis": Value("string"),
                                  "idx": Value("int32"),
                                  "label": ClassLabel(names=["entailment", "neutral"])})
    datasets.DatasetDict({"validation": datasets.Dataset.from_list(
        rows, features=features)}).save_to_disk(str(tmp_path / "rte"))
    with pytest.raises(DataError, match="label name 'neutral' is not a RTE label"):
        load_split(SUITE, SUITE.task("RTE"), "dev", f"hf:{tmp_path}")


@pytest.mark.slow
@pytest.mark.real_data
def test_score_with_data_dir_hf_matches_the_files(real, hub, tmp_path, run_cli):
    pred = tmp_path / "pred"
    code, _, err = run_cli("baseline", "random", "--suite", "superglue", "--data-dir", real,
                           "--split", "dev", "-o", pred)
    assert code == 0, err
    scored = {}
    for name, data_dir in (("files", real), ("hub", f"hf:{hub}")):
        code, _, err = run_cli("score", "--suite", "superglue", "--data-dir", data_dir,
                               "--predictions", pred, "--json", tmp_path / f"{name}.json")
        assert code == 0, err
        scored[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert len(scored["hub"]["tasks"]) == 9            # every val/diagnostic entry but ReCoRD
    for key in set(scored["files"]) - {"data_source", "timings"}:
        assert scored["hub"][key] == scored["files"][key], key
