"""The AX diagnostic section: R3 of the MNLI model on each linguistic category.

The entry, its model and its categories are the GLUE definition's (``entries.AX``: the
entry that has ``categories``)."""

from __future__ import annotations

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.console.format import fmt_ci, fmt_int, fmt_score
from gluebench.report import plots
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Cell, Figure, Note, Section, c, table

#: One row of the AX table: (category name, "all" | "coarse" | "fine", n examples).
AxRow = tuple[str, str, "int | None"]

DIAGNOSTIC = next(b for b in BENCHMARKS.values() if b.categories)
AX = DIAGNOSTIC.name


def ax_section(runs: list[RunView], figures: bool) -> Section:
    s = Section("ax", f"{AX} diagnostic")
    have = [r for r in runs if AX in r.tasks]
    if not have:
        model = DIAGNOSTIC.model
        s.blocks.append(Note(f"no {AX} in these runs — {AX} is scored with an {model} model; "
                             f"include {model} and {AX} in the run's tasks to get the "
                             "diagnostic"))
        return s
    rows = _category_rows(have)
    values = [[_value(r, name, level) for r in have] for name, level, _ in rows]
    if figures:
        svg = plots.ax_heatmap([r.name for r in have], rows, values)
        if svg:
            s.blocks.append(Figure("ax_heatmap", svg, ""))
    s.p(f"R3 (Gorodkin's multi-class Matthews correlation, ×100) of the {DIAGNOSTIC.model} "
        "model on each diagnostic category: 0 is chance, negative means systematically wrong.")
    s.blocks.append(table(["Category", "n"] + [r.name for r in have],
                          _table_rows(have, rows, values),
                          title="R3 (×100) by category with 95% CI", compact=True,
                          collapsed=True))
    missing = [r for r in runs if AX not in r.tasks]
    for r in missing:
        s.blocks.append(Note(f"{r.name}: no {AX} entry in this run"))
    return s


def _category_rows(have: list[RunView]) -> list[AxRow]:
    """All of AX, then each coarse category followed by its fine ones, then orphan fine ones."""
    cats: dict[str, dict] = {}
    for r in have:
        for name, cat in (r.tasks[AX].get("categories") or {}).items():
            cats.setdefault(name, cat)
    coarse = [n for n in DIAGNOSTIC.categories if n in cats]
    coarse += [n for n, v in cats.items() if v.get("level") == "coarse" and n not in coarse]
    rows: list[AxRow] = [(f"{AX} (all)", "all", have[0].tasks[AX].get("n"))]
    for name in coarse:
        rows.append((name, "coarse", cats[name].get("n")))
        rows += [(f, "fine", v.get("n")) for f, v in cats.items() if v.get("parent") == name]
    rows += [(f, "fine", v.get("n")) for f, v in cats.items()
             if v.get("level") == "fine" and v.get("parent") not in coarse]
    return rows


def _value(r: RunView, name: str, level: str):
    ax = r.tasks.get(AX)
    if not ax:
        return None
    if level == "all":
        return ax.get("score")
    v = (ax.get("categories") or {}).get(name, {}).get("r3")
    return None if v is None else 100 * v


def _table_rows(have: list[RunView], rows: list[AxRow], values) -> list[list[Cell]]:
    table_rows = []
    for (name, level, n), vals in zip(rows, values, strict=True):
        cells = [c(("  · " if level == "fine" else "") + name, bold=level != "fine"),
                 c(fmt_int(n))]
        for r, v in zip(have, vals, strict=True):
            ci = None
            if AX in r.tasks:
                ci = (r.tasks[AX].get("ci") or {}).get("score") if level == "all" else None
                cat = (r.tasks[AX].get("categories") or {}).get(name)
                sub = fmt_ci(cat.get("ci"), 100.0) if cat else fmt_ci(ci)
            else:
                sub = ""
            cells.append(c(fmt_score(v), sub=sub, muted=v is None))
        table_rows.append(cells)
    return table_rows
