"""Prompt templates for a suite's tasks as data: ``suite_templates.toml`` (SuperGLUE's).

A template renders one row of an ``ExampleTable`` into a context and its answer choices.
Unlike GLUE's templates (``templates.py``), a choice may depend on the row (COPA's
alternatives, MultiRC's answer, ReCoRD's entities), so the choices are rendered per row;
each fixed choice names the label it predicts (``predicts``), and a ReCoRD choice predicts
its entity's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from gluebench.benchmark.suite import TaskDef
from gluebench.errors import UsageError
from gluebench.lm.suite_inputs import candidates
from gluebench.lm.templates import DEFAULT_TEMPLATE, FEWSHOT_DELIMITER, TARGET_DELIMITER

FIELD = re.compile(r"\{(\w+)(?:\|(\w+))?\}")
FILTERS = {
    "strip": str.strip,
    "period": lambda t: t.strip() if t.strip().endswith(".") else t.strip() + ".",
    "stem": lambda t: t.strip()[:-1],                 # COPA: the premise without its "."
    "lowerfirst": lambda t: t[:1].lower() + t[1:],    # COPA: an alternative mid-sentence
}


def fill(text: str, fields: dict) -> str:
    """``text`` with each ``{field}`` / ``{field|filter}`` replaced."""
    def one(match: re.Match) -> str:
        value = str(fields[match.group(1)])
        return FILTERS[match.group(2)](value) if match.group(2) else value

    return FIELD.sub(one, text)


@dataclass(frozen=True)
class SuiteTemplate:
    task: str                            # the task whose templates these are (AX-b: RTE)
    name: str
    text: str
    choices: tuple[str, ...] = ()        # fixed-choice tasks: answer texts (may hold fields)
    predicts: tuple[str, ...] = ()       # the label token each choice predicts
    entity_choice: str | None = None     # ReCoRD: one choice per candidate entity
    source: str = "gluebench"

    def render(self, fields: dict) -> str:
        return fill(self.text, fields)

    def choice_texts(self, fields: dict) -> list[str]:
        """The answer texts for one row (its prompt fields), in the template's order."""
        if self.entity_choice is None:
            return [fill(c, fields) for c in self.choices]
        return [fill(self.entity_choice, {**fields, "entity": e}).replace("@placeholder", e)
                for e in candidates(fields["entities"])]

    def continuations(self, fields: dict) -> tuple[str, ...]:
        return tuple(TARGET_DELIMITER + c for c in self.choice_texts(fields))

    @property
    def fixed_choices(self) -> bool:
        """Whether every row has the same answer texts (what calibration needs)."""
        return self.entity_choice is None and not any(FIELD.search(c) for c in self.choices)

    def prediction(self, task: TaskDef, fields: dict, j: int):
        """What choice ``j`` predicts: a class id into ``task.labels``, or an entity text."""
        if self.entity_choice is not None:
            return candidates(fields["entities"])[j]
        return task.labels.index(self.predicts[j])

    def gold_choice(self, task: TaskDef, fields: dict, gold) -> int:
        """The choice a demonstration shows for its gold label (class id, or answer texts:
        the first in sorted order, as lm-eval's ReCoRD doc_to_target)."""
        if self.entity_choice is not None:
            return candidates(fields["entities"]).index(sorted(set(gold))[0])
        return self.predicts.index(task.labels[int(gold)])


@lru_cache(maxsize=1)
def _table() -> dict:
    import tomllib

    with resources.files("gluebench.lm").joinpath("suite_templates.toml").open("rb") as f:
        return tomllib.load(f)


def _build(task: TaskDef, owner: str, name: str, raw: dict) -> SuiteTemplate:
    template = SuiteTemplate(owner, name, raw["text"], tuple(raw.get("choices", ())),
                             tuple(raw.get("predicts", ())), raw.get("entity_choice"),
                             raw.get("source", "gluebench"))
    if template.entity_choice is None:
        labels = task.labels or ()
        if len(template.choices) != len(template.predicts) or \
                sorted(template.predicts) != sorted(labels):
            raise UsageError(f"template {owner}/{name}: `predicts` must name each of "
                             f"{task.name}'s labels ({', '.join(labels)}) once, one per choice")
    return template


def suite_templates_for(task: TaskDef) -> dict[str, SuiteTemplate]:
    """Every template of a task, by name, in file order (the default first)."""
    table = dict(_table())
    owner = table.pop("aliases", {}).get(task.name, task.name)   # AX-b, AX-g: RTE's
    if owner not in table:
        raise UsageError(f"no prompt templates for {task.name}; templates exist for: "
                         f"{', '.join(table)}")
    return {name: _build(task, owner, name, raw) for name, raw in table[owner].items()}


def get_suite_template(task: TaskDef, name: str = DEFAULT_TEMPLATE) -> SuiteTemplate:
    known = suite_templates_for(task)
    if name not in known:
        raise UsageError(f"unknown template '{name}' for {task.name}; known: {', '.join(known)}")
    return known[name]


def suite_templates_by_task(spec: str | None, tasks: list[TaskDef]) -> dict[str, list[str]]:
    """Each task's template names from ``--template`` (``all``: each task's own; a
    comma-separated list: checked for every task)."""
    if spec == "all":
        return {t.name: list(suite_templates_for(t)) for t in tasks}
    names = [s.strip() for s in (spec or DEFAULT_TEMPLATE).split(",") if s.strip()]
    for task in tasks:
        for name in names:
            get_suite_template(task, name)
    return {t.name: names for t in tasks}


def few_shot_context(template: SuiteTemplate, demos: list[tuple[dict, int]], fields: dict
                     ) -> str:
    """Demonstrations (prompt fields, choice shown) then the row, as lm-eval joins them."""
    shots = [template.render(d) + TARGET_DELIMITER + template.choice_texts(d)[c]
             for d, c in demos]
    return "".join(s + FEWSHOT_DELIMITER for s in shots) + template.render(fields)
