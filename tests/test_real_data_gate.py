"""The test suite's own rules: synthetic dev sets are shaped like the real ones, real-data
tests are marked and cannot silently skip in CI, and CI runs the README's test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from .conftest import (
    DEV_LABEL_COUNTS,
    REPO,
    REQUIRE_REAL_DATA,
    STSB_DEV_MEAN,
    STSB_DEV_SIZE,
    real_data_missing,
    synthetic_dev_labels,
)


def test_synthetic_dev_sets_have_the_real_sizes_and_class_counts():
    for task, counts in DEV_LABEL_COUNTS.items():
        gold = synthetic_dev_labels(task)
        assert np.bincount(gold, minlength=len(counts)).tolist() == list(counts), task
        assert gold.dtype.kind == "i"
        assert not np.array_equal(gold, np.sort(gold))          # shuffled, not blocks
    scores = synthetic_dev_labels("STS-B")
    assert len(scores) == STSB_DEV_SIZE and scores.min() >= 0 and scores.max() <= 5
    assert abs(scores.mean() - STSB_DEV_MEAN) < 0.15
    assert len(np.unique(scores)) < len(scores) / 10           # ties, as real STS-B has
    assert np.array_equal(synthetic_dev_labels("MNLI"), synthetic_dev_labels("MNLI"))


def test_synthetic_dev_sets_are_shaped_like_the_real_ones(glue_dir):
    from gluebench.benchmark.sources import load

    for task, counts in DEV_LABEL_COUNTS.items():
        gold = load(task, "dev", glue_dir).labels
        assert np.bincount(gold).tolist() == list(counts), task
    scores = load("STS-B", "dev", glue_dir).labels
    assert len(scores) == STSB_DEV_SIZE and scores.mean() == pytest.approx(STSB_DEV_MEAN,
                                                                           abs=5e-4)


def _pytest(*args: str, data: str, require: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "GLUEBENCH_TEST_DATA": data}
    env.pop(REQUIRE_REAL_DATA, None)
    if require:
        env[REQUIRE_REAL_DATA] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p",
                           "no:cacheprovider", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_missing_real_data_skips_in_a_clone_and_fails_where_ci_requires_it(monkeypatch):
    monkeypatch.delenv(REQUIRE_REAL_DATA, raising=False)
    with pytest.raises(pytest.skip.Exception, match="not found"):
        real_data_missing("real GLUE data not found at /nowhere")
    monkeypatch.setenv(REQUIRE_REAL_DATA, "1")
    with pytest.raises(pytest.fail.Exception, match=f"{REQUIRE_REAL_DATA}=1"):
        real_data_missing("real GLUE data not found at /nowhere")


@pytest.mark.slow
def test_real_data_tests_are_marked_and_fail_in_ci_without_the_data(tmp_path):
    # test_stats.py: its [real] half needs the data, its [synthetic] half never does.
    target = "tests/test_stats.py::test_paired_test_identical_systems"
    clone = _pytest(target, "-m", "not real_data", data=str(tmp_path), require=True)
    assert clone.returncode == 0, clone.stdout
    assert "1 passed, 1 deselected" in clone.stdout
    ci = _pytest(target, data=str(tmp_path), require=True)
    assert ci.returncode == 1, ci.stdout
    assert "1 passed, 1 error" in ci.stdout and f"{REQUIRE_REAL_DATA}=1" in ci.stdout


def _readme_test_command() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = [ln for ln in readme.splitlines()
                if "python -m pytest" in ln and "pip install" in ln]
    assert len(commands) == 1, commands
    return commands[0]


def test_ci_runs_the_readme_test_command_with_the_constraints_and_the_data_required():
    readme = _readme_test_command()
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    for needed in ("-c constraints/test.txt", f"{REQUIRE_REAL_DATA}=1", "python -m pytest"):
        assert needed in readme, needed
    install = re.search(r"pip install -c constraints/test\.txt [^&]*", readme).group(0)
    assert install in ci
    assert re.search(rf"^export {REQUIRE_REAL_DATA}=1$", ci, flags=re.M)


def test_the_constraints_file_pins_this_environment():
    """CI installs constraints/test.txt; it must be what this (tested) environment holds."""
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "refresh_constraints.py"),
                           "--check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, ("constraints/test.txt differs from this environment; "
                                  "reinstall with the README's test command, or refresh it on "
                                  "purpose (README, Testing):\n" + done.stdout + done.stderr)
    pins = (REPO / "constraints" / "test.txt").read_text(encoding="utf-8")
    for package in ("pytest", "scikit-learn", "transformers", "torch", "lm-eval"):
        assert re.search(rf"^{package}==[0-9][^+\s]*$", pins, flags=re.M), package
    assert not re.search(r"^gluebench==", pins, flags=re.M)
