"""The suite-run plumbing (runs.suite_units) under the unit loop, on the real FewGLUE/SuperGLUE
files: a small method writes a run whose files `score --suite` reads
unchanged, resumes, subsamples whole units, and records the suite."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite_loader import load_suite
from gluebench.benchmark.suite_scoring import score_suite_predictions
from gluebench.runs.progress import RunProgress
from gluebench.runs.suite_units import (
    model_entries,
    predicted_tables,
    record_suite_split,
    subsample,
    suite_model_tasks,
    suite_reference,
    suite_run_dir,
    table_fingerprints,
    task_score,
    write_suite_results,
)
from gluebench.runs.units import UnitMethod, run_units
from tests.conftest import real_data_missing, suite_data_roots

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def data_root() -> Path:
    for root in suite_data_roots():
        if (root / "fewglue" / "RTE" / "train.jsonl").is_file() and \
                (root / "superglue" / "RTE" / "val.jsonl").is_file():
            return root
    real_data_missing("FewGLUE and SuperGLUE data not found")


@dataclass
class Majority(UnitMethod):
    """Seed 0: the training majority; other seeds: seeded random labels."""

    suite: object
    data_root: Path
    run: object
    header: dict
    started: float
    calls: list

    def unit_keys(self, task):
        return (0, 1, 2)

    def _tables(self, task):
        return predicted_tables(self.suite, task, self.data_root, ("dev", "test"),
                                max_eval_examples=None, data_seed=0)

    def fingerprints(self, task):
        return table_fingerprints(self._tables(task))

    def run_unit(self, task, seed):
        self.calls.append((task.name, seed))
        train = load_split(self.suite, task, "train", self.data_root)
        majority = int(np.argmax(np.bincount(train.labels, minlength=task.n_classes)))
        rng = np.random.default_rng(seed)
        entries = {}
        for entry, split, table, n in self._tables(task):
            pred = (np.full(len(table), majority) if seed == 0
                    else rng.integers(0, task.n_classes, len(table)))
            probs = np.eye(task.n_classes)[pred]
            scored = record_suite_split(self.run.seed_predictions(seed), self.suite, entry,
                                        split, table, pred, n_available=n, outputs=probs,
                                        n_resamples=200)
            if scored is not None:
                entries[entry.name] = scored
        return {"task": task.name, "seed": seed, "entries": entries,
                "task_score": task_score(self.suite, entries),
                "inference": {"examples": 0, "seconds": 0.0}}

    def write_results(self, run):
        return write_suite_results(run, self.suite, self.header, started=self.started,
                                   n_resamples=200)


def _run(suite, data_root, out, calls):
    run = suite_run_dir(out, suite)
    header = {"kind": "baseline", "model": "majority", "data_source": str(data_root),
              "config": {"seeds": [0, 1, 2]}, "suite": suite_reference(suite)}
    run.check_target(overwrite=False)
    with RunProgress(False) as bars:
        run.start(header)
        method = Majority(suite, data_root, run, header, time.perf_counter(), calls)
        return run_units(run, suite_model_tasks(suite, "RTE"), method, bars)


def test_a_suite_run_is_read_unchanged_by_the_scorer(data_root, tmp_path):
    suite = load_suite("fewglue")
    calls: list = []
    results = _run(suite, data_root, tmp_path / "run", calls)
    assert results["suite"]["name"] == "fewglue" and results["suite"]["sha256"] == suite.sha256
    assert set(results["tasks"]) == {"RTE", "AX-b", "AX-g"}
    assert results["partial_average_tasks"] == ["RTE"]
    # The run's promoted dev files, scored by the scorer, give the run's own numbers.
    rescored = score_suite_predictions(suite, data_root, tmp_path / "run" / "predictions" / "dev",
                                       n_resamples=200)
    assert set(rescored["tasks"]) == set(results["tasks"])
    for name, scored in results["tasks"].items():
        assert rescored["tasks"][name]["score"] == pytest.approx(scored["score"], abs=1e-12)
    # The median seed (by RTE's score) is the one promoted, and seeds are summarised.
    rte = results["tasks"]["RTE"]["seeds"]
    assert rte["n"] == 3 and rte["values"][str(rte["selected"])] == sorted(
        rte["values"].values())[1]
    # The CLI's scorer reads the run folder unchanged.
    cli = [sys.executable, "-m", "gluebench"]
    out = subprocess.run(cli + ["score", "--suite", "fewglue", "--data-dir", str(data_root),
                                "--predictions", str(tmp_path / "run" / "predictions" / "dev"),
                                "--json", str(tmp_path / "score.json")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    scored = json.loads((tmp_path / "score.json").read_text())
    assert scored["tasks"]["RTE"]["score"] == pytest.approx(results["tasks"]["RTE"]["score"],
                                                            abs=1e-12)


def test_a_suite_run_resumes_without_rerunning_finished_units(data_root, tmp_path):
    suite = load_suite("fewglue")
    first: list = []
    _run(suite, data_root, tmp_path / "run", first)
    (tmp_path / "run" / "units" / "RTE-seed1.json").unlink()
    again: list = []
    _run(suite, data_root, tmp_path / "run", again)
    assert len(first) == 3 and again == [("RTE", 1)]


def test_dev_subsamples_are_whole_paragraphs(data_root):
    suite = load_suite("superglue")
    task = suite.task("MultiRC")
    table = load_split(suite, task, "dev", data_root)
    small = subsample(table, 100, 0, unit="paragraph", name="MultiRC")
    paragraphs = set(small.groups["paragraph"].tolist())
    full = table.groups["paragraph"]
    assert len(small) >= 100 and len(small) == int(np.isin(full, list(paragraphs)).sum())
    assert list(small.ids) == sorted(small.ids, key=list(table.ids).index)  # file order kept
    assert [e.name for e in model_entries(suite, suite.task("RTE"))] == ["RTE", "AX-b", "AX-g"]
