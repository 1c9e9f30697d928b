"""Read a run directory (results.json plus optional analysis files) for the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gluebench.formats.atomic import read_json
from gluebench.runs.readers import read_results
from gluebench.studies.design import StudyDir
from gluebench.sweep.sweepdir import SweepDir

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


def load_run(run_dir: str | Path, name: str | None = None) -> RunView:
    """Load ``RUN_DIR/results.json`` and whichever of ``RUN_DIR/analysis/*.json`` exist;
    a ``.json`` file instead of a folder is a results document (``score --json OUT``)."""
    path = Path(run_dir)
    if path.is_file() and path.suffix == ".json":
        return RunView(name=name or path.stem, path=path, results=read_json(path))
    view = RunView(name=name or path.resolve().name or str(path), path=path,
                   results=read_results(path))
    for attr, filename in ANALYSIS_FILES.items():
        file = path / "analysis" / filename
        if file.is_file():
            setattr(view, attr, read_json(file))
    return view


@dataclass
class SweepView:
    """A sweep directory for the report: its plan, records, selection and method comparisons."""

    name: str
    path: Path
    plan: dict
    records: dict
    selection: dict
    comparisons: list

    kind = "sweep"

    @property
    def label(self) -> str:
        return f"sweep {self.name}"


def load_sweep(sweep_dir: str | Path, *, n_resamples: int = 1000, seed: int = 0) -> SweepView:
    """Read ``SWEEP_DIR`` (sweep.json, results/) and select each task's best configurations."""
    from gluebench.sweep.select import compare_methods, select  # deferred: loads scipy

    sweep = SweepDir(sweep_dir)
    selection = select(sweep)
    return SweepView(name=Path(sweep_dir).resolve().name, path=Path(sweep_dir),
                     plan=sweep.plan(), records=sweep.records(), selection=selection,
                     comparisons=compare_methods(sweep, selection, n_resamples=n_resamples,
                                                 seed=seed))


@dataclass
class StudyView:
    """A study directory for the report: its design and ``studies.compare.analyse``."""

    name: str
    path: Path
    analysis: dict

    kind = "study"

    @property
    def label(self) -> str:
        return f"{self.analysis['design']['study']} study {self.name}"


def load_study(study_dir: str | Path, *, n_resamples: int = 1000, seed: int = 0) -> StudyView:
    """Read ``STUDY_DIR`` (study.json, results/, efficiency/) and compare its variants."""
    from gluebench.studies.analysis import analyse  # deferred: loads scipy

    return StudyView(name=Path(study_dir).resolve().name, path=Path(study_dir),
                     analysis=analyse(StudyDir(study_dir), n_resamples=n_resamples, seed=seed))
