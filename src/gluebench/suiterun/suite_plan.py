"""What ``gluebench run --suite NAME|PATH`` runs for each task of a suite, and why.

A suite's tasks come in *shapes* (``task_shape``): classification of a text or a pair
(BoolQ, CB, RTE), multiple choice (COPA), marked spans (WiC's word, WSC's coreference
spans), one decision per answer option of a question (MultiRC), choosing an entity for a
cloze (ReCoRD), a score (STS-B-like regression). A method supports some shapes on some
devices; ``METHODS`` is that table, in order of preference, and the plan gives each task
the first method that supports its shape on this device. A new method (fine-tuning,
the probe, a prompted LM for SuperGLUE's shapes) plugs in as one more ``MethodSpec`` row,
ahead of the majority baseline, which supports every shape everywhere and is the
reference row of every table.

A task is planned when it has training data (the model is trained or its majority
class taken from it) and some entry it predicts has a dev file under ``--data-dir``
(AX-b and AX-g are predicted by RTE's model); a task without either is listed with the
reason it is left out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from gluebench.benchmark.split_reader import split_file
from gluebench.benchmark.suite import Suite, TaskDef
from gluebench.errors import UsageError
from gluebench.models import hf
from gluebench.probe.suite_run import probe_problem, probing, task_datas
from gluebench.runs.suite_units import has_split, model_entries, suite_model_tasks
from gluebench.runs.units import Method
from gluebench.shapes.framing import shape_of
from gluebench.suiterun.baseline_units import SuiteBaselineUnits
from gluebench.train import loop
from gluebench.train.suite_runner import SuiteFineTuning, reading_suite

SHAPES = ("classification", "multiple_choice", "spans", "multi_answer", "entity_choice",
          "regression")


@dataclass(frozen=True)
class RunContext:
    """What a method is made from when ``run --suite`` reaches it (``MethodSpec.units``)."""

    suite: Suite
    data_dir: str | os.PathLike
    config: object                # the TrainConfig this method runs with (None: it has none)
    tasks: list                   # the TaskDefs planned for it
    run: object                   # the RunDir, already started
    header: dict
    bars: object                  # progress (RunProgress)
    n_resamples: int
    stats_seed: int
    started: float                # time.perf_counter() when the run began
    more: dict                    # extra keys of results.json (the plan)


#: A method for the unit loop (``runs.units.Method``), made from the run's context.
UnitsFactory = Callable[[RunContext], Method]
#: Why a method cannot run one task with these data (None: it can):
#: ``problem(suite, task, data_dir, config)``.
ProblemCheck = Callable[..., "str | None"]


@dataclass(frozen=True)
class MethodSpec:
    """One row of the method table: what a method supports, the line that says why, and
    how it runs a task's units (a ``Method`` of ``runs.units``, writing through
    ``runs.suite_units``)."""

    name: str
    shapes: frozenset[str]
    devices: frozenset[str]          # "cpu", "cuda"
    why: str
    units: UnitsFactory
    settings: tuple[tuple[str, object], ...] = ()   # TrainConfig values it runs with
    problem: ProblemCheck | None = None


def _probe_units(ctx: RunContext) -> Method:
    datas = task_datas(ctx.suite, ctx.tasks, ctx.data_dir, ctx.config)
    return probing(ctx.suite, datas, ctx.config, ctx.run, ctx.header, ctx.bars, more=ctx.more,
                   n_resamples=ctx.n_resamples, stats_seed=ctx.stats_seed, started=ctx.started)


def _finetune_units(ctx: RunContext) -> Method:
    ref = hf.resolve_model(ctx.config.model)
    return SuiteFineTuning(ctx.suite, reading_suite(ctx.suite, ctx.data_dir), ctx.data_dir, ref,
                           hf.load_tokenizer(ref), ctx.config, loop.Engine.choose(ctx.config),
                           ctx.run, ctx.bars, ctx.header, ctx.n_resamples, ctx.stats_seed,
                           ctx.started)


METHODS: list[MethodSpec] = [
    MethodSpec("finetune", frozenset(SHAPES) - {"regression"}, frozenset({"cuda"}),
               "fine-tuning the encoder (a sequence classifier for pairs and spans, a "
               "multiple-choice head for options; FewGLUE: the median seed on dev32): what a "
               "GPU makes affordable",
               _finetune_units, settings=(("splits", ("dev",)),)),
    MethodSpec("probe", frozenset(SHAPES), frozenset({"cpu", "cuda"}),
               "the frozen encoder's sentence vectors of each framed pair or option and a "
               "scikit-learn head (C chosen on dev32 where the suite has it, else by k-fold "
               "on train): minutes on a CPU",
               _probe_units, settings=(("method", "probe"), ("splits", ("dev",))),
               problem=probe_problem),
    MethodSpec("majority", frozenset(SHAPES), frozenset({"cpu", "cuda"}),
               "the majority class of the task's training labels (an entity task: the "
               "entity its passage mentions most); the reference row of every table",
               SuiteBaselineUnits.of),
]


def register_method(spec: MethodSpec) -> None:
    """Add a method ahead of the majority baseline (the last resort stays last)."""
    if any(m.name == spec.name for m in METHODS):
        raise ValueError(f"method '{spec.name}' is registered already")
    METHODS.insert(len(METHODS) - 1, spec)


@dataclass(frozen=True)
class PlannedTask:
    task: str
    shape: str
    method: str | None               # None: left out (``why`` says why)
    entries: tuple[str, ...]         # the entries its model predicts on dev
    why: str


@dataclass(frozen=True)
class SuitePlan:
    suite: Suite
    device: str
    tasks: tuple[PlannedTask, ...]
    configs: dict = field(default_factory=dict)   # method name -> the TrainConfig it runs with

    @property
    def planned(self) -> list[PlannedTask]:
        return [t for t in self.tasks if t.method is not None]

    def record(self) -> list[dict]:
        """The plan as plain JSON, for ``results.json``."""
        return [{"task": t.task, "shape": t.shape, "method": t.method,
                 "entries": list(t.entries), "why": t.why} for t in self.tasks]


def task_shape(task: TaskDef) -> str:
    """The task's shape, read off its definition (see the module docstring)."""
    framing = shape_of(task)   # how an encoder reads it: classify, or choose among options
    if framing == "choose-entities":
        return "entity_choice"
    if framing == "choose-fields":
        return "multiple_choice"   # COPA: each label names an input field (choice1, choice2)
    if task.target == "score":
        return "regression"
    if any("question" in f.group_names for f in task.files.values()):
        return "multi_answer"
    if task.spans:
        return "spans"
    return "classification"


def choose_method(shape: str, device: str, fits=lambda m: None) -> tuple[MethodSpec, list[str]]:
    """The first method for ``shape`` on ``device`` that ``fits`` the task (returns None),
    and the reasons the ones before it gave."""
    passed = []
    for m in METHODS:
        if shape in m.shapes and device in m.devices:
            why = fits(m)
            if why is None:
                return m, passed
            passed.append(f"{m.name}: {why}")
    raise AssertionError("the majority baseline supports every shape")


def method_named(name: str) -> MethodSpec:
    return next(m for m in METHODS if m.name == name)


def make_suite_plan(suite: Suite, data_dir: str | os.PathLike, device: str,
                    tasks_spec: str = "all", config_for=None) -> SuitePlan:
    """Each model task of ``suite`` (``tasks_spec``: "all" or comma-separated names) with
    its method, or the reason it is left out; UsageError when nothing can run.
    ``config_for(method)``: the TrainConfig a method runs with (its ``settings`` under the
    user's flags); a method's ``problem`` check reads it."""
    configs = {m.name: config_for(m) if config_for else None for m in METHODS}
    rows = [_plan_task(suite, task, data_dir, device, configs)
            for task in suite_model_tasks(suite, tasks_spec)]
    plan = SuitePlan(suite, device, tuple(rows), configs)
    if not plan.planned:
        reasons = "; ".join(f"{t.task}: {t.why}" for t in rows) or "no task chosen"
        raise UsageError(f"nothing to run for {suite.title} under {data_dir} ({reasons}); "
                         "expected the suite's training and dev files there")
    return plan


def _plan_task(suite: Suite, task: TaskDef, data_dir, device: str, configs: dict
               ) -> PlannedTask:
    shape = task_shape(task)
    entries = model_entries(suite, task)
    scored = tuple(e.name for e in entries if has_split(suite, suite.task(e.task), e.dev,
                                                        data_dir))
    if not has_split(suite, task, "train", data_dir):
        where = task.files["train"].path if "train" in task.files else "none defined"
        return PlannedTask(task.name, shape, None, scored,
                           f"no training file ({where}) under the data folder")
    if not scored:
        files = ", ".join(split_file(suite.task(e.task), e.dev).path for e in entries)
        return PlannedTask(task.name, shape, None, (), f"no dev file ({files}) under the "
                           "data folder to score")
    def fits(m: MethodSpec):
        return None if m.problem is None else m.problem(suite, task, data_dir,
                                                        configs[m.name])

    method, passed = choose_method(shape, device, fits)
    if passed:
        why = "; ".join(passed) + f"; so {method.name}"
    elif method is METHODS[-1]:
        why = f"no other method supports {shape} tasks on the {device} yet"
    else:
        why = f"the first method for {shape} tasks on the {device}"
    return PlannedTask(task.name, shape, method.name, scored, why)


def describe_suite_plan(plan: SuitePlan) -> list[str]:
    """The plan as lines: one per task (shape, method, why), then what is left out."""
    where = "GPU" if plan.device == "cuda" else "CPU"
    lines = [f"plan: {plan.suite.title} on the {where}, one method per task by its shape "
             "(the first in the method table that supports it here):"]
    for t in plan.tasks:
        if t.method is None:
            lines.append(f"  {t.task} ({t.shape}): not run: {t.why}")
            continue
        lines.append(f"  {t.task} ({t.shape}) -> {t.method}, scored on {', '.join(t.entries)}"
                     f": {t.why}")
    used = dict.fromkeys(t.method for t in plan.planned)
    lines += [f"  {m.name}: {m.why}" for m in METHODS if m.name in used]
    return lines
