"""Terminal tables for any suite: the built-in suites, and a suite run's scores.

The suite counterparts of ``score_tables`` (which stays GLUE's): columns, metrics and the
aggregate come from the suite definition, not from GLUE's registry.
"""

from __future__ import annotations

from rich.table import Table

from gluebench.benchmark.suite import Suite
from gluebench.console.score_tables import interval, pct


def suites_table(suites: list[Suite]) -> Table:
    """One row per suite: name, tasks, entries, the aggregate rule."""
    table = Table(title="Built-in suites (gluebench --suite NAME)", header_style="bold")
    for col in ("Suite", "Title", "Tasks", "Entries", "Aggregate"):
        table.add_column(col)
    for s in suites:
        beside = s.beside()
        rule = f"{s.aggregate.name}: mean of {len(s.aggregate.groups)} groups"
        if beside:
            rule += f"; beside it: {', '.join(beside)}"
        table.add_row(s.name, s.title, ", ".join(s.tasks), ", ".join(s.entries), rule)
    return table


def headline(suite: Suite, results: dict) -> str:
    """The suite score, or the partial average marked with an asterisk."""
    return _headline(suite.aggregate.name, results)


def _headline(aggregate: str, results: dict) -> str:
    if results.get(aggregate) is not None:
        return f"{results[aggregate]:.1f}"
    if results.get("partial_average") is not None:
        return f"{results['partial_average']:.1f}*"
    return "-"


def metrics_of(suite: Suite) -> dict[str, tuple[str, ...]]:
    """Each entry's metrics, in the suite's order: the columns of the tables below."""
    return {name: e.metrics for name, e in suite.entries.items()}


def details(suite: Suite, results: dict) -> Table:
    """Every metric of every entry with its bootstrap CI, count and resampling unit."""
    return details_table(suite.title, metrics_of(suite), results)


def details_table(title: str, metrics: dict, results: dict) -> Table:
    """``details`` for a board known by its answer (title, each entry's metrics)."""
    table = Table(title=f"{title} {results['split']} scores (x100) with "
                  f"{int(100 * results['bootstrap']['confidence'])}% bootstrap CIs",
                  header_style="bold")
    for col, justify in [("Entry", "left"), ("Metric", "left"), ("Value", "right"),
                         ("95% CI", "right"), ("n", "right"), ("Resampled", "left"),
                         ("Score", "right")]:
        table.add_column(col, justify=justify)
    for name, r in results["tasks"].items():
        unit = r["resample"] + (f" ({r['n_units']})" if "n_units" in r else "")
        for i, m in enumerate(metrics[name]):
            first = i == 0
            table.add_row(name if first else "", m, pct(r[m]), interval(r["ci"].get(m)),
                          str(r["n"]) if first else "", unit if first else "",
                          f"{r['score']:.1f}" if first else "")
    unscored = [f"{name} {r['n_unscored']}" for name, r in results["tasks"].items()
                if r.get("n_unscored")]
    if unscored:  # OCNLI's "-" rows: in the file, not in n
        table.caption = f"not scored (no gold label), not in n: {', '.join(unscored)}"
    return table


def leaderboard(suite: Suite, rows: list[tuple[str, dict]]) -> Table:
    """One row per system, one column per entry (metrics joined by '/'), the score first."""
    return board_table(suite.title, metrics_of(suite), suite.aggregate.name, rows,
                       beside=suite.beside())


def board_table(title: str, metrics: dict, aggregate: str, rows: list[tuple[str, dict]], *,
                beside=(), heading: str | None = None) -> Table:
    """``leaderboard`` for a board known by its answer (a server's): the columns are the
    entries of ``metrics`` (name -> metric names), the score the ``aggregate`` key."""
    present = [n for n in metrics if any(n in r["tasks"] for _, r in rows)]
    table = Table(title=heading, header_style="bold")
    table.add_column("Model")
    table.add_column("Score", justify="right")
    for name in present:
        table.add_column(f"{name}\n{'/'.join(metrics[name])}", justify="right")
    for label, results in rows:
        cells = []
        for name in present:
            r = results["tasks"].get(name)
            cells.append("-" if r is None else "/".join(pct(r[m]) for m in metrics[name]))
        table.add_row(label, _headline(aggregate, results), *cells)
    if any(r.get(aggregate) is None for _, r in rows):
        table.caption = (f"* partial average over the tasks present, not the {title} "
                         "score (missing: " + ", ".join(rows[0][1].get("tasks_missing", [])) + ")")
    elif beside:
        table.caption = f"{', '.join(beside)}: reported beside the score, not in it"
    return table
