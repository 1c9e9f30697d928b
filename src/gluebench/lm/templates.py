"""Prompt templates as data: ``templates.toml`` holds every task's prompts and choices.

A template renders one example into a context string; its choices are the answer
texts, one per label, keyed by label NAME in the file and returned here in our label
order (``Task.labels``), so a template can never be read in another codebase's order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from gluebench.benchmark.tasks import TASKS, Task, model_task
from gluebench.errors import UsageError

DEFAULT_TEMPLATE = "lm-eval"
TARGET_DELIMITER = " "        # between a prompt and its answer (lm-eval's target_delimiter)
FEWSHOT_DELIMITER = "\n\n"    # between demonstrations (lm-eval's fewshot_delimiter)
FIELD = re.compile(r"\{(\w+)(?:\|(\w+))?\}")


def _period(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."


FILTERS = {"strip": str.strip, "period": _period}


@dataclass(frozen=True)
class Template:
    task: str          # the task whose examples it renders (AX renders with MNLI's)
    name: str
    text: str
    choices: tuple[str, ...]   # answer text per label, in our label order
    source: str

    def render(self, inputs: dict[str, str]) -> str:
        """The prompt for one example (a dict of our input field names to texts)."""
        def fill(match: re.Match) -> str:
            value = inputs[match.group(1)]
            return FILTERS[match.group(2)](value) if match.group(2) else value

        return FIELD.sub(fill, self.text)

    def continuations(self) -> list[str]:
        """What is scored after the prompt, per label: the delimiter and the choice."""
        return [TARGET_DELIMITER + c for c in self.choices]


def template_task(task: Task) -> str:
    """The task whose templates ``task`` uses (AX is predicted with MNLI's prompts)."""
    return model_task(task).name


def label_keys(task: Task) -> tuple[str, ...]:
    """The keys a template's ``choices`` use, in our label order: names, or STS-B's scores."""
    if task.labels is None:
        return tuple(str(s) for s in range(6))
    return task.label_names


@lru_cache(maxsize=1)
def _table() -> dict:
    import tomllib

    with resources.files("gluebench.lm").joinpath("templates.toml").open("rb") as handle:
        return tomllib.load(handle)


def _build(task: Task, name: str, raw: dict) -> Template:
    keys = label_keys(task)
    missing = [k for k in keys if k not in raw["choices"]]
    extra = [k for k in raw["choices"] if k not in keys]
    if missing or extra:
        raise UsageError(f"template {task.name}/{name}: choices must name each label once "
                         f"({', '.join(keys)}); missing {missing}, unknown {extra}")
    fields = {m.group(1) for m in FIELD.finditer(raw["text"])}
    unknown = fields - set(task.input_fields)
    if unknown:
        raise UsageError(f"template {task.name}/{name}: unknown field(s) {sorted(unknown)}; "
                         f"{task.name} has {', '.join(task.input_fields)}")
    return Template(task.name, name, raw["text"], tuple(raw["choices"][k] for k in keys),
                    raw.get("source", "gluebench"))


def templates_for(task: Task) -> dict[str, Template]:
    """Every template of a task, by name, in file order (the default first)."""
    own = TASKS[template_task(task)]
    return {name: _build(own, name, raw) for name, raw in _table()[own.name].items()}


def get_template(task: Task, name: str = DEFAULT_TEMPLATE) -> Template:
    known = templates_for(task)
    if name not in known:
        raise UsageError(f"unknown template '{name}' for {task.name}; known: {', '.join(known)}")
    return known[name]


def resolve_templates(spec: str | None, tasks: list[Task]) -> list[str]:
    """Template names from ``--template`` (``all``: every one), checked for every task."""
    if spec in (None, ""):
        return [DEFAULT_TEMPLATE]
    if spec == "all":
        return list(dict.fromkeys(n for t in tasks for n in templates_for(t)))
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for task in tasks:
        for name in names:
            get_template(task, name)
    return names


def templates_by_task(spec: str | None, tasks: list[Task]) -> dict[str, list[str]]:
    """Each task's template names from ``--template``: ``all`` is each task's own templates;
    names are checked for every task."""
    if spec == "all":
        return {t.name: list(templates_for(t)) for t in tasks}
    names = resolve_templates(spec, tasks)
    return {t.name: names for t in tasks}


def few_shot_prompt(template: Template, demos: list[tuple[dict[str, str], int]],
                    inputs: dict[str, str]) -> str:
    """Demonstrations (inputs, choice id) then the example, as lm-eval joins them."""
    shots = [template.render(d) + TARGET_DELIMITER + template.choices[c] for d, c in demos]
    return "".join(s + FEWSHOT_DELIMITER for s in shots) + template.render(inputs)
