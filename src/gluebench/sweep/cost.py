"""A rough cost of a sweep before it runs: optimizer steps, examples predicted, seconds.

Seconds come from trials already finished in the sweep directory when there are some
(measured), else from per-step and per-example rates measured for all-MiniLM-L6-v2
(environment notes: ~1.5 s per batch-32 step on 2 CPU cores, ~30 ms on an H100).
"""

from __future__ import annotations

import math

from gluebench.runs.suite_view import suite_view
from gluebench.sweep.trials import Trial
from gluebench.train.config import EPOCHS_BY_TRAIN_SIZE

# MiniLM-sized model, batch 32: seconds per optimizer step, examples predicted per second,
# and the fixed cost of a trial (loading the model and data).
RATES = {"cpu": {"step": 1.5, "predict": 100.0, "fixed": 4.0},
         "cuda": {"step": 0.03, "predict": 20_000.0, "fixed": 6.0}}


def trial_work(trial: Trial) -> dict:
    """Training steps and examples predicted of one trial, from the official split sizes."""
    c, view = trial.config, suite_view(trial.suite)
    n = view.train_size(trial.task)
    if c["max_train_examples"]:
        n = min(n, c["max_train_examples"])
    held = round(n * c["holdout_fraction"]) if c["holdout_fraction"] else 0
    n_train = n - held
    epochs = c["epochs"] or next(e for limit, e in EPOCHS_BY_TRAIN_SIZE if n_train < limit)
    steps = max(1, math.ceil(math.ceil(n_train / c["batch_size"]) * epochs))
    predicted = held
    for split, size in view.predicted_sizes(trial.task, c["splits"]):
        if split == "dev" and c["max_eval_examples"]:
            size = min(size, c["max_eval_examples"])
        predicted += size
    scale = c["batch_size"] / 32
    return {"train_examples": n_train, "steps": steps, "step_scale": scale,
            "predicted": predicted}


def estimate(trials: list[Trial], device: str, measured: list[float] | None = None) -> dict:
    """Total trial-seconds, and how they were estimated."""
    if measured:
        per = sum(measured) / len(measured)
        return {"seconds": per * len(trials), "per_trial": per,
                "basis": f"mean of {len(measured)} finished trial(s) in this directory"}
    rate = RATES[device]
    total = 0.0
    for trial in trials:
        work = trial_work(trial)
        total += (rate["fixed"] + work["steps"] * rate["step"] * work["step_scale"]
                  + work["predicted"] / rate["predict"])
    return {"seconds": total, "per_trial": total / max(1, len(trials)),
            "basis": f"MiniLM-sized rates on {device} (a rough guide for larger models: "
                     "scale by parameters)"}
