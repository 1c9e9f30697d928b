"""The one error boundary: OS refusals, undecodable and corrupt files, bugs (hardening 1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gluebench.cli.boundary import REPORT

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "gluebench" / "sample_data" / "glue"


def one_error(err: str, *words: str) -> str:
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


def gluebench(*args, unprivileged: bool = False) -> subprocess.CompletedProcess:
    """The CLI as a real process; ``unprivileged`` drops root's power to ignore permissions."""
    command = [sys.executable, "-m", "gluebench", *map(str, args)]
    if unprivileged and os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root without setpriv cannot drop its file-permission override")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture
def tiny_fs(tmp_path):
    """A 64 KiB tmpfs (root can mount one here): a disk that fills up, and can be read-only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_permission_denied_names_the_path(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        done = gluebench("baseline", "majority", "--data-dir", "sample", "--split", "dev",
                         "-o", locked / "preds", unprivileged=True)
    finally:
        locked.chmod(0o700)
    assert done.returncode == 2
    one_error(done.stderr, str(locked / "preds"), "permission denied")


def test_disk_full_names_the_path_and_leaves_no_partial_file(tiny_fs):
    out = tiny_fs / "preds"
    # The bundled sample's files are small: fill the disk first so that the writes fail.
    filler = tiny_fs / "filler"
    with open(filler, "wb") as handle:
        try:
            handle.write(b"\0" * (1 << 20))
        except OSError:
            pass
    done = gluebench("baseline", "random", "--data-dir", "sample", "--split", "test",
                     "-o", out)
    assert done.returncode == 2
    one_error(done.stderr, "no space left")
    leftovers = [p.name for p in out.rglob("*.tmp")] if out.exists() else []
    assert leftovers == []


def test_read_only_file_system(tiny_fs):
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], check=True)
    done = gluebench("baseline", "majority", "--data-dir", "sample", "--split", "dev",
                     "-o", tiny_fs / "preds")
    assert done.returncode == 2
    one_error(done.stderr, "read-only file system")


def test_is_a_directory_and_not_a_directory(tmp_path, run_cli):
    folder = tmp_path / "folder"
    folder.mkdir()
    code, _, err = run_cli("baseline", "majority", "--data-dir", "sample", "--split", "dev",
                           "-o", tmp_path / "preds")
    assert code == 0, err
    code, _, err = run_cli("score", "--data-dir", "sample", "--predictions", tmp_path / "preds",
                           "--json", folder, "--resamples", "10")
    assert code == 2
    one_error(err, str(folder), "is a directory")
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    code, _, err = run_cli("baseline", "majority", "--data-dir", "sample", "--split", "dev",
                           "-o", a_file / "sub")
    assert code == 2
    one_error(err, "not a directory")


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00b\x00a\x00d", "seeds = [1]\n".encode("utf-16"),
                                 b"batch_size = 3\x00\x01\x02", b"[[[[[[[[", b"\x80" * 40])
def test_undecodable_or_garbled_config(tmp_path, run_cli, raw):
    config = tmp_path / "recipe.toml"
    config.write_bytes(raw)
    code, _, err = run_cli("finetune", "--config", config, "--data-dir", "sample",
                           "-o", tmp_path / "run")
    assert code == 2
    one_error(err, str(config))
    assert not (tmp_path / "run").exists()


def test_non_utf8_data_file_names_file_and_line(tmp_path, run_cli):
    data = tmp_path / "glue"
    shutil.copytree(SAMPLE / "RTE", data / "RTE")
    dev = data / "RTE" / "dev.tsv"
    lines = dev.read_bytes().split(b"\n")
    lines[3] = lines[3] + b"\xe9t\xe9"
    dev.write_bytes(b"\n".join(lines))
    code, _, err = run_cli("baseline", "majority", "--data-dir", data, "--tasks", "RTE",
                           "--split", "dev", "-o", tmp_path / "p")
    assert code == 2
    one_error(err, str(dev), "line 4", "UTF-8")


def test_corrupt_json_results(tmp_path, run_cli):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text('{"tasks": {')
    code, _, err = run_cli("calibration", run)
    assert code == 2
    one_error(err, "results.json", "not valid JSON")


def test_corrupt_safetensors_is_one_line(tmp_path, run_cli, tiny_model):
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    code, _, err = run_cli("evaluate", "--model", broken, "--data-dir", "sample", "--tasks",
                           "RTE", "--splits", "dev", "--no-progress", "-o", tmp_path / "ev")
    assert code == 2
    one_error(err, str(broken))


def test_a_bug_prints_a_traceback_and_says_to_report_it(monkeypatch, capsys):
    from gluebench.cli import main, scoring

    def broken(args):
        raise RuntimeError("an invariant broke")

    monkeypatch.setattr(scoring, "cmd_tasks", broken)
    code = main(["tasks"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" in err and "RuntimeError" in err and REPORT in err


def test_the_cli_package_has_no_import_circles():
    import ast

    root = Path(__file__).resolve().parents[1] / "src"
    modules = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
               for p in (root / "gluebench").rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                targets = [f"{node.module}.{a.name}" for a in node.names]
                edges[name] |= {t for t in targets if t in modules} or {node.module}
            elif isinstance(node, ast.Import):
                edges[name] |= {a.name for a in node.names if a.name in modules}
    for name in modules:
        if name.startswith("gluebench.cli") or name == "gluebench.__main__":
            continue
        assert not any(t.startswith("gluebench.cli") for t in edges[name]), name

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    reach = {m: reachable(m) for m in modules}
    cycles = sorted({tuple(sorted((a, b))) for a in modules for b in edges[a]
                     if a != b and a in reach[b]})
    assert cycles == []
