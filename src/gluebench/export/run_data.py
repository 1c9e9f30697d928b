"""What an export reads from a finished run: its suite, its data, and one entry's dev outputs.

Every file comes through ``runs.readers`` (checked against the hashes the run recorded), and the
examples are reloaded from the run's data and checked against the gold labels the run saved, so
an export never pairs a prediction with the wrong example.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.examples import DataSource, Examples
from gluebench.benchmark.hub import HFSource
from gluebench.benchmark.predictions import read_predictions
from gluebench.benchmark.scoring import evaluation_examples
from gluebench.benchmark.sources import DirectorySource, open_source, sample_source
from gluebench.benchmark.tasks import BENCHMARKS, Benchmark
from gluebench.errors import UsageError
from gluebench.runs.readers import read_results, run_file

HUB_PREFIX = "Hugging Face datasets: "   # how an HFSource describes itself


@dataclass(frozen=True)
class EntryOutputs:
    """One entry's dev examples as the run saw them, beside what it predicted and scored."""

    benchmark: Benchmark
    examples: Examples               # in the order of the run's outputs file
    predictions: np.ndarray          # (n,) class ids, or STS-B scores, as written
    outputs: np.ndarray              # (n, classes) probabilities, or (n,) STS-B scores
    loglikelihoods: np.ndarray | None  # (n, choices) for a prompted run's ll scoring


def read_run(run_dir: str | Path) -> dict:
    """The run's ``results.json``, refused (one line) when it is not a GLUE run's."""
    results = read_results(run_dir)
    suite = (results.get("suite") or {}).get("name", "glue")
    if suite != "glue":
        raise UsageError(f"{run_dir}: a run of suite '{suite}'; exports read GLUE runs "
                         "(other suites plug in beside gluebench.export.run_data)")
    return results


def run_source(results: dict, data_dir: str | os.PathLike | None) -> DataSource:
    """``data_dir`` when given, else the data the run recorded that it used."""
    if data_dir is not None:
        return open_source(data_dir)
    recorded = str(results.get("data_source") or "")
    if recorded == sample_source().description:
        return sample_source()
    if recorded.startswith(HUB_PREFIX):
        return HFSource(recorded[len(HUB_PREFIX):])
    if recorded and Path(recorded).is_dir():
        return DirectorySource(recorded)
    raise UsageError(f"the run's data ({recorded or 'not recorded'}) is not found here; "
                     "pass --data-dir with the GLUE folder it was run on")


def dev_entries(results: dict) -> list[str]:
    """The entries with dev outputs in the run, in GLUE's order."""
    return [name for name in BENCHMARKS if f"outputs/{name}.npz" in results.get("files", {})]


def entry_outputs(run_dir, results: dict, entry: str, source: DataSource) -> EntryOutputs:
    """One entry's dev outputs, predictions and examples, checked to agree with each other."""
    benchmark = BENCHMARKS[entry]
    with np.load(run_file(run_dir, results, f"outputs/{entry}.npz")) as npz:
        saved = dict(npz)
    rel = f"predictions/dev/{benchmark.submission_file}"
    written = read_predictions(run_file(run_dir, results, rel), benchmark)
    index = saved["index"]
    examples = _examples_at(source, benchmark, index, saved["gold"])
    values = _values_at(written.index, written.values, index, f"{run_dir}/{rel}")
    return EntryOutputs(benchmark, examples, values, saved["outputs"],
                        saved.get("loglikelihoods"))


def _examples_at(source: DataSource, benchmark: Benchmark, index: np.ndarray,
                 gold: np.ndarray) -> Examples:
    """The dev examples at ``index`` (positions in the dev file), checked against ``gold``."""
    examples = evaluation_examples(source, benchmark, "dev")
    if len(index) and (index.min() < 0 or index.max() >= len(examples)):
        raise UsageError(f"{source.description}: {benchmark.name} dev has {len(examples)} "
                         f"examples, but the run predicted index {int(index.max())}; pass "
                         "--data-dir with the data the run used")
    examples = examples.take(index)
    if examples.labels is None or not np.array_equal(examples.labels, gold):
        raise UsageError(f"{source.description}: {benchmark.name} dev labels differ from the "
                         "run's; pass --data-dir with the data the run used")
    return examples


def _values_at(have_index: np.ndarray, values: np.ndarray, want: np.ndarray,
               where: str) -> np.ndarray:
    position = {int(i): n for n, i in enumerate(have_index)}
    missing = [int(i) for i in want if int(i) not in position]
    if missing:
        raise UsageError(f"{where}: no prediction for index {missing[0]} (expected one for "
                         "every example in the run's outputs)")
    return values[[position[int(i)] for i in want]]
