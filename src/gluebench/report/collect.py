"""Read a run directory (results.json plus optional analysis files) for the report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gluebench.errors import DataError, UsageError

ANALYSIS_FILES = {"robustness": "robustness.json", "profile": "profile.json",
                  "quality": "quality.json"}


@dataclass
class RunView:
    """Everything the report knows about one run; analysis parts are None when not measured."""

    name: str
    path: Path
    results: dict
    robustness: dict | None = None
    profile: dict | None = None
    quality: dict | None = None

    @property
    def tasks(self) -> dict[str, dict]:
        return self.results.get("tasks") or {}

    @property
    def headline(self) -> tuple[float | None, bool, int]:
        """(GLUE score or partial average, is_partial, number of tasks averaged)."""
        glue = self.results.get("glue_score")
        if glue is not None:
            return float(glue), False, len(self.results.get("partial_average_tasks") or [])
        partial = self.results.get("partial_average")
        count = len(self.results.get("partial_average_tasks") or [])
        return (None if partial is None else float(partial)), True, count


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not valid JSON ({exc.msg})", exc.lineno) from exc
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror})") from exc
    if not isinstance(data, dict):
        raise DataError(path, "expected a JSON object")
    return data


def load_run(run_dir: str | Path, name: str | None = None) -> RunView:
    """Load ``RUN_DIR/results.json`` and whichever of ``RUN_DIR/analysis/*.json`` exist."""
    path = Path(run_dir)
    results_file = path / "results.json"
    if not results_file.is_file():
        raise UsageError(f"{run_dir}: not a gluebench run directory (no results.json); "
                         "run gluebench finetune or evaluate first")
    view = RunView(name=name or path.resolve().name or str(path), path=path,
                   results=_read_json(results_file))
    for attr, filename in ANALYSIS_FILES.items():
        file = path / "analysis" / filename
        if file.is_file():
            setattr(view, attr, _read_json(file))
    return view
