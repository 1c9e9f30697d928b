"""The diagnostic section of a suite report: a metric per linguistic category (AX-b), and
gender parity beside accuracy (AX-g).

Which entries: those whose results carry ``categories`` (``suite_categories``), and those
scored with ``gender_parity``; both read the entry's metrics from the suite's layout, so a
user's suite with its own diagnostic gets the same tables.
"""

from __future__ import annotations

from gluebench.console.format import DASH, fmt_ci, fmt_int, fmt_score
from gluebench.report import plots
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Cell, Figure, Note, Section, c, table
from gluebench.report.sections.suite_scores import metrics_of, present
from gluebench.report.suite_view import SuiteLayout

PARITY = "gender_parity"
#: One row of a category table: (category, "all" | "coarse" | "fine", n rows).
CategoryRow = tuple[str, str, "int | None"]


def suite_diagnostics_section(runs: list[RunView], layout: SuiteLayout,
                              figures: bool) -> Section:
    s = Section("diagnostics", "Diagnostics")
    entries = present(layout, runs)
    categorised = [e for e in entries if any("categories" in r.tasks.get(e, {}) for r in runs)]
    parity = [e for e in entries if PARITY in metrics_of(layout, e)]
    for e in categorised:
        _category_blocks(s, runs, e, metrics_of(layout, e)[0], figures)
    for e in entries:
        spec = layout.entry(e)
        lacking = [r.name for r in runs if e in r.tasks and "categories" not in r.tasks[e]]
        if spec and spec.categorised and lacking:
            s.blocks.append(Note(f"{', '.join(lacking)}: no {e} scores per category in these "
                                 f"results — score with `gluebench score --suite "
                                 f"{layout.name} --categories`", tail=True))
    for e in parity:
        _parity_blocks(s, runs, e, metrics_of(layout, e))
    if not categorised and not parity and not s.blocks:
        s.blocks.append(Note(f"no diagnostic entry (categories, gender parity) in these "
                             f"{layout.title} results"))
    return s


def _category_blocks(s: Section, runs: list[RunView], entry: str, metric: str,
                     figures: bool) -> None:
    have = [r for r in runs if "categories" in r.tasks.get(entry, {})]
    rows = _category_rows(have, entry)
    values = [[_value(r, entry, metric, name, level) for r in have] for name, level, _ in rows]
    if figures:
        svg = plots.ax_heatmap([r.name for r in have], rows, values,
                               scale_label=f"{metric} (×100)")
        if svg:
            s.blocks.append(Figure(f"categories_{entry}", svg, ""))
    s.p(f"{entry}: {metric} (×100) of the predictions on each linguistic category; a coarse "
        "category covers every row with any of its tags, a fine one every row with that "
        "tag. 0 is chance; small categories have wide intervals.")
    s.blocks.append(table(["Category", "n"] + [r.name for r in have],
                          _category_table(have, entry, metric, rows, values),
                          title=f"{entry}: {metric} (×100) by category with 95% CI",
                          compact=True))


def _category_rows(have: list[RunView], entry: str) -> list[CategoryRow]:
    """The whole entry, then each coarse category followed by its fine ones."""
    cats: dict[str, dict] = {}
    for r in have:
        for name, cat in r.tasks[entry]["categories"].items():
            cats.setdefault(name, cat)
    rows: list[CategoryRow] = [(f"{entry} (all)", "all", have[0].tasks[entry].get("n"))]
    for name, cat in cats.items():
        if cat.get("level") == "coarse":
            rows.append((name, "coarse", cat.get("n")))
            rows += [(f, "fine", v.get("n")) for f, v in cats.items() if v.get("parent") == name]
    return rows


def _value(r: RunView, entry: str, metric: str, name: str, level: str) -> float | None:
    result = r.tasks.get(entry) or {}
    if level == "all":
        return result.get("score")
    v = (result.get("categories") or {}).get(name, {}).get(metric)
    return None if v is None else 100 * v


def _category_table(have, entry, metric, rows, values) -> list[list[Cell]]:
    out = []
    for (name, level, n), vals in zip(rows, values, strict=True):
        cells = [c(("  · " if level == "fine" else "") + name, bold=level != "fine"),
                 c(fmt_int(n))]
        for r, v in zip(have, vals, strict=True):
            result = r.tasks[entry]
            ci = ((result.get("ci") or {}).get("score") if level == "all" else
                  [100 * x for x in (result["categories"].get(name) or {}).get("ci") or []])
            cells.append(c(fmt_score(v), sub=fmt_ci(ci), muted=v is None))
        out.append(cells)
    return out


def _parity_blocks(s: Section, runs: list[RunView], entry: str,
                   metrics: tuple[str, ...]) -> None:
    have = [r for r in runs if entry in r.tasks]
    others = [m for m in metrics if m != PARITY]
    rows = []
    for i, r in enumerate(runs):
        t = r.tasks.get(entry)
        cells = [c(r.name, run=i, bold=True)]
        for m in (PARITY, *others):
            if not t or t.get(m) is None:
                cells.append(c(DASH, muted=True))
            else:
                cells.append(c(fmt_score(100 * t[m]), sub=fmt_ci((t.get("ci") or {}).get(m),
                                                                 100.0)))
        cells += [c(fmt_int(t.get("n_units")) if t else DASH), c(fmt_int(t.get("n")) if t
                                                                  else DASH)]
        rows.append(cells)
    s.p(f"{entry}: gender parity is the share of minimal pairs (two rows that differ only in "
        "the pronoun's gender) given the same prediction; 100 means the gender never changes "
        "the answer. Read it beside accuracy: a system that answers the same everywhere has "
        "perfect parity. The bootstrap resamples whole pairs.")
    if have:
        s.blocks.append(table(["Run", f"{PARITY} (×100)"] + [f"{m} (×100)" for m in others]
                              + ["pairs", "rows"], rows,
                              title=f"{entry}: gender parity and accuracy with 95% CI",
                              compact=True))
