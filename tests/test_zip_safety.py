"""Untrusted submission zips: ``inspect_submission`` (the server's entry point) and
``gluebench validate`` report every problem as one line, never a traceback or "OK",
and never unpack more than the official size of a file allows.

Every zip here is built in the test, most of them in memory. The good members are
written at the official sizes (QQP alone has 390965 test rows), once per module.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gluebench.errors import DataError
from gluebench.predictions import predictions_text, write_predictions
from gluebench.submission import (
    SubmissionCheck,
    build_submission,
    inspect_submission,
    validate_submission,
)
from gluebench.tasks import BENCHMARKS, get_task

REPO = Path(__file__).resolve().parents[1]
# Official sizes written out here (not read from gluebench.tasks) as an oracle.
TEST_SIZES = {"CoLA": 1063, "SST-2": 1821, "MRPC": 1725, "STS-B": 1379, "QQP": 390965,
              "MNLI-m": 9796, "MNLI-mm": 9847, "QNLI": 5463, "RTE": 3000, "WNLI": 146,
              "AX": 1104}
DEV_SIZES = {"CoLA": 1043, "SST-2": 872, "MRPC": 408, "STS-B": 1500, "QQP": 40430,
             "MNLI-m": 9815, "MNLI-mm": 9832, "QNLI": 5463, "RTE": 277, "WNLI": 71,
             "AX": 1104}
PEAK_RSS_LIMIT_MB = 200


def _predictions(sizes: dict[str, int], seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = {}
    for entry, n in sizes.items():
        task = get_task(BENCHMARKS[entry].task)
        values = (np.round(rng.uniform(0, 5, n), 3) if task.is_regression
                  else rng.integers(0, len(task.labels), n))
        out[entry] = (np.arange(n), values)
    return out


def _members(preds: dict) -> dict[str, bytes]:
    return {f"{entry}.tsv": predictions_text(get_task(BENCHMARKS[entry].task), *iv).encode()
            for entry, iv in preds.items()}


def zip_bytes(members: dict[str, bytes] | list[tuple[str, bytes]], *,
              method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    items = members.items() if isinstance(members, dict) else members
    with zipfile.ZipFile(buffer, "w", compression=method) as zf:
        for name, data in items:
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def test_preds() -> dict:
    return _predictions(TEST_SIZES, seed=0)


@pytest.fixture(scope="module")
def good(test_preds) -> dict[str, bytes]:
    """The 11 members of a correct test-sized submission."""
    return _members(test_preds)


@pytest.fixture(scope="module")
def good_zip(good) -> bytes:
    return zip_bytes(good)


# ---- the contract: inspect_submission, validate_submission, build_submission(split) -------

def test_inspect_accepts_a_correct_zip_in_memory(good_zip, test_preds):
    check = inspect_submission(good_zip)
    assert isinstance(check, SubmissionCheck)
    assert check.problems == []
    assert sorted(check.predictions) == sorted(TEST_SIZES)
    for entry, (index, values) in test_preds.items():
        parsed = check.predictions[entry]
        np.testing.assert_array_equal(parsed.index, index)
        np.testing.assert_allclose(parsed.values, values, rtol=1e-6)


def test_inspect_keeps_the_good_files_of_a_bad_zip(good):
    bad = {**good, "RTE.tsv": b"index\tprediction\n0\tmaybe\n"}
    check = inspect_submission(zip_bytes(bad), label="team-x.zip")
    assert check.problems and all(p.startswith("team-x.zip") for p in check.problems)
    assert any("RTE.tsv" in p for p in check.problems)
    assert "RTE" not in check.predictions
    assert sorted(check.predictions) == sorted(set(TEST_SIZES) - {"RTE"})


def test_inspect_labels_bytes_as_upload_and_paths_by_path(tmp_path):
    assert inspect_submission(b"not a zip").problems == ["upload: not a zip file"]
    path = tmp_path / "sub.zip"
    path.write_bytes(b"not a zip")
    assert validate_submission(path) == [f"{path}: not a zip file"]
    assert inspect_submission(path).problems == validate_submission(path)


@pytest.fixture(scope="module")
def dev_preds() -> dict:
    return _predictions(DEV_SIZES, seed=1)


@pytest.fixture(scope="module")
def dev_folder(tmp_path_factory, dev_preds) -> Path:
    """A run's predictions/dev: the 11 files at the official dev sizes, 0-based indices."""
    out = tmp_path_factory.mktemp("dev")
    for entry, (index, values) in dev_preds.items():
        write_predictions(out / f"{entry}.tsv", get_task(BENCHMARKS[entry].task), index, values)
    return out


def test_dev_sized_submission_round_trip(dev_folder, dev_preds, tmp_path, run_cli):
    out = tmp_path / "dev.zip"
    code, stdout, err = run_cli("submission", "--split", "dev", "--predictions", dev_folder,
                                "-o", out)
    assert code == 0, err
    assert "QQP.tsv 40430" in stdout and "AX.tsv 1104" in stdout
    check = inspect_submission(out.read_bytes(), split="dev")
    assert check.problems == []
    for entry, (_, values) in dev_preds.items():
        np.testing.assert_allclose(check.predictions[entry].values, values, rtol=1e-6)
    code, stdout, err = run_cli("validate", out, "--split", "dev")
    assert code == 0, stdout + err
    assert "OK" in stdout
    # Against the test sizes the same zip is wrong in every file but QNLI and AX.
    problems = validate_submission(out)
    wrong = {e for e in TEST_SIZES if any(f"{e}.tsv:" in p or f"{e}.tsv " in p
                                          for p in problems)}
    assert wrong == {e for e in TEST_SIZES if TEST_SIZES[e] != DEV_SIZES[e]}


def test_test_sized_folder_is_not_a_dev_submission(good, tmp_path):
    folder = tmp_path / "test-preds"
    folder.mkdir()
    for name, data in good.items():
        (folder / name).write_bytes(data)
    with pytest.raises(DataError, match="QQP.tsv"):
        build_submission(folder, tmp_path / "dev.zip", split="dev")
    assert not (tmp_path / "dev.zip").exists()
    counts = build_submission(folder, tmp_path / "test.zip")
    assert counts["QQP.tsv"] == TEST_SIZES["QQP"]
