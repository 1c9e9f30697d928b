"""Untrusted submission zips: ``inspect_submission`` (the server's entry point) and
``gluebench validate`` report every problem as one line, never a traceback or "OK",
and never unpack more than the official size of a file allows.

Every zip here is built in the test, most of them in memory. The good members are
written at the official sizes (QQP alone has 390965 test rows), once per module.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark.predictions import predictions_text, write_predictions
from gluebench.benchmark.submission import (
    SubmissionCheck,
    build_submission,
    inspect_submission,
    validate_submission,
)
from gluebench.benchmark.tasks import BENCHMARKS, get_task
from gluebench.errors import DataError

REPO = Path(__file__).resolve().parents[1]
# Official sizes written out here (not read from gluebench.benchmark.tasks) as an oracle.
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
    with zipfile.ZipFile(buffer, "w", compression=method) as zf, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Duplicate name")  # some cases are made of them
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

@pytest.mark.slow
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
    assert inspect_submission(b"not a zip").problems[0].startswith("upload: not a zip file")
    path = tmp_path / "sub.zip"
    path.write_bytes(b"not a zip")
    assert validate_submission(path)[0].startswith(f"{path}: not a zip file")
    assert inspect_submission(path).problems == validate_submission(path)


@pytest.fixture(scope="module")
def dev_preds() -> dict:
    return _predictions(DEV_SIZES, seed=1)


@pytest.fixture(scope="module")
def dev_good(dev_preds) -> dict[str, bytes]:
    """The 11 members of a correct dev-sized submission (the bad-zip cases start from it)."""
    return _members(dev_preds)


@pytest.fixture(scope="module")
def dev_zip(dev_good) -> bytes:
    return zip_bytes(dev_good)


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


@pytest.mark.slow
def test_test_sized_folder_is_not_a_dev_submission(good, tmp_path):
    folder = tmp_path / "test-preds"
    folder.mkdir()
    for name, data in good.items():
        (folder / name).write_bytes(data)
    with pytest.raises(DataError, match="QQP.tsv") as failed:
        build_submission(folder, tmp_path / "dev.zip", split="dev")
    assert "\n" not in str(failed.value)  # one line, naming the first few problems
    message = str(failed.value)
    assert message.startswith(f"{folder}: ") and "problems in 9 file(s): CoLA.tsv line" in message
    assert "WNLI.tsv line 73: index 71 is out of range 0..70 (+10 more)" in message
    assert "QQP.tsv: 3407592 bytes, more than a file of 40430 rows can hold" in message
    assert not (tmp_path / "dev.zip").exists()
    counts = build_submission(folder, tmp_path / "test.zip")
    assert counts["QQP.tsv"] == TEST_SIZES["QQP"]


# ---- each class of bad zip: one line per problem, never a traceback, never "OK" ----------

LOCAL, CENTRAL = (b"PK\x03\x04", 30), (b"PK\x01\x02", 46)  # signature, name offset


def _header(data: bytearray, name: str, kind: tuple[bytes, int]) -> int:
    """Offset of member ``name``'s local or central header."""
    signature, name_at = kind
    at = data.find(signature)
    while data[at + name_at:at + name_at + len(name)] != name.encode():
        at = data.find(signature, at + 1)
    return at


def _patch_flag(data: bytes, name: str, bit: int) -> bytes:
    """Set a general-purpose flag bit of member ``name`` in its local and central headers."""
    out = bytearray(data)
    out[_header(out, name, LOCAL) + 6] |= bit
    out[_header(out, name, CENTRAL) + 8] |= bit
    return bytes(out)


def _flip_byte_of_member(data: bytes, name: str, offset: int) -> bytes:
    """Flip one byte ``offset`` bytes into the stored data of member ``name``."""
    out = bytearray(data)
    at = _header(out, name, LOCAL)
    name_len, extra_len = struct.unpack_from("<HH", out, at + 26)
    out[at + 30 + name_len + extra_len + offset] ^= 0x55
    return bytes(out)


def _set_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Overwrite the uncompressed size the central directory declares for ``name``."""
    out = bytearray(data)
    struct.pack_into("<L", out, _header(out, name, CENTRAL) + 24, size)
    return bytes(out)


def _zeros_member(name: str, n_bytes: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open(name, "w", force_zip64=True) as member:
            for _ in range(n_bytes >> 20):
                member.write(bytes(1 << 20))
    return buffer.getvalue()


# name -> (build(good dev members, good dev zip) -> zip bytes, fragments one line must hold,
#          entries that must not be in .predictions)
CASES = {
    "not-a-zip": (lambda m, z: b"index\tprediction\n0\t1\n", ["not a zip file"], None),
    "truncated": (lambda m, z: z[: len(z) // 2], ["not a zip", "truncated"], None),
    "empty": (lambda m, z: b"PK\x05\x06" + bytes(18), ["empty zip"], None),
    "encrypted": (lambda m, z: _patch_flag(z, "RTE.tsv", 0x1),
                  ["RTE.tsv", "encrypted"], {"RTE"}),
    "bzip2": (lambda m, z: zip_bytes(dict.fromkeys(m, b"x"), method=zipfile.ZIP_BZIP2),
              ["CoLA.tsv", "bzip2", "not supported"], set(TEST_SIZES)),
    "lzma": (lambda m, z: zip_bytes(dict.fromkeys(m, b"x"), method=zipfile.ZIP_LZMA),
             ["AX.tsv", "lzma", "not supported"], set(TEST_SIZES)),
    "crc": (lambda m, z: _flip_byte_of_member(zip_bytes(m, method=zipfile.ZIP_STORED),
                                              "WNLI.tsv", 100), ["WNLI.tsv", "CRC"], {"WNLI"}),
    "corrupt-deflate": (lambda m, z: _flip_byte_of_member(z, "SST-2.tsv", 10),
                        ["SST-2.tsv", "corrupt"], {"SST-2"}),
    "declared-size-small": (lambda m, z: _set_declared_size(z, "MRPC.tsv", 10),
                            ["MRPC.tsv", "corrupt"], {"MRPC"}),
    "declared-size-huge": (lambda m, z: _set_declared_size(z, "MRPC.tsv", 0xFFFFFFF0),
                           ["MRPC.tsv", "declares 4294967280 bytes"], {"MRPC"}),
    "duplicate": (lambda m, z: zip_bytes([*m.items(), ("QNLI.tsv", m["QNLI.tsv"])]),
                  ["QNLI.tsv", "appears 2 times"], {"QNLI"}),
    "folder-entry": (lambda m, z: zip_bytes({"preds/": b"", **m}), ["preds/", "folder"], set()),
    "in-a-folder": (lambda m, z: zip_bytes({"preds/CoLA.tsv": m.pop("CoLA.tsv"), **m}),
                    ["preds/CoLA.tsv", "inside a folder"], {"CoLA"}),
    "absolute": (lambda m, z: zip_bytes({**m, "/etc/cron.d/x": b"x"}),
                 ["/etc/cron.d/x", "absolute"], set()),
    "drive-letter": (lambda m, z: zip_bytes({**m, "C:\\evil.tsv": b"x"}),
                     ["evil.tsv", "absolute"], set()),
    "zip-slip": (lambda m, z: zip_bytes({**m, "../../CoLA.tsv": b"x"}), ["'..'"], set()),
    "too-many-members": (lambda m, z: zip_bytes({**m, **{f"f{i}": b"" for i in range(3000)}}),
                         ["3011 members", "at most"], set(TEST_SIZES)),
    "wrong-case": (lambda m, z: zip_bytes({"cola.tsv": m.pop("CoLA.tsv"), **m}),
                   ["unexpected file cola.tsv", "did you mean CoLA.tsv?"], {"CoLA"}),
    "many-unexpected": (lambda m, z: zip_bytes({**m, **{f"n{i}.txt": b"" for i in range(40)}}),
                        ["40 unexpected files", "n0.txt"], set()),
    "ratio-bomb": (lambda m, z: _zeros_member("QQP.tsv", 8 << 20),
                   ["QQP.tsv", "times its packed size", "zip bomb"], set(TEST_SIZES)),
    "size-bomb": (lambda m, z: _zeros_member("CoLA.tsv", 2 << 20),
                  ["CoLA.tsv", "more than the file can hold"], set(TEST_SIZES)),
}


def _assert_one_line_each(problems: list[str], label: str) -> None:
    assert problems, "a bad zip must never pass"
    for p in problems:
        assert "\n" not in p and "Traceback" not in p, p
        assert p.startswith(label), p
        assert len(p) < 400, p


@pytest.mark.parametrize("case", list(CASES))
def test_bad_zip_is_reported_in_one_line_per_problem(case, dev_good, dev_zip):
    build, fragments, excluded = CASES[case]
    check = inspect_submission(build(dict(dev_good), dev_zip), split="dev", label="sub.zip")
    _assert_one_line_each(check.problems, "sub.zip")
    assert any(all(f in p for f in fragments) for p in check.problems), check.problems
    if excluded is None:
        assert check.predictions == {}
    else:
        assert not excluded & set(check.predictions)
        # Files the case leaves alone are still parsed (and count as good).
        others = set(TEST_SIZES) - excluded
        if case not in ("ratio-bomb", "size-bomb"):
            assert others <= set(check.predictions), check.problems


@pytest.mark.parametrize("case", ["encrypted", "zip-slip", "ratio-bomb", "too-many-members",
                                  "not-a-zip"])
def test_validate_command_never_says_ok(case, dev_good, dev_zip, tmp_path, run_cli):
    build, fragments, _ = CASES[case]
    path = tmp_path / "sub.zip"
    path.write_bytes(build(dict(dev_good), dev_zip))
    code, out, err = run_cli("validate", path, "--split", "dev")
    assert code == 2, out + err
    assert "OK" not in out and "Traceback" not in out + err
    assert out.splitlines() == validate_submission(path, split="dev")
    assert any(all(f in line for f in fragments) for line in out.splitlines()), out


def test_output_is_capped(dev_good):
    bad_rows = b"index\tprediction\n" + b"".join(b"x%d\t?\n" % i for i in range(50))
    members = {f"dir{i}/": b"" for i in range(20)}
    members.update(dict.fromkeys(dev_good, bad_rows))
    problems = inspect_submission(zip_bytes(members), label="sub.zip").problems
    _assert_one_line_each(problems, "sub.zip")
    assert len(problems) == 41  # 20 folders + 11 files x (10 + a count) = 141 problems
    assert problems[-1] == "sub.zip: ... and 101 more problem(s)"
    cola = [p for p in problems if p.startswith("sub.zip:CoLA.tsv")]
    assert len(cola) == 11  # the file's first 10 problems, then their count
    assert cola[-1] == "sub.zip:CoLA.tsv: ... and 40 more problem(s) in this file"


def test_the_builder_only_writes_safe_zips(tmp_path, dev_folder):
    out = tmp_path / "dev.zip"
    build_submission(dev_folder, out, split="dev")
    with zipfile.ZipFile(out) as zf:
        infos = zf.infolist()
    assert sorted(i.filename for i in infos) == sorted(f"{e}.tsv" for e in DEV_SIZES)
    assert all(i.compress_type == zipfile.ZIP_DEFLATED and not i.flag_bits & 0x1
               for i in infos)


# ---- memory: a 1 GiB bomb, measured in a fresh process ------------------------------------

# Peak RSS of the process itself: VmHWM (ru_maxrss on Linux carries over the parent's peak
# across fork and exec, so it would report pytest's own size).
PEAK_RSS_SCRIPT = """
import re, resource, sys
from pathlib import Path
from gluebench.cli import main
code = main(["validate", sys.argv[1]])
print("exit", code)
status = Path("/proc/self/status")
hwm = re.search(r"VmHWM:\\s+(\\d+) kB", status.read_text()) if status.exists() else None
print("peak_rss_kb", hwm.group(1) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss_of_validate(path: Path) -> tuple[float, str]:
    result = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT, str(path)],
                            capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    lines = result.stdout.splitlines()
    assert lines[-2] == "exit 2", result.stdout + result.stderr
    return int(lines[-1].split()[1]) / 1024, result.stdout


@pytest.mark.slow
def test_validate_of_a_1gib_bomb_peaks_under_200mb(tmp_path):
    path = tmp_path / "bomb.zip"
    path.write_bytes(_zeros_member("QQP.tsv", 1 << 30))
    assert path.stat().st_size < 2 << 20  # about 1 MB on disk, 1 GiB unpacked
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("QQP.tsv").file_size == 1 << 30
    peak_mb, out = _peak_rss_of_validate(path)
    print(f"peak RSS of `gluebench validate` on a 1 GiB bomb: {peak_mb:.1f} MB")
    assert "QQP.tsv" in out and "zip bomb" in out
    assert peak_mb <= PEAK_RSS_LIMIT_MB, out


def test_validate_of_hostile_members_at_their_caps_peaks_under_200mb(tmp_path):
    """Each member as large as its cap allows, shaped to make a parser allocate: one huge
    line of tabs, lines of non-ASCII text, a flood of bad rows, a flood of blank lines."""
    from gluebench.benchmark.predictions import max_file_bytes

    cap = max_file_bytes(TEST_SIZES["QQP"])
    members = {
        "QQP.tsv": b"index\tprediction" + b"\t" * (cap - 100),
        "MNLI-m.tsv": ("index\tprediction\n" + "\U0001F600\t\u2028x\n" * 9000).encode(),
        "MNLI-mm.tsv": b"index\tprediction\n" + b"\n" * 10000 + b"1\tneutral\n",
        "QNLI.tsv": b"index\tprediction\n" + b"99999999999999999999\tx\n" * 5000,
    }
    path = tmp_path / "hostile.zip"
    path.write_bytes(zip_bytes(members, method=zipfile.ZIP_STORED))  # no ratio cap: parsed
    peak_mb, out = _peak_rss_of_validate(path)
    print(f"peak RSS of `gluebench validate` on hostile members: {peak_mb:.1f} MB")
    assert peak_mb <= PEAK_RSS_LIMIT_MB, out
    for name in members:
        assert f"{name}" in out
    assert "QQP.tsv line 1: header is" in out  # read and parsed, not stopped early
