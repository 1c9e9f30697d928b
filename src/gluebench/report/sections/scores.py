"""The score sections: the leaderboard (one combined score per entry) and per-task detail."""

from __future__ import annotations

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.console.format import (
    COLLAPSED_MARK,
    DASH,
    SUBSAMPLE_MARK,
    fmt_ci,
    fmt_int,
    fmt_score,
)
from gluebench.console.score_tables import METRIC_LABELS
from gluebench.report import plots
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Cell, Figure, Note, Section, c, table
from gluebench.report.sections.shared import best, entries_in, method


def leaderboard_section(runs: list[RunView]) -> Section:
    s = Section("leaderboard", "Leaderboard")
    entries = entries_in(runs)
    heads = [r.headline for r in runs]
    all_full = all(h[0] is not None and not h[1] for h in heads)
    same_tasks = len({tuple(r.results.get("partial_average_tasks") or []) for r in runs}) == 1
    best_head = best([h[0] for h in heads]) if all_full or same_tasks else set()
    best_entry = {e: best([r.tasks.get(e, {}).get("score") for r in runs]) for e in entries}
    rows = []
    subsampled: list[str] = []
    for i, r in enumerate(runs):
        setup = method(r.results) if r.results.get("kind") == "prompt" else None
        row = [c(r.name, run=i, bold=True, sub=setup or ""), _headline_cell(r, bold=i in best_head)]
        for e in entries:
            row.append(_entry_cell(r, e, i in best_entry[e], subsampled))
        rows.append(row)
    headers = ["Run", "GLUE\nscore"] + [
        f"{e}\n{'/'.join(METRIC_LABELS.get(m, m) for m in BENCHMARKS[e].metrics)}"
        if e in BENCHMARKS else e for e in entries]
    notes = _leaderboard_notes(runs, heads, subsampled)
    s.blocks.append(table(headers, rows, caption="; ".join(notes), css="leaderboard"))
    for r in runs:
        name, zero = next(((n, t["zero_shot_cosine"]) for n, t in r.tasks.items()
                           if t.get("zero_shot_cosine")), (None, None))
        if zero:
            s.p(f"{r.name}: {name} above is the probe's ridge head (its predictions in "
                f"`{name}.tsv`); the zero-shot cosine of the frozen sentence vectors, untrained, "
                f"scores Pearson {100 * zero['pearson']:.1f} / Spearman "
                f"{100 * zero['spearman']:.1f}.")
    sources = {str(r.results.get("data_source")) for r in runs}
    if len(sources) > 1:
        s.p("Caution: these runs were scored on different data ("
            + ", ".join(f"{r.name}: {r.results.get('data_source') or DASH}" for r in runs)
            + "), so their scores are not directly comparable.")
    return s


def _headline_cell(r: RunView, *, bold: bool) -> Cell:
    value, partial, count = r.headline
    if value is None:
        return c(DASH)
    if partial:
        return c(f"{value:.1f}*", sub=f"partial, {count} tasks",
                 bold=bold, title="partial average, not the GLUE score")
    return c(fmt_score(value), bold=bold)


def _entry_cell(r: RunView, e: str, bold: bool, subsampled: list[str]) -> Cell:
    """One leaderboard score with its CI and marks; notes subsampled entries in ``subsampled``."""
    t = r.tasks.get(e)
    if not t:
        return c(DASH, muted=True)
    text = fmt_score(t.get("score"))
    tips = []
    if t.get("collapsed"):
        text += COLLAPSED_MARK
        tips.append("collapsed: one class for ≥ 99% of predictions")
    sub = fmt_ci((t.get("ci") or {}).get("score"))
    if t.get("subsample"):
        text += SUBSAMPLE_MARK
        n_of = (f"{fmt_int(t['subsample'].get('n'))} of "
                f"{fmt_int(t['subsample'].get('of'))}")
        subsampled.append(f"{e} {n_of} ({r.name})")
        tips.append(f"scored on {n_of} dev examples")
    return c(text, sub=sub, bold=bold, title="; ".join(tips))


def _leaderboard_notes(runs: list[RunView], heads: list, subsampled: list[str]) -> list[str]:
    notes = []
    if any(h[1] for h in heads):
        notes.append("* partial average over the entries present — not comparable to a GLUE "
                     "score, nor between runs with different task sets")
    if subsampled:
        notes.append(f"{SUBSAMPLE_MARK} scored on a seeded subsample of the dev set ('n of N'): "
                     + ", ".join(subsampled))
    if any(t.get("collapsed") for r in runs for t in r.tasks.values()):
        notes.append(f"{COLLAPSED_MARK} collapsed: the model predicts one class for ≥ 99% of "
                     "the dev set")
    return notes


def task_scores_section(runs: list[RunView], figures: bool) -> Section:
    s = Section("tasks", "Per-task scores")
    own_section = {n for n, b in BENCHMARKS.items() if b.categories}  # AX: the diagnostic's
    entries = [e for e in entries_in(runs) if e not in own_section]
    if not entries:
        s.blocks.append(Note("no task scores in these runs"))
        return s
    scores = [{e: {"score": t.get("score"), "ci": (t.get("ci") or {}).get("score"),
                   "collapsed": t.get("collapsed")}
               for e, t in r.tasks.items() if e not in own_section} for r in runs]
    if figures:
        svg = plots.task_bars([r.name for r in runs], entries, scores)
        if svg:
            s.blocks.append(Figure("task_bars", svg, ""))
    s.blocks.append(table(["Entry", "Metric"] + [r.name for r in runs] + ["n"],
                          _metric_rows(runs, entries), ["l", "l"] + ["r"] * (len(runs) + 1),
                          title="Every metric (×100) with its 95% CI", compact=True,
                          collapsed=True))
    return s


def _metric_rows(runs: list[RunView], entries: list[str]) -> list[list[Cell]]:
    """Per-metric detail (the leaderboard shows only the combined score)."""
    rows = []
    for e in entries:
        metrics = BENCHMARKS[e].metrics if e in BENCHMARKS else ("score",)
        for m in metrics:
            row = [c(e if m == metrics[0] else ""), c(m)]
            for r in runs:
                t = r.tasks.get(e)
                if not t or t.get(m) is None:
                    row.append(c(DASH, muted=True))
                    continue
                scale = 1.0 if m == "score" else 100.0
                row.append(c(fmt_score(scale * t[m]), sub=fmt_ci((t.get("ci") or {}).get(m),
                                                                 scale)))
            n = next((r.tasks[e].get("n") for r in runs if e in r.tasks), None)
            row.append(c(fmt_int(n) if m == metrics[0] else ""))
            rows.append(row)
    return rows
