"""What ``gluebench run`` does on this machine, and why, before any work starts.

* a GPU: full fine-tuning of every task with training data, the default recipe, the full
  training sets, dev and test predicted; tasks run in GLUE order while the budget lasts
  (each task's time is estimated before it starts, from the measured training rate);
* a CPU: the frozen-encoder probe on every task with training data, on one seeded
  subsample size for all tasks, the largest whose estimated time fits the budget
  (estimated from the tasks' token counts and this machine class's measured speeds, so
  the same command picks the same subsample everywhere);
* ``--method`` overrides the choice: on a CPU, fine-tuning uses the quick recipe below.
"""

from __future__ import annotations

from dataclasses import dataclass

from gluebench.benchmark.sources import DataSource
from gluebench.benchmark.tasks import BENCHMARKS, Task
from gluebench.train.features import texts_of

# Budgets: a CPU run must finish in about 5 minutes on 2 cores, model loading included.
DEFAULT_BUDGET_MINUTES = {"cpu": 4.0, "cuda": 60.0}
# Measured on the reference machine (2 AMD EPYC cores, quiet; benchmarks/RESULTS.md):
# MiniLM-L6 fp32 embedding, length-sorted batches: 10.4k tokens/s at 25 tokens per
# sentence, 9.0k at 55. We plan with the lower figure.
CPU_TOKENS_PER_SECOND = 9_000.0
# Fitting a head (logistic regression: 5 folds x 5 values of C, then the refit), in CPU
# seconds: per task, plus per million feature values (examples x features); measured on
# the same machine (3.6 s at 4,000 x 384, 7.1 s at 3,668 x 1,536).
FIT_SECONDS_PER_TASK = 3.0
FIT_SECONDS_PER_MILLION = 1.0
# Python and library imports, loading the model, tokenising, scoring and the report.
FIXED_SECONDS = 30.0
# An H100 trains MiniLM at ~1,060 examples/s (environment notes); the first task's
# measured rate replaces this estimate.
GPU_TRAIN_EXAMPLES_PER_SECOND = 1_000.0
DEV_CAP = 2_000          # dev examples scored per entry on a CPU (MNLI, QNLI, QQP are larger)
SIZE_STEP = 250          # the subsample size is a multiple of this
# The largest subsample planned: the speeds above were measured up to this size (the
# cost of fitting a head grows faster than linearly beyond it), and SST-2, the only task
# this large, gains little more from a linear probe.
MAX_SIZE = 16_000
PROFILE_EXAMPLES = 300   # examples per split whose token counts estimate the rest
# `gluebench run --method full` on 2 CPU cores: about 40 optimizer steps per task is all
# 5 minutes allow; such short runs need a larger step than the full recipe's (measured on
# CoLA, STS-B, MRPC dev: 200 examples x 6 epochs at 3e-4 gave MCC 7.7 / r 50.0 / 73.6,
# 400 x 3 at 1e-4 gave 0.0 (collapsed) / 12.2 / 74.8 (collapsed)).
QUICK_FINETUNE = {"max_train_examples": 240, "epochs": 5, "learning_rate": 3e-4,
                  "splits": "dev", "max_eval_examples": DEV_CAP}


@dataclass
class Plan:
    device: str
    method: str
    budget_seconds: float
    settings: dict               # TrainConfig values; the user's flags override them
    estimate_seconds: float | None = None


@dataclass
class TaskCost:
    """Token counts of one task, for sizing the probe."""

    task: Task
    available: int               # training examples
    train_tokens: float          # mean tokens per training example (all input fields)
    dev_tokens: float            # total tokens of the dev examples scored
    features: int                # multiple of the embedding width the head sees


def make_plan(device: str, method: str | None, budget_minutes: float | None,
              costs: list[TaskCost]) -> Plan:
    """What to run: by device, unless ``method`` says; sized to ``budget_minutes``."""
    budget = 60.0 * (budget_minutes or DEFAULT_BUDGET_MINUTES[device])
    method = method or ("full" if device == "cuda" else "probe")
    if method != "probe":
        return Plan(device, method, budget, dict(QUICK_FINETUNE) if device == "cpu" else {})
    if device == "cuda":
        return Plan(device, method, budget, {"method": "probe"})
    size, estimate = probe_size(costs, budget)
    return Plan(device, method, budget, {"method": "probe", "max_train_examples": size,
                                         "splits": "dev", "max_eval_examples": DEV_CAP},
                estimate)


def describe(plan: Plan, config) -> str:
    """One line: what runs (as finally configured, flags included), and why."""
    where = "GPU" if plan.device == "cuda" else "CPU"
    budget = f"the budget of {plan.budget_seconds / 60:g} min (--budget MINUTES)"
    subsample = (f"seeded training subsamples of up to {config.max_train_examples:,} examples "
                 "per task" if config.max_train_examples else "the full training data")
    if plan.method == "probe":
        sized = ""
        if plan.estimate_seconds is not None and \
                config.max_train_examples == plan.settings.get("max_train_examples"):
            sized = (f", sized to {budget} (estimated {plan.estimate_seconds / 60:.1f} min on "
                     "2 quiet cores)")
        why = " (no GPU to fine-tune on)" if plan.device == "cpu" else ""
        return f"{where}: frozen-encoder probe{why}, {subsample}{sized}"
    recipe = ("default recipe" if config.epochs is None and config.learning_rate is None else
              f"{config.epochs:g} epochs at learning rate {config.learning_rate:g}"
              if config.epochs and config.learning_rate else "recipe from the flags")
    return (f"{where}: {config.method} fine-tuning, {recipe}, {subsample}; tasks in GLUE "
            f"order while {budget} lasts")


def probe_seconds(costs: list[TaskCost], size: int, dim: int = 384) -> float:
    """Estimated wall time of a CPU probe run at training subsample ``size``."""
    tokens = sum(c.dev_tokens + min(size, c.available) * c.train_tokens for c in costs)
    fit = sum(min(size, c.available) * c.features * dim for c in costs) / 1e6
    return (FIXED_SECONDS + tokens / CPU_TOKENS_PER_SECOND + fit * FIT_SECONDS_PER_MILLION
            + FIT_SECONDS_PER_TASK * len(costs))


def probe_size(costs: list[TaskCost], budget: float) -> tuple[int, float]:
    """The largest subsample size (a multiple of SIZE_STEP) whose estimate fits ``budget``."""
    largest = min(MAX_SIZE, max([c.available for c in costs] or [SIZE_STEP]))
    size = SIZE_STEP
    while size < largest and probe_seconds(costs, size + SIZE_STEP) <= budget:
        size += SIZE_STEP
    size = min(size, largest)
    return size, probe_seconds(costs, size)


def task_costs(source: DataSource, tasks: list[Task], tokenizer) -> list[TaskCost]:
    """Token counts of each task's train and dev, from seeded samples of each split."""
    from gluebench.benchmark.scoring import evaluation_examples  # deferred: loads scipy
    from gluebench.runs.rundir import entries_of  # deferred: loads scipy

    def mean_tokens(examples) -> float:
        sample = examples.subsample(PROFILE_EXAMPLES, 0)
        columns = texts_of(sample)
        counts = [len(ids) for column in columns for ids in tokenizer(column)["input_ids"]]
        return sum(counts) / max(1, len(sample))

    costs = []
    for task in tasks:
        train = source.load(task, "train")
        dev_tokens = 0.0
        for entry in entries_of(task):
            benchmark = BENCHMARKS[entry]
            if source.has(task, benchmark.file_key("dev")) and benchmark.task == task.name:
                dev = evaluation_examples(source, benchmark, "dev")
                dev_tokens += min(len(dev), DEV_CAP) * mean_tokens(dev)
        costs.append(TaskCost(task, len(train), mean_tokens(train), dev_tokens,
                              1 if len(task.input_fields) == 1 else 4))
    return costs
