"""A sweep directory: its layout, one result file per trial, resuming.

::

    SWEEP_DIR/
      sweep.json            the spec, the data source and every trial of the last run
      results/<key>.json    one record per finished or failed trial (written atomically)
      selection.json        each task x method's best configuration and every configuration
      trials/<key>/         the trial's run directory (run.json, results.json, predictions/,
                            outputs/, log.txt, attempts/<n>.json: where each attempt ran)

Keys are content hashes, so several specs can share a directory: each run's
``sweep.json`` says which trials are its own, and finished trials are reused.
"""

from __future__ import annotations

from pathlib import Path

from gluebench.about import SCHEMA_VERSION
from gluebench.errors import UsageError
from gluebench.formats.atomic import read_json, write_json
from gluebench.runs.lock import LOCK_NAME, RunLock
from gluebench.runs.suite_view import SuiteView, recorded_view
from gluebench.sweep.trials import Trial


class SweepDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._view: tuple[tuple[int, int], SuiteView] | None = None

    @property
    def plan_path(self) -> Path:
        return self.root / "sweep.json"

    def record_path(self, key: str) -> Path:
        return self.root / "results" / f"{key}.json"

    def trial_dir(self, key: str) -> Path:
        return self.root / "trials" / key

    def check_writable(self) -> None:
        """Before any trial runs: SWEEP_DIR is a directory (or can become one)."""
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"{self.root}: exists and is not a directory")
        started = self.plan_path.is_file() or (self.root / LOCK_NAME).is_file()
        if self.root.is_dir() and any(self.root.iterdir()) and not started:
            raise UsageError(f"{self.root}: not empty and not a sweep directory (no "
                             "sweep.json); choose another -o")

    def lock(self) -> RunLock:
        """One sweep writes here at a time: a second one is told so (pid, host, since when)
        in one line before it writes anything, instead of running the same trials and
        recording the first one's locked trials as failures."""
        return RunLock(self.root)

    def write_plan(self, plan: dict) -> None:
        write_json(self.plan_path, {"schema_version": SCHEMA_VERSION, "kind": "sweep", **plan})

    def plan(self) -> dict:
        if not self.plan_path.is_file():
            raise UsageError(f"{self.root}: not a sweep directory (no sweep.json)")
        return read_json(self.plan_path)

    def view(self) -> SuiteView:
        """The suite the sweep was planned on (GLUE when the plan names none). Read once per
        version of sweep.json: comparing methods asks for it once per trial, and a plan of
        thousands of trials takes milliseconds to parse."""
        try:
            stat = self.plan_path.stat()
        except FileNotFoundError:
            return recorded_view(self.plan(), self.plan_path)    # plan() says what is missing
        version = (stat.st_mtime_ns, stat.st_size)
        if self._view is None or self._view[0] != version:
            self._view = (version, recorded_view(self.plan(), self.plan_path))
        return self._view[1]

    def trials(self) -> list[Trial]:
        return [Trial.from_json(t) for t in self.plan()["trials"]]

    def record(self, key: str) -> dict | None:
        path = self.record_path(key)
        return read_json(path) if path.is_file() else None

    def finished(self, key: str) -> bool:
        record = self.record(key)
        return record is not None and record.get("status") == "ok"

    def write_record(self, record: dict) -> None:
        write_json(self.record_path(record["key"]),
                   {"schema_version": SCHEMA_VERSION, **record})

    def write_selection(self, selection: dict) -> None:
        write_json(self.root / "selection.json", {"schema_version": SCHEMA_VERSION, **selection})

    def records(self) -> dict[str, dict]:
        """The result record of each of this sweep's trials that has one, by key."""
        out = {}
        for trial in self.trials():
            record = self.record(trial.key)
            if record is not None:
                out[trial.key] = record
        return out


def is_sweep_dir(path: str | Path) -> bool:
    return (Path(path) / "sweep.json").is_file()
