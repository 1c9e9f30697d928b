"""Lookups that several report sections share: entry order, best values, missing analyses."""

from __future__ import annotations

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.console.format import DASH, is_nan
from gluebench.console.prompt_tables import prompt_setup
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Note


def glue_order(names) -> list[str]:
    """Entry names in GLUE order first, then the others sorted."""
    names = set(names)
    known = [n for n in BENCHMARKS if n in names]
    return known + sorted(names - set(known))


def entries_in(runs: list[RunView]) -> list[str]:
    """The task entries present in any run, in GLUE order."""
    return glue_order(n for r in runs for n in r.tasks)


def seeds(results: dict) -> str:
    """The run's training seeds as "1, 2, 3", or a dash."""
    seeds = (results.get("config") or {}).get("seeds")
    if not seeds:
        return DASH
    return ", ".join(str(s) for s in seeds)


def method(results: dict) -> str:
    """How the run's model was adapted: the fine-tuning method, or the prompt setup."""
    if results.get("kind") == "prompt":
        return "prompt: " + prompt_setup(results)
    return (results.get("config") or {}).get("method") or DASH


ALPHA = 0.05   # a test is called significant when its Holm-adjusted p is below this


def seed_tests_caption(n_tests: int, family: str) -> str:
    """How the comparison tables' CI, p and bold were computed (studies and sweeps)."""
    return ("Seed-aware t test of the difference of means over seeds: variance = its "
            "bootstrap variance over examples (resampled with the same indices for every "
            "seed) + each side's seed variance beyond its seeds' own example noise, "
            "Welch-Satterthwaite df; CI: the matching t interval (one seed each: paired "
            f"bootstrap and permutation). p (Holm): Holm-adjusted across the {n_tests} tests "
            f"of this {family}; bold: Holm-adjusted p < {ALPHA}")


def seed_counts(test: dict) -> str:
    """A comparison's seeds as "3/3" (A's and B's)."""
    return f"{len(test['seeds_a'])}/{len(test['seeds_b'])}"


def not_measured(run: RunView, what: str, command: str) -> Note:
    """The "not measured" line naming the ``gluebench`` command that measures ``what``."""
    return Note(f"{run.name}: {what} not measured — run `gluebench {command} {run.path}`",
                tail=True)


def best(values: list[float | None], higher: bool = True, digits: int = 1) -> set[int]:
    """Indices of the best value (ties included); empty unless two or more values exist."""
    present = [(v, i) for i, v in enumerate(values) if v is not None and not is_nan(v)]
    if len(present) < 2:
        return set()
    best = max(v for v, _ in present) if higher else min(v for v, _ in present)
    return {i for v, i in present if round(v, digits) == round(best, digits)}
