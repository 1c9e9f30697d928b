"""A run directory's prediction folders: the selected seed's, and each seed's with a
seed-aware summary (mean over seeds and a CI that includes seed variance)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from gluebench.errors import DataError, UsageError
from gluebench.runs.rundir import RunDir


def run_folder(predictions: Path, split: str) -> Path:
    """``RUN/predictions/<split>``; one line when the run has none."""
    folder = predictions / split
    if not folder.is_dir():
        raise DataError(folder, f"the run has no {split} predictions; expected a finished run "
                        f"with predictions/{split}/ (test: a run made with splits including "
                        "test)")
    return folder


def seed_folders(run_dir: Path, seeds) -> dict[str, Path]:
    """Each chosen seed's dev prediction folder (``seeds`` None: all the run has)."""
    from gluebench.benchmark.comparison import seed_order  # deferred: loads scipy

    run = RunDir(run_dir)
    have = {p.name: run.seed_predictions(p.name) / "dev"
            for p in sorted((run.root / "seeds").glob("*"), key=seed_order)
            if (run.seed_predictions(p.name) / "dev").is_dir()}
    if seeds is None:
        return have
    wanted = [str(s) for s in ([seeds] if isinstance(seeds, (int, str)) else seeds)]
    missing = [s for s in wanted if s not in have]
    if missing:
        raise UsageError(f"{run_dir}: no dev predictions for seed(s) {', '.join(missing)}; "
                         f"the run has: {', '.join(have) or 'none'}")
    return {s: have[s] for s in wanted}


def seed_results(run_dir: Path, seeds, make: Callable[[Path], object], data_dir,
                 n_resamples: int, seed: int) -> tuple[dict, dict]:
    """({seed: Results}, {entry: seed_interval(...)}) when two or more seeds are chosen."""
    folders = seed_folders(run_dir, seeds)
    if len(folders) < 2:
        return ({name: make(f) for name, f in folders.items()} if seeds is not None else {}), {}
    per_seed = {name: make(folder) for name, folder in folders.items()}
    return per_seed, seed_summary(folders, data_dir, n_resamples, seed)


def seed_summary(folders: dict[str, Path], data_dir, n_resamples: int, seed: int) -> dict:
    """Per entry in every seed: each metric's and the score's mean, sd and seed-aware CI."""
    from gluebench.benchmark.predictions import prediction_files
    from gluebench.benchmark.scoring import load_gold, read_aligned  # deferred: loads scipy
    from gluebench.benchmark.seed_stats import seed_interval
    from gluebench.benchmark.sources import open_source
    from gluebench.benchmark.tasks import BENCHMARKS

    source = open_source(data_dir)
    files = {name: prediction_files(folder) for name, folder in folders.items()}
    shared = [e for e in BENCHMARKS if all(e in f for f in files.values())]
    summary = {}
    for entry in shared:
        benchmark = BENCHMARKS[entry]
        gold = load_gold(source, benchmark, "dev")
        preds = np.stack([read_aligned(f[entry], benchmark, gold) for f in files.values()])
        summary[entry] = seed_interval(benchmark.metrics, gold.labels, preds,
                                       n_resamples=n_resamples, seed=seed, name=entry)
    return summary
