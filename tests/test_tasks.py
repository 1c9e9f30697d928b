"""The task registry: one parametrized check over every task, plus the official facts."""

import pytest

from gluebench.benchmark.tasks import (
    BENCHMARKS,
    GLUE_GROUPS,
    TASKS,
    benchmark_for_file,
    get_task,
    resolve_benchmarks,
)
from gluebench.errors import UsageError

OFFICIAL_TEST_SIZES = {"CoLA": 1063, "SST-2": 1821, "MRPC": 1725, "STS-B": 1379, "QQP": 390965,
                       "MNLI-m": 9796, "MNLI-mm": 9847, "QNLI": 5463, "RTE": 3000, "WNLI": 146,
                       "AX": 1104}
OFFICIAL_VOCABULARY = {
    **dict.fromkeys(["CoLA", "SST-2", "MRPC", "QQP", "WNLI"], ("0", "1")),
    **dict.fromkeys(["MNLI", "AX"], ("entailment", "neutral", "contradiction")),
    **dict.fromkeys(["QNLI", "RTE"], ("entailment", "not_entailment")),
}


@pytest.mark.parametrize("task", TASKS.values(), ids=list(TASKS))
def test_every_task_is_complete(task):
    assert task.input_fields and len(task.input_fields) == len(task.hf_fields)
    assert (task.labels is None) == (task.label_names is None)
    if task.labels is not None:
        assert len(task.labels) == len(task.label_names) == len(set(task.labels))
    assert "test" in task.files
    for spec in task.files.values():
        assert spec.size > 0 and spec.path.endswith(".tsv")
        assert len(spec.text_columns) == len(task.input_fields)


def test_the_nine_glue_groups_and_ax_outside_the_score():
    assert GLUE_GROUPS == ("CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE", "WNLI")
    assert BENCHMARKS["AX"].glue_group is None
    assert BENCHMARKS["MNLI-m"].glue_group == BENCHMARKS["MNLI-mm"].glue_group == "MNLI"


def test_official_test_sizes_and_vocabulary():
    for name, b in BENCHMARKS.items():
        assert TASKS[b.task].files[b.test].size == OFFICIAL_TEST_SIZES[name]
        assert b.submission_file == f"{name}.tsv"
        assert benchmark_for_file(b.submission_file) is b
    for task, vocab in OFFICIAL_VOCABULARY.items():
        assert TASKS[task].labels == vocab
    assert TASKS["STS-B"].labels is None


def test_label_order_traps():
    # RTE/QNLI: 0 = entailment; WNLI: 1 = entailment (as in the official files and HF datasets).
    assert TASKS["RTE"].label_names[0] == TASKS["QNLI"].label_names[0] == "entailment"
    assert TASKS["WNLI"].label_names[1] == "entailment"


def test_official_metrics():
    assert {n: b.metrics for n, b in BENCHMARKS.items()} == {
        "CoLA": ("mcc",), "SST-2": ("accuracy",), "MRPC": ("f1", "accuracy"),
        "STS-B": ("pearson", "spearman"), "QQP": ("f1", "accuracy"), "MNLI-m": ("accuracy",),
        "MNLI-mm": ("accuracy",), "QNLI": ("accuracy",), "RTE": ("accuracy",),
        "WNLI": ("accuracy",), "AX": ("r3",)}


def test_names_are_forgiving_and_typos_are_explained():
    assert get_task("sst2").name == "SST-2"
    assert [b.name for b in resolve_benchmarks("mnli,rte")] == ["MNLI-m", "MNLI-mm", "RTE"]
    assert [b.name for b in resolve_benchmarks("MNLI-mm")] == ["MNLI-mm"]
    with pytest.raises(UsageError, match="Did you mean 'SST-2'"):
        resolve_benchmarks("SST3")


def test_tasks_command_prints_every_entry(run_cli):
    code, out, _ = run_cli("tasks")
    assert code == 0
    for name in BENCHMARKS:
        assert name in out
    assert "390965" in out and "not_entailment" in out
