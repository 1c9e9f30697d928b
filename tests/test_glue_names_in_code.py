"""GLUE is defined once, in ``suites/glue.toml``: no GLUE task name is left in code.

Issue 21, item 1: the relations ("the MNLI model predicts AX", "regression means STS-B's
[0, 5]", "AX has categories") come from the definition. The scan below finds every quoted
GLUE task or entry name in the package's Python files; the only ones allowed are AdvGLUE's
task map and the documentary strings listed here (help texts, examples, presets a user sees).
"""

from __future__ import annotations

import re
from pathlib import Path

import gluebench
from gluebench.benchmark import tasks
from gluebench.benchmark.suite_loader import load_suite

PACKAGE = Path(gluebench.__file__).parent
NAME = re.compile(r"""["'](CoLA|SST-2|MRPC|STS-B|QQP|MNLI|QNLI|RTE|WNLI|AX)(-m|-mm)?["']""")
ALLOWED = {
    "robustness/advglue.py": "AdvGLUE's task map (the issue keeps it)",
    "benchmark/sources.py": "a docstring example: load(\"RTE\", \"dev\", ...)",
    "sweep/spec.py": "a docstring example of a sweep file",
    "cli/study.py": "the studies' presets (the tasks the papers used), shown in --help",
    "efficiency/profile.py": "profile's default task when none is given (SST-2, one sentence)",
    "report/sections/blocks.py": "the report's navigation label of the 'ax' section",
}


def glue_names_in(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [f"{path.relative_to(PACKAGE)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
            for m in NAME.finditer(text)]


def test_no_glue_task_name_in_code_outside_the_allowed_places():
    found = [hit for path in sorted(PACKAGE.rglob("*.py"))
             if path.relative_to(PACKAGE).as_posix() not in ALLOWED
             for hit in glue_names_in(path)]
    assert found == []


def test_the_glue_table_is_the_loaded_definition():
    glue = load_suite("glue")
    assert tasks.GLUE.sha256 == glue.sha256
    assert list(tasks.TASKS) == list(glue.tasks) and list(tasks.BENCHMARKS) == list(glue.entries)
    for name, entry in glue.entries.items():
        b = tasks.BENCHMARKS[name]
        assert (b.model, b.categories, b.glue_group) == (entry.model, entry.categories,
                                                          entry.group)
    for name, task in glue.tasks.items():
        assert tasks.TASKS[name].score_range == task.score_range
        assert tasks.TASKS[name].files == task.files


def test_relations_are_read_from_the_definition():
    # AX is predicted by the MNLI model; every other task by its own.
    assert {n: tasks.model_task(t).name for n, t in tasks.TASKS.items()
            if tasks.model_task(t) is not t} == {"AX": "MNLI"}
    # the regression's range is the definition's score_range
    assert [(n, t.score_range) for n, t in tasks.TASKS.items() if t.is_regression] == \
        [("STS-B", (0.0, 5.0))]
    # the entries with categories: AX's four coarse categories
    assert {n: b.categories for n, b in tasks.BENCHMARKS.items() if b.categories} == {
        "AX": ("Lexical Semantics", "Predicate-Argument Structure", "Logic", "Knowledge")}
