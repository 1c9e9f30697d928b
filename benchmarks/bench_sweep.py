"""Per-trial scheduling overhead of each sweep executor, against the trial's own time.

The same small sweep (all-MiniLM-L6-v2, RTE, one seed per trial) runs through the real
runner with each executor: ``inline``, ``process`` (a spawned pool) and ``ray`` (a local
Ray instance started by the executor). Each trial's record holds the wall time the runner
saw (``wall_seconds``: submit to result) and the time inside the worker's ``finetune``
(``trial_seconds``); their difference is the executor's overhead for that trial: pickling
nothing but JSON, starting or reusing a worker, importing torch there, returning the record.
The first trial of a pool pays the worker's start (spawn, imports); later trials show the
steady state. One-off costs (starting Ray) are timed separately.

    python benchmarks/bench_sweep.py --data-dir ../shared/data/glue [--train 96 --epochs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from gluebench.benchmark.sources import open_source
from gluebench.efficiency.profile import cpu_name

TARGET_SECONDS = 30.0   # the reference trial length
TARGET_SHARE = 0.02


def spec_text(train: int, epochs: int, seeds: int) -> str:
    return f"""tasks = ["RTE"]
seeds = {list(range(1, seeds + 1))}
[fixed]
max_train_examples = {train}
max_eval_examples = 128
epochs = {epochs}
learning_rate = 3e-4
[resources]
cpus = 1
"""


def run_executor(name: str, spec_path: Path, data: str, workers: int) -> dict:
    from gluebench.sweep.executors import make_executor
    from gluebench.sweep.runner import plan_document, run_sweep
    from gluebench.sweep.spec import read_spec
    from gluebench.sweep.sweepdir import SweepDir
    from gluebench.sweep.trials import expand

    spec = read_spec(spec_path)
    source = open_source(data)
    trials = expand(spec, source)
    with tempfile.TemporaryDirectory() as tmp:
        sweep = SweepDir(Path(tmp) / name)
        started = time.perf_counter()
        executor = make_executor(name, resources=spec.resources, max_parallel=workers)
        setup = time.perf_counter() - started
        sweep.write_plan(plan_document(spec, trials, source.description, data))
        outcome = run_sweep(sweep, trials, executor, data=data, cpus=spec.resources.cpus,
                            max_parallel=workers, resamples=200, progress=False)
        total = time.perf_counter() - started
        found = sweep.records()
        order = [t.key for t in trials]
        rows = [found[k] for k in order if k in found]
    overhead = [r["wall_seconds"] - r["trial_seconds"] for r in rows]
    own = [r["trial_seconds"] for r in rows]
    steady = overhead[workers:] or overhead
    return {"executor": name, "workers": workers, "trials": len(rows),
            "failed": len(outcome.failed), "setup_seconds": setup, "sweep_seconds": total,
            "trial_seconds": own, "overhead_seconds": overhead,
            "first_overhead": overhead[0] if overhead else None,
            "steady_overhead_median": statistics.median(steady) if steady else None,
            "steady_share_of_own": (statistics.median(steady) / statistics.median(own))
            if steady else None,
            "share_of_30s_trial": (statistics.median(steady) / TARGET_SECONDS)
            if steady else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data/glue")
    ap.add_argument("--train", type=int, default=96, help="training examples per trial")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=4, help="trials per executor")
    ap.add_argument("--executors", default="inline,process,ray")
    ap.add_argument("--out", default="benchmarks/results/cpu-sweep.json")
    args = ap.parse_args()

    data = str(Path(args.data_dir).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.toml"
        spec.write_text(spec_text(args.train, args.epochs, args.seeds))
        results = []
        for name in args.executors.split(","):
            workers = 1 if name == "inline" else 2
            row = run_executor(name, spec, data, workers)
            results.append(row)
            print(f"{name:8s} workers {workers}: trial own time median "
                  f"{statistics.median(row['trial_seconds']):.1f} s; overhead first "
                  f"{row['first_overhead']:.2f} s, steady median "
                  f"{row['steady_overhead_median']:.3f} s = "
                  f"{100 * row['steady_share_of_own']:.2f}% of this trial, "
                  f"{100 * row['share_of_30s_trial']:.2f}% of a 30 s trial (target <= "
                  f"{100 * TARGET_SHARE:.0f}%); setup {row['setup_seconds']:.1f} s; sweep "
                  f"{row['sweep_seconds']:.1f} s", flush=True)
            write(args, results)   # after each executor: a later failure keeps these
    print(f"load average {os.getloadavg()}; wrote {args.out}")


def write(args, results: list[dict]) -> None:
    doc = {"benchmark": "sweep executor overhead", "args": vars(args), "cpu": cpu_name(),
           "load_average": os.getloadavg(), "cpus": os.cpu_count(), "results": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
