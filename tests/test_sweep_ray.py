"""Sweeps on a real two-node Ray cluster started on this machine (``ray start`` x 2).

The cluster is started once for this module with its own temp dir, one CPU per node and a
small object store, and stopped by killing exactly the processes it started.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sweep_support import assert_same_trials, env_for_workers, records, write_spec

pytestmark = pytest.mark.slow   # a real two-node Ray cluster: tens of seconds
ray = pytest.importorskip("ray")  # the `test` extra installs it; `gluebench[ray]` for users
OBJECT_STORE = str(80 * 1024**2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_start(*args: str, env: dict) -> None:
    ray_cli = Path(sys.executable).with_name("ray")
    done = subprocess.run([str(ray_cli), "start", "--num-cpus=1",
                           f"--object-store-memory={OBJECT_STORE}", "--disable-usage-stats", *args],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"ray start {' '.join(args)}:\n{done.stderr[-3000:]}"


def _processes_of(temp_dir: Path) -> list:
    """Our cluster's processes: those naming its temp dir, and everything they started."""
    import psutil

    roots = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(str(temp_dir) in part for part in p.info["cmdline"] or []):
                roots.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    found = {p.pid: p for p in roots}
    for p in roots:
        try:
            found.update({c.pid: c for c in p.children(recursive=True)})
        except psutil.NoSuchProcess:
            continue
    return list(found.values())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head node and a worker node, one CPU each; yields (address, env for drivers)."""
    import psutil

    temp_dir = Path("/tmp") / f"gb-ray-{os.getpid()}"   # short: Ray's socket paths are limited
    env = env_for_workers(tmp_path_factory.getbasetemp() / "cache")
    # Token authentication with the cluster's own token, set explicitly for every node and driver:
    # with RAY_AUTH_MODE unset, Ray 2.60 turns it on for a head that finds ~/.ray/auth_token (which
    # any local ray.init() writes) but not for a worker node, which then cannot join.
    env["RAY_AUTH_MODE"] = "token"
    env["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    port = _free_port()
    address = f"127.0.0.1:{port}"
    try:
        _ray_start("--head", f"--port={port}", "--include-dashboard=false",
                   f"--temp-dir={temp_dir}", env=env)
        _ray_start(f"--address={address}", env=env)
        yield address, env
    finally:
        procs = _processes_of(temp_dir)
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _sweep(spec, out, address, env, *extra, **kw):
    return subprocess.run(
        [sys.executable, "-m", "gluebench", "sweep", str(spec), "--data-dir", str(kw["data"]),
         "-o", str(out), "--ray-address", address, "--resamples", "50", *extra],
        env=env, capture_output=True, text=True, timeout=180)


def test_a_ray_cluster_gives_the_inline_numbers(cluster, tmp_path, glue_dir, tiny_model):
    from gluebench.cli import main

    address, env = cluster
    spec = write_spec(tmp_path / "s.toml", tiny_model)
    assert main(["sweep", str(spec), "--data-dir", str(glue_dir), "-o", str(tmp_path / "inline"),
                 "--resamples", "50"]) == 0
    done = _sweep(spec, tmp_path / "ray", address, env, "--max-parallel", "2", data=glue_dir)
    assert done.returncode == 0, done.stderr
    assert assert_same_trials(tmp_path / "inline", tmp_path / "ray") == 4
    found = records(tmp_path / "ray").values()
    assert {r["executor"] for r in found} == {"ray"}
    assert len({r["worker"]["ray_node"] for r in found}) == 2   # both nodes ran trials


def test_a_killed_ray_worker_is_retried_and_the_sweep_completes(cluster, tmp_path, glue_dir,
                                                                tiny_model):
    address, env = cluster
    spec = write_spec(tmp_path / "s.toml", tiny_model, tasks=("RTE",), seeds=(1, 2),
                      grid="learning_rate = [1e-3]", train=300, epochs=2)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gluebench", "sweep", str(spec), "--data-dir", str(glue_dir),
         "-o", str(tmp_path / "out"), "--ray-address", address, "--max-parallel", "2",
         "--resamples", "20"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    deadline, first = time.time() + 120, []
    while not first and time.time() < deadline:
        first = list((tmp_path / "out").glob("trials/*/attempts/1.json"))
        time.sleep(0.05)
    assert first, "no trial started"
    victim = json.loads(first[0].read_text())
    os.kill(victim["pid"], signal.SIGKILL)   # the Ray worker process running this trial
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    key = first[0].parent.parent.name
    found = records(tmp_path / "out")
    assert {r["status"] for r in found.values()} == {"ok"} and len(found) == 2
    assert found[key]["attempts"] == 2 and found[key]["worker"]["pid"] != victim["pid"]
    assert "attempt 1 failed" in err and "retrying" in err
    assert (tmp_path / "out" / "trials" / key / "attempts" / "2.json").is_file()
