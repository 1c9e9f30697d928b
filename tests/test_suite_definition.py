"""The suite definitions: GLUE's TOML equals today's Python tables, every suite is sound.

The GLUE comparison is what makes swapping ``gluebench.benchmark.tasks`` for the TOML safe: every
field of every Task, SplitFile and Benchmark, and the GLUE facts kept elsewhere in code
(STS-B's range, AX's categories and kept columns, the public test labels, the hub's split
names), must come out of ``glue.toml`` unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from gluebench.benchmark import gold_labels as gold
from gluebench.benchmark import hub as hf_data
from gluebench.benchmark import sources as data
from gluebench.benchmark import tasks
from gluebench.benchmark.metric_registry import METRICS
from gluebench.benchmark.suite import Suite, data_path
from gluebench.benchmark.suite_loader import (
    canonical_bytes,
    check_suite,
    list_suites,
    load_suite,
    suite_hash,
)
from gluebench.errors import DataError, UsageError

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "suites"
ALL_SUITES = [*list_suites().values(), *sorted(EXAMPLES.glob("*.toml"))]

# Benchmark.glue_group is the suite's generic Entry.group; every other field keeps its name.
RENAMED = {"glue_group": "group"}


@pytest.fixture(scope="module")
def glue() -> Suite:
    return load_suite("glue")


def test_builtin_suites_are_listed():
    assert set(list_suites()) == {"glue", "superglue", "fewglue"}
    for name, path in list_suites().items():
        assert load_suite(name).name == name
        assert path.name == f"{name}.toml"


def test_glue_tasks_equal_the_python_table_field_by_field(glue):
    assert list(glue.tasks) == list(tasks.TASKS)
    for name, old in tasks.TASKS.items():
        new = glue.tasks[name]
        for f in dataclasses.fields(tasks.Task):
            if f.name == "files":
                continue
            assert getattr(new, f.name) == getattr(old, f.name), (name, f.name)
        assert list(new.files) == list(old.files), name
        for key, old_file in old.files.items():
            for f in dataclasses.fields(tasks.SplitFile):
                assert getattr(new.files[key], f.name) == getattr(old_file, f.name), \
                    (name, key, f.name)
        assert new.is_regression == old.is_regression


def test_glue_entries_equal_the_benchmark_table_field_by_field(glue):
    assert list(glue.entries) == list(tasks.BENCHMARKS)
    for name, old in tasks.BENCHMARKS.items():
        new = glue.entries[name]
        for f in dataclasses.fields(tasks.Benchmark):
            assert getattr(new, RENAMED.get(f.name, f.name)) == getattr(old, f.name), \
                (name, f.name)
        for split in ("dev", "test"):
            assert new.file_key(split) == old.file_key(split)


def test_glue_facts_kept_in_code_are_in_the_definition(glue):
    assert glue.aggregate.groups == tasks.GLUE_GROUPS
    assert glue.aggregate.name == "glue_score"
    assert glue.beside() == ("AX",)
    assert glue.tasks["STS-B"].score_range == tasks.STSB_RANGE
    assert glue.entries["AX"].categories == tasks.AX_COARSE_CATEGORIES
    assert glue.entries["AX"].model == "MNLI"
    assert all(e.model == e.task for n, e in glue.entries.items() if n != "AX")
    kept = {c for t in glue.tasks.values() for f in t.files.values() for c in f.meta_columns}
    assert kept == set(data.META_COLUMNS)
    assert glue.submission.header == ("index", "prediction")
    assert glue.submission.clip_to_range and glue.submission.dev_ids == "position"
    assert glue.hub == hf_data.HUB_NAME


def test_glue_public_test_labels_match_gold_py(glue):
    for name, public in gold.PUBLIC_TEST_LABELS.items():
        spec = glue.tasks[name].files["test"].public_labels
        assert (spec.path, spec.column) == (public.path, public.column)
    # AX's labelled copy is the test set itself (gold.py scores AX test on the dev file).
    ax = glue.tasks["AX"].files
    assert ax["test"].public_labels.path == ax["dev"].path


def test_glue_hub_split_names_match_hf_data(glue):
    for name, old in tasks.TASKS.items():
        for key in old.files:
            assert glue.tasks[name].files[key].hf_split == hf_data.hf_split_name(old, key), \
                (name, key)


@pytest.mark.parametrize("path", ALL_SUITES, ids=[p.stem for p in ALL_SUITES])
def test_every_task_of_every_suite_is_sound(path):
    suite = check_suite(path)
    assert suite.sha256 == hashlib.sha256(canonical_bytes(path.read_bytes())).hexdigest()
    assert set(suite.aggregate.groups) == {e.group for e in suite.entries.values() if e.group}
    for task in suite.tasks.values():
        if task.target == "class":
            assert len(task.labels) == len(set(task.labels)) == len(task.label_names) >= 2
        for spec in task.files.values():
            assert len(spec.text_columns) == len(task.input_fields) and spec.size > 0
            assert not Path(spec.path).is_absolute() and ".." not in Path(spec.path).parts
    for entry in suite.entries.values():
        task = suite.tasks[entry.task]
        assert entry.dev in task.files and entry.test in task.files
        assert entry.model in suite.tasks
        for metric in entry.metrics:
            assert METRICS[metric].target == task.target
        assert entry.submission_file.count("/") == 0


def test_suite_hash_ignores_line_endings_and_bom_only(tmp_path):
    text = (list_suites()["glue"]).read_bytes()
    crlf = b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n")
    assert suite_hash(crlf) == suite_hash(text) == load_suite("glue").sha256
    assert suite_hash(text + b"# a comment\n") != suite_hash(text)


def test_load_suite_by_name_or_path_and_unknown_names():
    assert load_suite(EXAMPLES / "klej.toml").name == "klej"
    with pytest.raises(UsageError, match="unknown suite 'superglu'. Did you mean 'superglue'"):
        load_suite("superglu")
    with pytest.raises(DataError, match="suite file not found"):
        load_suite("missing/suite.toml")


def test_lookups_forgive_case_and_dashes(glue):
    assert glue.task("sst2").name == "SST-2" and glue.entry("mnli_mm").name == "MNLI-mm"
    with pytest.raises(UsageError, match="Did you mean 'QNLI'"):
        glue.task("QNL")


def test_data_folder_accepts_the_root_or_the_suite_folder(tmp_path, glue):
    (tmp_path / "glue" / "RTE").mkdir(parents=True)
    assert glue.data_folder(tmp_path) == tmp_path / "glue"
    assert glue.data_folder(tmp_path / "glue") == tmp_path / "glue"
    assert load_suite("fewglue").data_folder(tmp_path) == tmp_path


def test_a_symlink_leading_out_of_the_data_folder_is_refused(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "secret"
    (root / "RTE").mkdir(parents=True)
    outside.mkdir()
    (outside / "dev.tsv").write_text("x\n")
    (root / "RTE" / "dev.tsv").symlink_to(outside / "dev.tsv")
    (root / "inside.tsv").write_text("x\n")
    (root / "RTE" / "ok.tsv").symlink_to(root / "inside.tsv")
    assert data_path(root, "RTE/ok.tsv") == root / "RTE" / "ok.tsv"
    with pytest.raises(DataError, match="outside the data folder"):
        data_path(root, "RTE/dev.tsv")
