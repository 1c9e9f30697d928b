"""One trial, run wherever an executor puts it: plain JSON in, plain JSON out.

The trial is a normal ``finetune`` run of one task x one seed into
``SWEEP_DIR/trials/<key>/`` (so ``score``, ``calibration`` and ``report`` work on it).
Nothing but the job dict and the returned record crosses a process or machine boundary.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time

from gluebench.benchmark.sources import open_source
from gluebench.errors import UsageError
from gluebench.formats.atomic import write_json
from gluebench.sweep.sweepdir import SweepDir
from gluebench.train.config import build_config
from gluebench.train.suite_runner import suite_hooks

STATS_SEED = 0


def job_for(trial: dict, attempt: int, *, sweep_dir: str, data: str, cpus: int,
            resamples: int) -> dict:
    """What an executor sends to ``run_trial``: the trial and where its inputs and outputs are."""
    return {"trial": trial, "attempt": attempt, "sweep_dir": str(sweep_dir), "data": data,
            "cpus": cpus, "resamples": resamples}




def check_trainable(view, methods=(), configs=()) -> None:
    """Before a sweep or study writes anything: its trials can be fine-tuned on its suite
    (a suite other than GLUE: by ``finetune --suite``'s engine, which runs layer dropping
    and trackers but not data diets or distillation: those are refused)."""
    if view.is_glue:
        return
    if "probe" in methods:
        raise UsageError(f"suite {view.name}: a sweep on a suite fine-tunes; method 'probe' is "
                         "not fine-tuning (expected full, lora, bitfit, layernorm or head)")
    for config in configs:
        suite_hooks(build_config(**config))   # data diets, distillation: refused in one line


def _finetune(job: dict, trial: dict, out):
    """``results.json`` of the trial's run: GLUE's ``recipes.finetune``, or a suite's."""
    config = build_config(**trial["config"])
    if trial.get("suite") is None:
        from gluebench.recipes import finetune  # deferred: loads scipy

        return finetune(open_source(job["data"]), config, out, trial["task"], progress=False,
                        n_resamples=job["resamples"], stats_seed=STATS_SEED)
    from gluebench.benchmark.suite_loader import load_suite
    from gluebench.train.suite_runner import finetune_suite  # deferred: loads torch

    return finetune_suite(load_suite(trial["suite"]), job["data"], config, out, trial["task"],
                          progress=False, n_resamples=job["resamples"], stats_seed=STATS_SEED)


def run_trial(job: dict) -> dict:
    """Fine-tune one trial; returns its result record (``summary`` of ``results.json``).

    Torch gets exactly the trial's CPUs as threads (and its previous setting back), so a
    trial computes the same numbers in this process, a pool worker or a Ray worker.
    """
    import torch

    trial = job["trial"]
    out = SweepDir(job["sweep_dir"]).trial_dir(trial["key"])
    worker = {"pid": os.getpid(), "host": socket.gethostname(), "ray_node": _ray_node()}
    # Written first: where an attempt runs (the fault test kills this pid).
    write_json(out / "attempts" / f"{job['attempt']}.json", {**worker, "started": time.time()})
    threads = torch.get_num_threads()
    torch.set_num_threads(job["cpus"])
    start = time.perf_counter()
    try:
        with open(out / "log.txt", "a", encoding="utf-8") as log, \
                contextlib.redirect_stderr(log):
            results = _finetune(job, trial, out)
    finally:
        torch.set_num_threads(threads)
    return {"key": trial["key"], "worker": worker, "seconds": time.perf_counter() - start,
            "summary": summarise(results, trial["task"])}


def _ray_node() -> str | None:
    """The Ray node this runs on, when it runs in a Ray worker (else None)."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return None
    return ray.get_runtime_context().get_node_id()


def summarise(results: dict, task: str) -> dict:
    """The numbers of a trial's ``results.json`` that selection and the report need."""
    training = results["training"][task]
    entries = {name: {"score": e["score"], "metrics": e.get("metrics"), "n": e.get("n"),
                      "collapsed": bool(e.get("collapsed")), "subsample": e.get("subsample")}
               for name, e in results["tasks"].items()}
    holdout = training.get("holdout")
    # A suite run chosen on its own selection split (FewGLUE's dev32): that split's score.
    chosen = (results.get("selection") or {}).get(task)
    selection = {} if not chosen else {"selection": {
        "split": chosen["split"], "score": next(iter(chosen["per_seed"].values()))}}
    return {
        "entries": entries,
        "holdout": None if not holdout else {
            k: holdout.get(k) for k in ("entry", "score", "metrics", "examples", "collapsed")},
        "learning_rate": training.get("learning_rate"), "epochs": training.get("epochs"),
        "parameters": training.get("parameters"),
        "train": {k: training["train"].get(k) for k in ("examples", "steps", "final_loss",
                                                        "seconds")},
        **selection,
    }
