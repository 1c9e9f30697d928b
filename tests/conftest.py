"""Shared fixtures: the real GLUE data beside the checkout, and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gluebench.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


def _real_glue_dir() -> Path | None:
    candidates = [os.environ.get("GLUEBENCH_TEST_DATA"), REPO.parent / "shared" / "data" / "glue"]
    return next((Path(c) for c in candidates if c and Path(c, "RTE", "dev.tsv").is_file()), None)


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    """The real GLUE data (../shared/data/glue); tests that need it skip without it."""
    path = _real_glue_dir()
    if path is None:
        pytest.skip("real GLUE data not found at ../shared/data/glue (set GLUEBENCH_TEST_DATA)")
    return path


@pytest.fixture
def run_cli(capsys):
    """Call ``gluebench`` in process: returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
