"""Flags and sweep specs a user can get wrong (issue 22, item 8): `serve --port` outside
1-65535 or already taken, `--lease` that is not a finite positive number, a sweep grid over
the stated cap, specs nested deeply or holding huge strings, a `--ray-address` that is
malformed or unreachable (checked before Ray is imported), and a second sweep into a folder
another sweep is writing. Each is one short `error:` line and exit 2, with nothing started.

The commands run as real processes with a timeout: on code without these checks some of
them would start a server or expand a grid for ever."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gluebench.errors import UsageError
from gluebench.server.settings import Settings

from .server_support import REPO, child_env, free_port

SHORT = 300  # characters: what "one short line" means here
MAX_TRIALS = 10_000  # the cap `sweep --help` states


def gluebench(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gluebench", *map(str, args)], cwd=REPO,
                          env=child_env(), capture_output=True, text=True, timeout=timeout)


def one_error(done: subprocess.CompletedProcess, *words: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert len(re.sub(r"/\S+/", "/.../", errors[0])) <= SHORT, errors[0]  # paths aside
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


def _serve(tmp_path: Path, *flags) -> subprocess.CompletedProcess:
    return gluebench("serve", "--data-dir", "sample", "--db", tmp_path / "lb.db", "--workers",
                     "0", *flags, timeout=60)


@pytest.mark.parametrize("port", ["0", "65536", "99999", "-1", "80.5", "http"])
def test_serve_port_outside_1_to_65535_is_one_line(port, tmp_path):
    one_error(_serve(tmp_path, "--port", port), "--port")
    assert not (tmp_path / "lb.db").exists()


def test_serve_on_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_error(_serve(tmp_path, "--port", port), f"127.0.0.1:{port}", "--port")


@pytest.mark.parametrize("lease", ["nan", "inf", "-inf", "0", "-5", "1e400", "soon"])
def test_lease_must_be_finite_and_positive(lease, tmp_path):
    one_error(_serve(tmp_path, "--port", free_port(), "--lease", lease), "--lease")
    with pytest.raises(UsageError, match="lease_s"):  # the settings a worker reads, too
        Settings(db_url="sqlite:///x.db", lease_s=float(lease) if lease != "soon" else -1.0)


def _grid(n_values: int, n_fields: int) -> str:
    fields = ["learning_rate", "weight_decay", "warmup_ratio", "max_grad_norm"]
    lines = [f"{f} = [{', '.join(str(round(0.001 * (i + 1), 6)) for i in range(n_values))}]"
             for f in fields[:n_fields]]
    return 'tasks = ["RTE"]\n[grid]\n' + "\n".join(lines) + "\n"


@pytest.mark.parametrize("spec,trials", [(_grid(110, 2), 12_100), (_grid(1000, 4), 10**12)],
                         ids=["12,100 trials", "10^12 trials"])
@pytest.mark.slow
def test_sweep_plan_refuses_a_grid_over_the_cap(spec, trials, tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(spec, encoding="utf-8")
    line = one_error(gluebench("sweep", path, "--plan", "--data-dir", "sample"),
                     f"{trials:,}", f"{MAX_TRIALS:,}")
    assert "trials" in line
    helped = gluebench("sweep", "--help")
    assert f"{MAX_TRIALS:,}" in helped.stdout  # the cap is stated in --help


HOSTILE_SPECS = {
    "arrays nested 10,000 deep": 'tasks = ["RTE"]\n[grid]\nlearning_rate = '
                                 + "[" * 10_000 + "]" * 10_000 + "\n",
    "arrays nested 200 deep": 'tasks = ["RTE"]\n[grid]\nlearning_rate = '
                              + "[" * 200 + "1e-4" + "]" * 200 + "\n",
    "tables nested 500 deep": 'tasks = ["RTE"]\n[fixed]\nepochs = '
                              + "{a = " * 500 + "1" + "}" * 500 + "\n",
    "a 2 MB file": 'tasks = ["RTE"]\n# ' + "x" * 2_000_000 + "\n",
    "a huge task name": 'tasks = ["' + "A" * 500_000 + '"]\n',
    "a huge method": 'tasks = ["RTE"]\nmethods = ["' + "m" * 500_000 + '"]\n',
    "a huge key": 'tasks = ["RTE"]\n[fixed]\n' + "k" * 500_000 + " = 1\n",
    "a huge repeated list": 'tasks = ["RTE"]\n[grid]\nlearning_rate = ['
                            + ", ".join(["1e-4"] * 50_000) + "]\n",
    "a huge integer": 'tasks = ["RTE"]\nseeds = [' + "9" * 5000 + "]\n",
    "control characters": 'tasks = ["RT\\u202eE\\u009b"]\n',
}


@pytest.mark.slow
@pytest.mark.parametrize("what", HOSTILE_SPECS)
def test_hostile_sweep_specs_are_one_short_line(what, tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(HOSTILE_SPECS[what], encoding="utf-8")
    done = gluebench("sweep", path, "--plan", "--data-dir", "sample")
    line = one_error(done, str(path))
    assert line.isprintable() and "\u202e" not in line


def _probe_sweep(tmp_path: Path, *flags) -> tuple[subprocess.CompletedProcess, float, bool]:
    """The sweep CLI in a fresh process: (result, seconds, whether Ray was imported)."""
    spec = tmp_path / "spec.toml"
    spec.write_text('tasks = ["RTE"]\n[fixed]\nmax_train_examples = 8\n', encoding="utf-8")
    argv = ["sweep", str(spec), *map(str, flags)]
    script = ("import json, sys, time\nfrom gluebench.cli import main\nt = time.monotonic()\n"
              f"code = main({argv!r})\n"
              "print(json.dumps([time.monotonic() - t, 'ray' in sys.modules]))\n"
              "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=child_env(),
                          capture_output=True, text=True, timeout=300)
    seconds, imported = json.loads(done.stdout.strip().splitlines()[-1])
    return done, seconds, imported


@pytest.mark.parametrize("address", ["http://10.0.0.5:8265", "10.0.0.5", "host:port",
                                     "host:99999", "ray://", "bad_host:6379"])
@pytest.mark.slow
def test_a_malformed_ray_address_is_one_line_before_ray_is_imported(address, tmp_path):
    done, seconds, imported = _probe_sweep(tmp_path, "--data-dir", "sample", "-o",
                                           tmp_path / "out", "--ray-address", address)
    one_error(done, "--ray-address", "HOST:PORT")
    assert not imported  # refused before Ray was even imported, let alone started
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_an_unreachable_ray_address_is_one_line_within_a_bounded_wait(tmp_path):
    closed = free_port()  # nothing listens there
    for address in (f"127.0.0.1:{closed}", f"ray://127.0.0.1:{closed}"):
        done, seconds, imported = _probe_sweep(tmp_path, "--data-dir", "sample", "-o",
                                               tmp_path / "out", "--executor", "ray",
                                               "--ray-address", address)
        one_error(done, "--ray-address", "cannot reach", "refused")
        assert not imported and seconds < 60  # Ray would take 7-11 s to start, then retry
    assert not (tmp_path / "out").exists()


def test_the_reachability_check_waits_a_bounded_time(monkeypatch):
    import time

    from gluebench.sweep import executors

    def silent(*args, **kwargs):  # a host that never answers (a firewall dropping packets)
        time.sleep(30)
        raise TimeoutError("timed out")   # as the real call ends, long after the check gave up

    monkeypatch.setattr(executors.socket, "create_connection", silent)
    start = time.monotonic()
    assert "no answer within" in executors._unreachable("10.0.0.5", 6379, wait=0.5)
    assert time.monotonic() - start < 2


def test_ray_address_auto_without_a_cluster_is_one_line(tmp_path, monkeypatch, run_cli):
    from gluebench.sweep import executors

    monkeypatch.setattr(executors, "RAY_CURRENT_CLUSTER", tmp_path / "no-cluster-file")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    spec = tmp_path / "spec.toml"
    spec.write_text('tasks = ["RTE"]\n', encoding="utf-8")
    code, _, err = run_cli("sweep", spec, "--data-dir", "sample", "-o", tmp_path / "out",
                           "--ray-address", "auto")
    assert code == 2 and "ray start --head" in err and len(err.splitlines()) == 1


HOLD = ("import sys\nfrom gluebench.runs.lock import RunLock\n"
        "with RunLock(sys.argv[1]), RunLock(sys.argv[2]):\n"
        "    print('held', flush=True)\n    sys.stdin.read()\n")


@pytest.mark.slow
def test_a_second_sweep_into_a_folder_being_written_says_so(tmp_path):
    from gluebench.benchmark.sources import open_source
    from gluebench.sweep.runner import plan_document
    from gluebench.sweep.spec import read_spec
    from gluebench.sweep.sweepdir import SweepDir
    from gluebench.sweep.trials import expand

    spec = tmp_path / "spec.toml"
    spec.write_text('tasks = ["RTE"]\n[fixed]\nmax_train_examples = 8\nepochs = 1\n',
                    encoding="utf-8")
    out = tmp_path / "sweep"
    source = open_source("sample")
    (trial,) = trials = expand(read_spec(spec), source)
    # The first sweep, as it is while training its trial: its plan written, the sweep folder
    # and the trial's run directory held.
    SweepDir(out).write_plan(plan_document(read_spec(spec), trials, source.description,
                                           "sample"))
    plan_before = (out / "sweep.json").read_bytes()
    first = subprocess.Popen([sys.executable, "-c", HOLD, str(out),
                              str(out / "trials" / trial.key)], cwd=REPO, env=child_env(),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline().strip() == "held"
        second = gluebench("sweep", spec, "--data-dir", "sample", "-o", out, timeout=300)
        one_error(second, str(out), "another gluebench", f"pid {first.pid}")
        assert not (out / "results").exists()  # no trial recorded as failed
        assert (out / "sweep.json").read_bytes() == plan_before  # the first one's plan kept
        plan = gluebench("sweep", spec, "--data-dir", "sample", "-o", out, "--plan")
        assert plan.returncode == 0 and "to run: 1 of 1" in plan.stdout  # reading still works
    finally:
        first.communicate("", timeout=30)
    assert first.returncode == 0
