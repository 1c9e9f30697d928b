"""Paired comparison of two systems on the same gold data, with one seed each or several.

A side is a folder of prediction files (one seed), a folder of per-seed prediction folders
(``A/<seed-name>/<File>.tsv``), or a mapping of seed names to prediction folders (what the
CLI builds from a run directory's ``seeds/<S>/predictions/<split>/``). With one seed on each
side the result is the single-seed paired test (``stats.paired_test``); with several on
either side every entry is tested with ``seed_stats.seed_paired_test`` and the score's
p-values are also Holm-adjusted across the entries compared.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from gluebench.about import SCHEMA_VERSION, __version__
from gluebench.benchmark.scoring import load_gold, prediction_files, read_aligned
from gluebench.benchmark.seed_stats import (
    CI_NAME,
    TEST_NAME,
    holm,
    per_seed_values,
    seed_paired_test,
)
from gluebench.benchmark.sources import DataSource
from gluebench.benchmark.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, paired_test
from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.errors import DataError, GlueBenchWarning

Side = str | os.PathLike | Mapping[str, str | os.PathLike]
ONE_SEED_TEST = {"ci": "paired percentile bootstrap", "p_value": "paired permutation, two-sided"}
HOLM = "Holm-adjusted across the entries compared (the score's p-values)"


def _holds_submission_files(folder: Path) -> bool:
    known = {b.submission_file for b in BENCHMARKS.values()}
    return any(p.name in known for p in folder.iterdir() if p.is_file())


def seed_order(path: Path) -> tuple:
    """Seed folders in numeric order where their names are numbers (2 before 10)."""
    return (not path.name.isdigit(), int(path.name) if path.name.isdigit() else 0, path.name)


def seed_folders(side: Side) -> dict[str, Path]:
    """Each seed's prediction folder; a plain folder of prediction files is one seed, named
    after the folder."""
    if isinstance(side, Mapping):
        return {str(k): Path(v) for k, v in side.items()}
    path = Path(side)
    if not path.is_dir():
        raise DataError(path, "predictions folder not found")
    if _holds_submission_files(path) or any(path.glob("*.tsv")):
        return {path.name: path}   # prediction_files says what is wrong with misnamed files
    subfolders = {p.name: p for p in sorted(path.iterdir(), key=seed_order)
                  if p.is_dir() and _holds_submission_files(p)}
    if not subfolders:
        raise DataError(path, "no prediction files here or in its subfolders; expected a "
                              "folder of prediction files (CoLA.tsv, ..., AX.tsv), one such "
                              "folder per seed (A/<seed>/RTE.tsv), or a run directory")
    return subfolders


def compare_predictions(source: DataSource, a_dir: Side, b_dir: Side, *, split: str = "dev",
                        n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                        names: tuple[str, str] | None = None) -> dict:
    """For each entry both sides predict: A - B per metric and score, CI and p-value.

    ``names``: what the result calls A and B (default: the folders as given).
    """
    name_a, name_b = names or (_name(a_dir), _name(b_dir))
    seeds_a, seeds_b = seed_folders(a_dir), seed_folders(b_dir)
    files_a = {s: prediction_files(p) for s, p in seeds_a.items()}
    files_b = {s: prediction_files(p) for s, p in seeds_b.items()}
    shared = _shared_entries(files_a, files_b, name_a, name_b)
    head = {"schema_version": SCHEMA_VERSION, "gluebench_version": __version__, "split": split,
            "a": name_a, "b": name_b, "data_source": source.description}
    stats = {"n_resamples": n_resamples, "confidence": DEFAULT_CONFIDENCE, "seed": seed}
    if len(files_a) == len(files_b) == 1:
        tasks = {name: _one_seed(source, name, files_a, files_b, split, n_resamples, seed)
                 for name in shared}
        return {**head, "test": {**ONE_SEED_TEST, **stats}, "tasks": tasks}
    read = {name: _read_seeds(source, name, files_a, files_b, split) for name in shared}
    tasks = {name: _several_seeds(name, *read[name], n_resamples, seed) for name in shared}
    for name, p in zip(tasks, holm([t["score"]["p_value"] for t in tasks.values()]),
                       strict=True):
        tasks[name]["score"]["p_holm"] = p
    return {**head, "seeds": {"a": list(files_a), "b": list(files_b)},
            "test": {"ci": CI_NAME, "p_value": TEST_NAME, "p_holm": HOLM,
                     "one_seed_each": ONE_SEED_TEST, **stats},
            "tasks": tasks}


def _name(side: Side) -> str:
    if not isinstance(side, Mapping):
        return str(side)
    return os.path.commonpath([str(v) for v in side.values()]) if side else ""


def _shared_entries(files_a: dict, files_b: dict, name_a: str, name_b: str) -> list[str]:
    """Entries at least one seed of each side predicts, in GLUE order; the rest are warned."""
    in_a = {n for f in files_a.values() for n in f}
    in_b = {n for f in files_b.values() for n in f}
    for name in sorted(in_a ^ in_b):
        warnings.warn(f"{name}: predicted by only one of the two folders; not compared",
                      GlueBenchWarning, stacklevel=3)
    shared = [n for n in BENCHMARKS if n in in_a and n in in_b]
    if not shared:
        raise DataError(name_b, f"no prediction file in common with {name_a}")
    for side, files in (("A", files_a), ("B", files_b)):
        for name in shared:
            missing = [s for s, f in files.items() if name not in f]
            if missing and len(missing) < len(files):
                warnings.warn(f"{name}: no prediction file from seed(s) {', '.join(missing)} "
                              f"of {side}; compared on the other seeds", GlueBenchWarning,
                              stacklevel=3)
    return shared


def _one_seed(source, name, files_a, files_b, split, n_resamples, seed) -> dict:
    b = BENCHMARKS[name]
    gold = load_gold(source, b, split)
    (fa,), (fb,) = files_a.values(), files_b.values()
    pa, pb = read_aligned(fa[name], b, gold), read_aligned(fb[name], b, gold)
    result = paired_test(b.metrics, gold.labels, pa, pb, n_resamples=n_resamples,
                         seed=seed, name=name)
    return {k: v.to_dict() for k, v in result.items()} | {"n": len(gold)}


def _read_seeds(source, name, files_a, files_b, split):
    """(gold labels, {seed: predictions} of A, of B), every file read and checked."""
    b = BENCHMARKS[name]
    gold = load_gold(source, b, split)
    read = [{s: read_aligned(f[name], b, gold) for s, f in files.items() if name in f}
            for files in (files_a, files_b)]
    return gold.labels, read[0], read[1]


def _several_seeds(name: str, gold: np.ndarray, by_seed_a: dict, by_seed_b: dict,
                   n_resamples: int, seed: int) -> dict:
    metrics = BENCHMARKS[name].metrics
    pa, pb = np.stack(list(by_seed_a.values())), np.stack(list(by_seed_b.values()))
    if len(pa) == len(pb) == 1:
        result = paired_test(metrics, gold, pa[0], pb[0], n_resamples=n_resamples, seed=seed,
                             name=name)
        test = "one seed each: " + ONE_SEED_TEST["p_value"]
    else:
        result = seed_paired_test(metrics, gold, pa, pb, n_resamples=n_resamples, seed=seed,
                                  name=name)
        test = "seed-aware"
    per_seed = [dict(zip(s, per_seed_values(metrics, gold, p)["score"].tolist(), strict=True))
                for s, p in ((by_seed_a, pa), (by_seed_b, pb))]
    return {k: v.to_dict() for k, v in result.items()} | {
        "n": len(gold), "test": test, "seeds": {"a": list(by_seed_a), "b": list(by_seed_b)},
        "per_seed": {"a": per_seed[0], "b": per_seed[1]}}
