"""The one unit loop (``gluebench.runs.units``) under every method: fine-tuning, ``evaluate``,
the probe, a prompted LM and a baseline. A resumed run skips exactly its finished units and
ends as an uninterrupted one; the median unit's files are the run's; an interrupted unit
leaves no marker, no temporary file and no half-written file, and runs again on resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gluebench.formats.atomic
import gluebench.runs.recording as recording
from gluebench import baselines
from gluebench.baselines import BaselineConfig, BaselineUnits, run_baseline
from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.lm.config import PromptConfig
from gluebench.lm.runner import Prompting, run_prompt
from gluebench.probe.run import Probing
from gluebench.recipes import finetune  # fine-tuning or the probe, by the config's method
from gluebench.train.config import build_config
from gluebench.train.runner import Evaluation, FineTuning, evaluate
from tests.conftest import one_torch_thread

FAST = dict(epochs=1, learning_rate=1e-3, batch_size=16, max_seq_length=64, splits="dev")
COMMON = dict(progress=False, n_resamples=20)


class Interrupted(BaseException):
    """Stands for a crash or Ctrl-C (a BaseException, like KeyboardInterrupt)."""


def _methods(request) -> dict:
    """name -> (the method's class in the loop, a function that runs it into a folder).

    The models are built when a method first runs (``getfixturevalue``), so a baseline-only
    test builds none."""
    sample = open_source("sample")

    def model(name: str) -> str:
        return str(request.getfixturevalue(name))

    return {
        "finetune": (FineTuning, lambda out: finetune(
            sample, build_config(model=model("tiny_model"), seeds="1,2", **FAST), out,
            "RTE,STS-B", **COMMON)),
        "evaluate": (Evaluation, lambda out: evaluate(
            sample, [model("tiny_run")], build_config(**FAST), out, "RTE,STS-B", **COMMON)),
        "probe": (Probing, lambda out: finetune(
            sample, build_config(method="probe", model=model("tiny_model"), seeds="1,2",
                                 splits="dev", max_seq_length=64), out, "RTE,STS-B", **COMMON)),
        "prompt": (Prompting, lambda out: run_prompt(
            sample, PromptConfig(model=model("tiny_llama"), shots=1, seeds=(1, 2),
                                 splits=("dev",), max_eval_examples=8), out, "RTE", **COMMON)),
        "baseline": (BaselineUnits, lambda out: run_baseline(
            sample, BaselineConfig(kind="random", seeds=(1, 2), splits=("dev",)), out,
            "RTE,STS-B", **COMMON)),
    }


@pytest.fixture(autouse=True)
def _one_thread():
    """The tiny models run on one torch thread, as conftest does for ``TINY_MODELS``."""
    with one_torch_thread():
        yield


@pytest.fixture(params=[pytest.param(m, marks=pytest.mark.slow)
                        for m in ("finetune", "evaluate", "probe", "prompt")] + ["baseline"])
def method(request):
    return _methods(request)[request.param]


def _spy(monkeypatch, cls, *, fail_at: int | None = None) -> list[tuple[str, object]]:
    """Record every unit ``cls`` runs; raise ``Interrupted`` in the ``fail_at``-th (1-based)."""
    original, calls = cls.run_unit, []

    def run_unit(self, task, key):
        calls.append((task.name, key))
        if len(calls) == fail_at:
            raise Interrupted
        return original(self, task, key)

    monkeypatch.setattr(cls, "run_unit", run_unit)
    return calls


def _files(root: Path) -> dict[str, bytes]:
    """Every prediction file of a run (the seeds' and the promoted ones), by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.tsv"))}


def _no_leftovers(root: Path) -> None:
    """No temporary file anywhere, and every JSON document complete."""
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]
    for path in root.rglob("*.json"):
        json.loads(path.read_text())


def test_resume_skips_finished_units_for_every_method(method, tmp_path, monkeypatch):
    cls, run = method
    whole = run(tmp_path / "whole")
    planned = [(u["task"], u["seed"]) for u in (
        json.loads(p.read_text()) for p in sorted((tmp_path / "whole" / "units").glob("*")))]
    assert len(planned) >= 2

    out = tmp_path / "resumed"
    calls = _spy(monkeypatch, cls, fail_at=2)
    with pytest.raises(Interrupted):
        run(out)
    first = calls[0]
    markers = sorted((out / "units").glob("*.json"))
    assert [json.loads(m.read_text())["seed"] for m in markers] == [first[1]]
    marker_bytes, marker_time = markers[0].read_bytes(), markers[0].stat().st_mtime_ns

    monkeypatch.undo()
    calls = _spy(monkeypatch, cls)                             # the spy, without the failure
    resumed = run(out)
    assert first not in calls                                  # not run again
    assert sorted(calls) == sorted(u for u in planned if u != first)
    assert markers[0].read_bytes() == marker_bytes
    assert markers[0].stat().st_mtime_ns == marker_time
    assert resumed["tasks"] == whole["tasks"]
    assert resumed["files"] == whole["files"]
    assert _files(out) == _files(tmp_path / "whole")
    _no_leftovers(out)

    calls.clear()
    run(out)                                                    # all finished: nothing runs
    assert calls == []


def _glue_score(unit: dict) -> float:
    return float(np.mean([e["score"] for name, e in unit["entries"].items()
                          if BENCHMARKS[name].glue_group]))


def test_the_median_seed_is_promoted(tmp_path):
    out = tmp_path / "run"
    results = run_baseline(open_source("sample"),
                           BaselineConfig(kind="random", seeds=(1, 2, 3, 4, 5), splits=("dev",)),
                           out, "RTE,STS-B,MNLI,MRPC", **COMMON)
    checked = 0
    for task in ("RTE", "STS-B", "MNLI", "MRPC"):
        units = [json.loads(p.read_text()) for p in sorted((out / "units").glob(f"{task}-seed*"))]
        scores = np.array([_glue_score(u) for u in units])
        if len(set(scores)) < len(scores):
            continue                                  # ties: the median seed is not unique
        chosen = units[int(np.flatnonzero(scores == np.median(scores))[0])]["seed"]
        entries = list(units[0]["entries"])
        for entry in entries:
            name = BENCHMARKS[entry].submission_file
            assert (out / "predictions" / "dev" / name).read_bytes() == \
                (out / "seeds" / str(chosen) / "predictions" / "dev" / name).read_bytes()
            assert results["tasks"][entry]["seeds"]["selected"] == chosen
        assert results["training"][task]["selected_seed"] == chosen
        checked += 1
    assert checked >= 2
    # And not merely the first or the last seed: the five random seeds put some task's median
    # in the middle.
    assert {results["training"][t]["selected_seed"] for t in results["training"]} - {1, 5}


@pytest.mark.parametrize("name", [pytest.param("finetune", marks=pytest.mark.slow), "baseline"])
def test_an_interrupted_unit_leaves_nothing_half_written(name, request, tmp_path, monkeypatch):
    """Interrupted after its first prediction file, then while its marker is being written: no
    marker, no temporary file; the unit runs again on resume and the run ends as a whole one."""
    cls, run = _methods(request)[name]
    whole = run(tmp_path / "whole")
    out = tmp_path / "run"

    # 1. in the middle of the first unit, after one prediction file is written
    written, write = [], recording.write_prediction_file

    def write_then_fail(path, *args):
        write(path, *args)
        written.append(path)
        raise Interrupted

    monkeypatch.setattr(recording, "write_prediction_file", write_then_fail)
    monkeypatch.setattr(baselines, "write_prediction_file", write_then_fail)
    with pytest.raises(Interrupted):
        run(out)
    assert len(written) == 1 and written[0].is_file()
    assert not list((out / "units").glob("*")) and not (out / "results.json").exists()
    _no_leftovers(out)
    monkeypatch.undo()

    # 2. while the first unit's marker is being written (after its temporary file)
    replace = gluebench.formats.atomic.os.replace

    def fail_on_marker(src, dst):
        if Path(dst).parent.name == "units":
            raise Interrupted
        return replace(src, dst)

    monkeypatch.setattr(gluebench.formats.atomic.os, "replace", fail_on_marker)
    with pytest.raises(Interrupted):
        run(out)
    assert not list((out / "units").glob("*")) and not (out / "results.json").exists()
    _no_leftovers(out)
    monkeypatch.undo()

    calls = _spy(monkeypatch, cls)
    results = run(out)
    assert len(calls) == len(list((tmp_path / "whole" / "units").glob("*")))   # all ran
    assert results["tasks"] == whole["tasks"] and results["files"] == whole["files"]
    assert _files(out) == _files(tmp_path / "whole")
