"""What the sweep tests share: tiny specs, a CLI subprocess, and trial-by-trial comparisons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"


def write_spec(path: Path, model, *, tasks=("RTE", "MRPC"), methods=("full",), seeds=(1,),
               grid="learning_rate = [1e-4, 1e-3]", fixed="", extra="", train=32,
               epochs=1) -> Path:
    """A tiny sweep of the tiny model: 32 train examples (6 held out), 32 dev, one epoch."""
    models = ", ".join(json.dumps(str(m)) for m in ([model] if not isinstance(model, list)
                                                     else model))
    path.write_text(f"""models = [{models}]
tasks = {json.dumps(list(tasks))}
methods = {json.dumps(list(methods))}
seeds = {json.dumps(list(seeds))}
{extra}
[grid]
{grid}
[fixed]
max_train_examples = {train}
max_eval_examples = 32
epochs = {epochs}
batch_size = 16
max_seq_length = 64
{fixed}
[resources]
cpus = 1
""", encoding="utf-8")
    return path


def env_for_workers(cache: Path) -> dict:
    """This checkout's gluebench and the tests' feature cache, for processes we start."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["GLUEBENCH_CACHE"] = str(cache)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return env


def gluebench(*args, env: dict, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gluebench", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout, **kw)


def records(sweep_dir: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (sweep_dir / "results").glob("*.json")}


def numbers(record: dict) -> dict:
    """A record's summary without wall-clock times: what must not depend on the executor."""
    summary = json.loads(json.dumps(record["summary"]))
    summary["train"].pop("seconds")
    return summary


def assert_same_trials(a: Path, b: Path) -> int:
    """Every trial of ``b`` is in ``a`` with the same numbers and dev outputs; returns the count."""
    ra, rb = records(a), records(b)
    assert rb and set(rb) <= set(ra)
    for key in rb:
        assert ra[key]["status"] == rb[key]["status"] == "ok"
        assert numbers(ra[key]) == numbers(rb[key]), key
        for npz in (a / "trials" / key / "outputs").glob("*.npz"):
            with np.load(npz) as x, np.load(b / "trials" / key / "outputs" / npz.name) as y:
                assert np.array_equal(x["outputs"], y["outputs"]), (key, npz.name)
        for tsv in (a / "trials" / key / "predictions" / "dev").glob("*.tsv"):
            assert tsv.read_bytes() == (b / "trials" / key / "predictions" / "dev" /
                                        tsv.name).read_bytes()
    return len(rb)
