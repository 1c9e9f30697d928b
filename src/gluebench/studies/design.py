"""A study: named variants of one fine-tuning recipe per task, run as a sweep.

::

    STUDY_DIR/
      study.json          the design: kind, variants (settings, control, plotted value), facts
      sweep.json          the same trials as a sweep plan (``gluebench sweep`` machinery)
      results/ trials/    one record and one run directory per trial (see ``sweep.sweepdir``)
      efficiency/<key>.json   latency, throughput and int8 score of each variant's first seed
      teacher/ scores/    what a study computes once before its trials (cached by content)

Every variant's trials are ordinary sweep trials (JSON configs, content-addressed keys),
so a re-run skips what is finished and any executor runs them. Only the first seed of a
variant keeps its checkpoint, for profiling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from gluebench.about import SCHEMA_VERSION
from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.errors import UsageError
from gluebench.formats.atomic import read_json, write_json
from gluebench.runs.suite_view import suite_view
from gluebench.sweep.runner import run_sweep
from gluebench.sweep.sweepdir import SweepDir
from gluebench.sweep.trials import Trial, make_trial
from gluebench.train.config import build_config

KINDS = ("layer-drop", "distill", "data-diet")
PROFILE_REPEATS = 30          # batch-1 forwards per latency measurement
PROFILE_BATCH = 32            # the throughput batch size
PROFILE_MAX_EXAMPLES = 500    # dev examples the fp32 and int8 variants are scored on


@dataclass
class Variant:
    """One arm of a study on one task: a few TrainConfig settings over the study's base."""

    name: str                       # e.g. "full", "top-2", "kd", "el2n-0.5"
    task: str
    role: str                       # "control" or "variant"
    settings: dict                  # TrainConfig fields of this arm
    x: float | None                 # what the plots put on the x axis
    group: str                      # one line per group in the plots
    compare_to: list[str] = field(default_factory=list)   # variants it is tested against
    facts: dict = field(default_factory=dict)             # dropped layers, similarities, ...


@dataclass
class Study:
    kind: str
    model: str | None
    tasks: list[str]
    seeds: list[int]
    base: dict                      # TrainConfig settings every arm shares
    variants: list[Variant]
    x_label: str
    facts: dict = field(default_factory=dict)
    profile: bool = True
    suite: str = "glue"             # a built-in suite's name or a suite file's absolute path

    def to_json(self) -> dict:
        doc = asdict(self)
        doc["base"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.base.items()}
        if self.suite == "glue":    # a GLUE study's design as before suites existed
            del doc["suite"]
        return doc

    def config(self, variant: Variant, seed: int) -> dict:
        """The resolved TrainConfig of one arm and seed (checked as ``finetune`` checks it)."""
        settings = {**self.base, **variant.settings, "seeds": (seed,), "splits": ("dev",),
                    "save_checkpoints": self.profile and seed == self.seeds[0]}
        if self.model is not None:
            settings["model"] = self.model
        try:
            return build_config(**settings).to_dict()
        except UsageError as exc:
            raise UsageError(f"{variant.task} {variant.name}: {exc}") from None

    def trials(self, source, data: str | None = None) -> dict[str, dict[int, Trial]]:
        """Each variant's trial per seed, by ``"TASK/variant"`` (``data``: the data as
        workers open it, which a suite other than GLUE reads its rows from)."""
        view = suite_view(self.suite)
        data = data if data is not None else str(getattr(source, "root", source.description))
        prints = {t: view.fingerprints(source, data, t) for t in self.tasks}
        out: dict[str, dict[int, Trial]] = {}
        for v in self.variants:
            out[variant_id(v)] = {
                seed: make_trial(v.task, self.model, self.config(v, seed)["method"], seed,
                                 {"variant": v.name}, self.config(v, seed), prints[v.task],
                                 view=view)
                for seed in self.seeds}
        return out


def variant_id(v: Variant | dict) -> str:
    task, name = (v.task, v.name) if isinstance(v, Variant) else (v["task"], v["name"])
    return f"{task}/{name}"


class StudyDir(SweepDir):
    """A sweep directory with a study design beside its plan."""

    @property
    def design_path(self) -> Path:
        return self.root / "study.json"

    def efficiency_path(self, name: str) -> Path:
        return self.root / "efficiency" / f"{name}.json"

    def claim(self, kind: str) -> None:
        """Before any work: the folder is new, or a study of the same kind (resume)."""
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"{self.root}: exists and is not a directory")
        if self.design_path.is_file():
            found = read_json(self.design_path).get("study")
            if found != kind:
                raise UsageError(f"{self.root}: holds a {found} study, not {kind}; choose "
                                 "another -o")
        elif self.root.is_dir() and any(self.root.iterdir()):
            raise UsageError(f"{self.root}: not empty and not a study directory (no "
                             "study.json); choose another -o")
        else:
            write_json(self.design_path, {"schema_version": SCHEMA_VERSION, "kind": "study",
                                          "study": kind, "status": "preparing"})

    def write_design(self, study: Study, trials: dict, data_source: str, data: str) -> None:
        doc = {"schema_version": SCHEMA_VERSION, "kind": "study", "study": study.kind,
               "status": "planned", "data": data, "data_source": data_source,
               **study.to_json(),
               "keys": {vid: {str(s): t.key for s, t in by_seed.items()}
                        for vid, by_seed in trials.items()}}
        write_json(self.design_path, doc)
        flat = list({t.key: t for by_seed in trials.values() for t in by_seed.values()}.values())
        view = suite_view(study.suite)
        suite = {} if view.is_glue else {"suite": view.reference()}  # GLUE's plan as before
        self.write_plan({**suite, "spec": {"path": f"{study.kind} study", "tasks": study.tasks,
                                  "methods": sorted({t.method for t in flat}),
                                  "seeds": study.seeds, "grid": {"variant": sorted(
                                      {t.point["variant"] for t in flat})}},
                         "select_on": "dev", "data": data, "data_source": data_source,
                         "trials": [t.to_json() for t in flat]})

    def design(self) -> dict:
        if not self.design_path.is_file():
            raise UsageError(f"{self.root}: not a study directory (no study.json)")
        doc = read_json(self.design_path)
        if doc.get("status") == "preparing":
            raise UsageError(f"{self.root}: the study has not planned its trials yet "
                             "(re-run its command to resume)")
        return doc


def is_study_dir(path) -> bool:
    return (Path(path) / "study.json").is_file()


def flat_trials(trials: dict) -> list[Trial]:
    """Every trial once (two arms with the same settings share their trials)."""
    return list({t.key: t for by_seed in trials.values() for t in by_seed.values()}.values())


def profile_variants(study_dir: StudyDir, study: Study, trials: dict, source, *,
                     extra: dict | None = None, say=print) -> None:
    """Latency, throughput and the int8 score of each variant's first-seed checkpoint.

    ``extra``: more models to profile by name (a teacher), ``{name: (task, folder)}``.
    Written to ``efficiency/<name>.json`` once; a re-run keeps what exists.
    """
    jobs = {}
    for v in study.variants:
        trial = trials[variant_id(v)][study.seeds[0]]
        folder = study_dir.trial_dir(trial.key) / "checkpoints" / v.task / f"seed-{trial.seed}"
        jobs[trial.key] = (v.task, folder, trial.config)
    for name, (task, folder) in (extra or {}).items():
        jobs[name] = (task, Path(folder), study.config(study.variants[0], study.seeds[0]))
    for name, (task, folder, config) in jobs.items():
        path = study_dir.efficiency_path(name)
        if path.is_file() or not (folder / "config.json").is_file():
            continue
        say(f"profiling {task} {name} (fp32 and int8)")
        write_json(path, _profile(folder, task, config, source))


def _profile(folder: Path, task: str, config: dict, source) -> dict:
    from gluebench.benchmark.scoring import evaluation_examples  # deferred: loads scipy
    from gluebench.efficiency.profile import profile_model  # deferred: loads scipy

    # Profiling scores a GLUE task's first entry (a suite study is refused before it runs).
    benchmark = BENCHMARKS[suite_view().entries(task)[0]]
    examples = evaluation_examples(source, benchmark, "dev").subsample(
        min(config["max_eval_examples"] or PROFILE_MAX_EXAMPLES, PROFILE_MAX_EXAMPLES),
        config["data_seed"])
    doc = profile_model(str(folder), device="cpu", examples=examples,
                        repeats=PROFILE_REPEATS, batch_sizes=(PROFILE_BATCH,), int8=True,
                        max_seq_length=config["max_seq_length"], min_seconds=0.3)
    return {k: doc[k] for k in ("schema_version", "kind", "model_path", "task", "environment",
                                "examples", "parameters", "size_on_disk_bytes", "latency_ms",
                                "throughput", "variants")}


def run_study(study_dir: StudyDir, study: Study, source, data: str, executor, *, cpus: int,
              retries: int = 1, max_parallel: int = 1, resamples: int = 1000,
              progress: bool | None = None, extra_profiles: dict | None = None, say=print):
    """Plan, run every unfinished trial, profile each variant; returns the sweep's Outcome."""
    trials = study.trials(source, data)
    study_dir.write_design(study, trials, source.description, data)
    outcome = run_sweep(study_dir, flat_trials(trials), executor, data=data, cpus=cpus,
                        retries=retries, max_parallel=max_parallel, resamples=resamples,
                        progress=progress)
    if study.profile:
        profile_variants(study_dir, study, trials, source, extra=extra_profiles, say=say)
    return outcome
