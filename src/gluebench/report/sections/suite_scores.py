"""The score sections of a suite report (SuperGLUE, FewGLUE, a user's suite).

Columns, metrics and the aggregate come from the suite's layout (``report.suite_view``),
never from GLUE's registry: the leaderboard (the suite score or a labelled partial
average, each entry's score with its CI), and every metric of every entry with its CI,
count and the bootstrap's resampling unit.
"""

from __future__ import annotations

from gluebench.console.format import DASH, fmt_ci, fmt_int, fmt_score
from gluebench.report import plots
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Cell, Figure, Note, Section, c, table
from gluebench.report.sections.shared import best, method, seeds
from gluebench.report.suite_view import SuiteLayout

PARTIAL_MARK = "*"


def present(layout: SuiteLayout, runs: list[RunView]) -> list[str]:
    """The layout's entries that some run scored, in the suite's order, then any others."""
    names = [e.name for e in layout.entries if any(e.name in r.tasks for r in runs)]
    extra = sorted({n for r in runs for n in r.tasks} - set(names))
    return names + extra


def metrics_of(layout: SuiteLayout, name: str) -> tuple[str, ...]:
    entry = layout.entry(name)
    return entry.metrics if entry else ("score",)


def headline(layout: SuiteLayout, results: dict) -> tuple[float | None, bool]:
    """(the suite score, or the partial average; whether it is partial)."""
    if results.get(layout.aggregate) is not None:
        return float(results[layout.aggregate]), False
    partial = results.get("partial_average")
    return (None if partial is None else float(partial)), True


def suite_overview_section(runs: list[RunView], layout: SuiteLayout) -> Section:
    s = Section("runs", "Runs compared")
    rows = []
    for i, r in enumerate(runs):
        res = r.results
        sha = ((res.get("suite") or {}).get("sha256") or "")[:12]
        rows.append([c(r.name, run=i, bold=True), c(layout.title, sub=f"sha256 {sha}"),
                     c(_model(res)), c(method(res)), c(res.get("split") or "dev"),
                     c(res.get("data_source") or DASH), c(seeds(res)), c(str(r.path))])
    s.blocks.append(table(["Run", "Suite", "Model", "Method", "Split", "Data", "Seeds",
                           "Source"], rows, ["l"] * 8))
    s.p(f"How to read this: {layout.title} scores ×100 with the metrics its suite definition "
        "names (two-metric entries average them). The "
        f"{layout.title} score is the suite's aggregate; with an entry missing it is a "
        f"partial average, marked {PARTIAL_MARK}, and not comparable to the suite score. "
        "Brackets give 95% bootstrap confidence intervals; each entry's bootstrap resamples "
        "the unit its metrics are defined over (see the per-entry table).")
    differ = [r.name for r in runs if layout.sha256 and
              (r.results.get("suite") or {}).get("sha256") not in (None, layout.sha256)]
    if differ:
        s.blocks.append(Note(f"{', '.join(differ)}: scored with a {layout.title} definition "
                             f"other than the one this report lays out (sha256 "
                             f"{layout.sha256[:12]}); entries, metrics and groups may differ"))
    if not layout.from_definition:
        s.blocks.append(Note(f"the definition of suite '{layout.name}' was not given: entries "
                             "and metrics are read off the results (pass `--suite PATH` for "
                             "its order and its aggregate groups)"))
    return s


def _model(results: dict) -> str:
    model = results.get("model")
    if isinstance(model, dict):  # per task; one value when every task used the same
        distinct = list(dict.fromkeys(str(v) for v in model.values()))
        if len(distinct) == 1:
            return distinct[0]
        return "; ".join(f"{k}: {v}" for k, v in model.items()) or DASH
    return DASH if model in (None, "") else str(model)


def suite_leaderboard_section(runs: list[RunView], layout: SuiteLayout) -> Section:
    s = Section("leaderboard", "Leaderboard")
    entries = present(layout, runs)
    heads = [headline(layout, r.results) for r in runs]
    best_head = best([v for v, _ in heads]) if len({p for _, p in heads}) == 1 else set()
    best_entry = {e: best([r.tasks.get(e, {}).get("score") for r in runs]) for e in entries}
    rows = []
    for i, r in enumerate(runs):
        row = [c(r.name, run=i, bold=True), _headline_cell(heads[i], i in best_head)]
        row += [_entry_cell(r.tasks.get(e), i in best_entry[e]) for e in entries]
        rows.append(row)
    headers = ["Run", f"{layout.title}\nscore"] + [
        f"{e}\n{'/'.join(metrics_of(layout, e))}" for e in entries]
    s.blocks.append(table(headers, rows, caption="; ".join(_notes(layout, runs, heads)),
                          css="leaderboard"))
    return s


def _headline_cell(head: tuple[float | None, bool], bold: bool) -> Cell:
    value, partial = head
    if value is None:
        return c(DASH, muted=True)
    if partial:
        return c(f"{value:.1f}{PARTIAL_MARK}", sub="partial average", bold=bold,
                 title="partial average over the entries present, not the suite score")
    return c(fmt_score(value), bold=bold)


def _entry_cell(result: dict | None, bold: bool) -> Cell:
    if not result:
        return c(DASH, muted=True)
    return c(fmt_score(result.get("score")), sub=fmt_ci((result.get("ci") or {}).get("score")),
             bold=bold)


def _notes(layout: SuiteLayout, runs: list[RunView], heads) -> list[str]:
    notes = []
    if any(partial for _, partial in heads):
        missing = sorted({m for r in runs for m in r.results.get("tasks_missing") or []})
        notes.append(f"{PARTIAL_MARK} partial average over the entries present, not the "
                     f"{layout.title} score" + (f" (missing: {', '.join(missing)})"
                                                if missing else ""))
    beside = [e.name for e in layout.entries if not e.in_score]
    if beside:
        notes.append(f"{', '.join(beside)}: reported beside the {layout.title} score, not "
                     "in it")
    return notes


def suite_metrics_section(runs: list[RunView], layout: SuiteLayout, figures: bool) -> Section:
    s = Section("tasks", "Per-entry metrics")
    entries = present(layout, runs)
    if not entries:
        s.blocks.append(Note("no entry scores in these runs"))
        return s
    if figures:
        scores = [{e: {"score": t.get("score"), "ci": (t.get("ci") or {}).get("score")}
                   for e, t in r.tasks.items()} for r in runs]
        svg = plots.task_bars([r.name for r in runs], entries, scores)
        if svg:
            s.blocks.append(Figure("task_bars", svg, ""))
    s.blocks.append(table(["Entry", "Metric"] + [r.name for r in runs] + ["n", "Resampled"],
                          _metric_rows(runs, layout, entries),
                          ["l", "l"] + ["r"] * (len(runs) + 1) + ["l"],
                          title="Every metric (×100) with its 95% CI", compact=True))
    for line in _unit_lines(runs, entries):
        s.p(line)
    return s


def _metric_rows(runs: list[RunView], layout: SuiteLayout, entries: list[str]
                 ) -> list[list[Cell]]:
    rows = []
    for e in entries:
        metrics = metrics_of(layout, e)
        first = next((r.tasks[e] for r in runs if e in r.tasks), {})
        for m in metrics:
            row = [c(e if m == metrics[0] else "", bold=True), c(m)]
            for r in runs:
                t = r.tasks.get(e)
                if not t or t.get(m) is None:
                    row.append(c(DASH, muted=True))
                    continue
                scale = 1.0 if m == "score" else 100.0
                row.append(c(fmt_score(scale * t[m]),
                             sub=fmt_ci((t.get("ci") or {}).get(m), scale)))
            top = m == metrics[0]
            row += [c(fmt_int(first.get("n")) if top else ""), c(_unit(first) if top else "")]
            rows.append(row)
    return rows


def _unit(result: dict) -> str:
    unit = result.get("resample") or "example"
    return f"{unit} ({fmt_int(result['n_units'])})" if "n_units" in result else unit


def _unit_lines(runs: list[RunView], entries: list[str]) -> list[str]:
    """One line per entry whose bootstrap resamples groups rather than single rows."""
    lines = []
    for e in entries:
        result = next((r.tasks[e] for r in runs if e in r.tasks), {})
        unit = result.get("resample") or "example"
        if unit == "example":
            continue
        lines.append(f"{e}: the bootstrap resamples whole {unit}s ({fmt_int(result.get('n_units'))}"
                     f" of them, {fmt_int(result.get('n'))} rows), not single rows: the rows "
                     f"of one {unit} share their text, so their errors are not independent "
                     "and resampling rows would make the interval too narrow.")
    unscored = [f"{e} {r.tasks[e]['n_unscored']} ({r.name})" for r in runs for e in entries
                if (r.tasks.get(e) or {}).get("n_unscored")]
    if unscored:
        lines.append("Rows without a gold label, in the file but not in n nor in any metric: "
                     + ", ".join(unscored) + ".")
    return lines
