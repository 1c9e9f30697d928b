"""``analysis/quality.json`` of a run: calibration, errors, power and seed spread.

Everything is computed from what ``finetune``/``evaluate`` saved: the dev outputs
(``outputs/<Entry>.npz``: probabilities and gold labels, per seed under ``seeds/``)
and ``results.json``. No model is loaded and no data directory is needed.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from gluebench.about import SCHEMA_VERSION
from gluebench.analysis import suite_quality
from gluebench.analysis.calibration import DEFAULT_BINS, classification_report, regression_report
from gluebench.analysis.power import ALPHA, POWER, disagreement, entry_power
from gluebench.benchmark.logits import predictions_from_logits
from gluebench.benchmark.predictions import as_written
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.suite_loader import DEFAULT_SUITE, load_suite
from gluebench.benchmark.tasks import BENCHMARKS, get_task
from gluebench.errors import DataError, UsageError
from gluebench.runs.readers import read_results, run_file
from gluebench.runs.rundir import RunDir


def load_outputs(path: Path) -> dict[str, np.ndarray]:
    """A saved ``.npz`` of dev outputs; one line if it is not a readable npz file."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(path, f"not a readable outputs file ({type(exc).__name__}); start "
                        "the run again with --overwrite") from None


def predicted_values(task, outputs: np.ndarray) -> np.ndarray:
    """The predictions the run wrote to its files (saved outputs are in our label order)."""
    scores = outputs.reshape(len(outputs), -1)   # STS-B's raw scores as one-column logits
    return as_written(task, predictions_from_logits(task, scores, None))


def _seed_predictions(root: Path, entry: str, task) -> list[np.ndarray]:
    found = []
    for path in sorted(root.glob(f"seeds/*/outputs/{entry}.npz")):
        found.append(predicted_values(task, load_outputs(path)["outputs"]))
    return found


def entry_quality(root: Path, results: dict, entry: str, *, n_bins: int, n_resamples: int,
                  seed: int, alpha: float, power: float) -> tuple[dict, dict]:
    benchmark = BENCHMARKS[entry]
    task = get_task(benchmark.task)
    saved = load_outputs(run_file(root, results, f"outputs/{entry}.npz"))
    gold, outputs = saved["gold"], saved["outputs"]
    pred = predicted_values(task, outputs)
    if task.labels is None:
        report = regression_report(gold, pred)
    else:
        report = classification_report(gold.astype(np.int64), outputs, list(task.label_names),
                                       n_bins=n_bins)
    seeds = _seed_predictions(root, entry, task)
    paired = disagreement(seeds) if task.labels is not None else None
    powered = entry_power(entry, benchmark.metrics, gold, pred, seed_disagreement=paired,
                          alpha=alpha, power=power, n_resamples=n_resamples, seed=seed)
    return report, powered


def _run_suite(root: Path):
    """The run's suite when it is not GLUE (GLUE keeps the path above), else None."""
    reference = RunDir(root).header().get("suite")
    if reference in (None, DEFAULT_SUITE):
        return None
    return load_suite(reference)


def analyze_run(run_dir: str | Path, *, n_bins: int = DEFAULT_BINS, alpha: float = ALPHA,
                power: float = POWER, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
                ) -> dict:
    root = Path(run_dir)
    results = read_results(root)
    entries = [e for e in results.get("tasks", {}) if (root / "outputs" / f"{e}.npz").is_file()]
    if not entries:
        raise UsageError(f"{root}: no dev outputs (outputs/*.npz) in this run; runs made "
                         f"before they were saved need `gluebench evaluate --model {root}`")
    quality, powered = {}, {}
    suite = _run_suite(root)
    for entry in entries:
        if suite is None:
            quality[entry], powered[entry] = entry_quality(
                root, results, entry, n_bins=n_bins, n_resamples=n_resamples, seed=seed,
                alpha=alpha, power=power)
            continue
        quality[entry], row = suite_quality.entry_report(
            suite, entry, load_outputs(run_file(root, results, f"outputs/{entry}.npz")),
            suite_quality.seed_outputs(root, entry, load_outputs), n_bins=n_bins, alpha=alpha,
            power=power, n_resamples=n_resamples, seed=seed)
        if row is not None:
            powered[entry] = row
    seeds = {e: r["seeds"] for e, r in results["tasks"].items() if r.get("seeds", {}).get("n")}
    return {"schema_version": SCHEMA_VERSION, "kind": "quality", "run": str(root),
            "entries": quality,
            "power": {"alpha": alpha, "power": power, "entries": powered},
            "seeds": seeds}
