"""The calibration & errors section: reliability, confusion, label distribution, regression."""

from __future__ import annotations

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.console.format import DASH, fmt_frac, fmt_int, fmt_pct
from gluebench.report import plots
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Cell, Figure, Grid, Heading, Section, c, table
from gluebench.report.sections.shared import best, not_measured

#: Runs that have quality results, with their index among all runs.
Have = list[tuple[int, RunView]]


def quality_section(runs: list[RunView], figures: bool) -> Section:
    s = Section("quality", "Calibration & errors")
    have = [(i, r) for i, r in enumerate(runs) if r.quality and r.quality.get("entries")]
    for r in runs:
        if not (r.quality and r.quality.get("entries")):
            s.blocks.append(not_measured(r, "calibration and errors", "calibration"))
    if not have:
        return s
    tasks = _entries_in_quality(have)
    _calibration(s, runs, have, tasks, figures)
    _confusion(s, have, tasks, figures)
    _label_distribution(s, have, tasks)
    _regression(s, have, tasks)
    return s


def _entries_in_quality(have: Have) -> list[str]:
    names = {t for _, r in have for t in r.quality["entries"]}
    known = [n for n in BENCHMARKS if n in names]
    return known + sorted(names - set(known))


def _calibration(s: Section, runs: list[RunView], have: Have, tasks: list[str],
                 figures: bool) -> None:
    cal_tasks = [t for t in tasks if any(
        (r.quality["entries"].get(t) or {}).get("calibration") for _, r in have)]
    if not cal_tasks:
        return
    s.blocks.append(Heading("Calibration"))
    if figures:
        bins = [{t: ((r.quality or {}).get("entries", {}).get(t) or {}).get(
            "calibration", {}).get("bins") or [] for t in cal_tasks} if r.quality else {}
            for r in runs]
        bins = [{t: b for t, b in per.items() if b} for per in bins]
        counts = {t: next(r.quality["entries"][t].get("n") for _, r in have
                          if t in r.quality["entries"]) for t in cal_tasks}
        svg = plots.reliability([r.name for r in runs], cal_tasks, bins, counts)
        if svg:
            s.blocks.append(Figure("reliability", svg, ""))
    rows = []
    for t in cal_tasks:
        row = [c(t)]
        eces, briers = [], []
        for _, r in have:
            cal = (r.quality["entries"].get(t) or {}).get("calibration") or {}
            eces.append(cal.get("ece"))
            briers.append(cal.get("brier"))
        be, bb = best(eces, False, 3), best(briers, False, 3)
        for k in range(len(have)):
            row += [c(fmt_frac(eces[k]), bold=k in be), c(fmt_frac(briers[k]), bold=k in bb)]
        rows.append(row)
    heads = ["Task"] + [f"{h} {r.name}" for _, r in have for h in ("ECE", "Brier")]
    s.blocks.append(table(heads, rows, caption="ECE: expected calibration error (lower "
                                               "is better); Brier: mean squared error of "
                                               "the predicted probabilities"))


def _confusion(s: Section, have: Have, tasks: list[str], figures: bool) -> None:
    conf_tasks = [t for t in tasks if any(
        (r.quality["entries"].get(t) or {}).get("confusion") for _, r in have)]
    if not conf_tasks:
        return
    s.blocks.append(Heading("Confusion matrices"))
    s.p("Rows are gold labels, columns predicted labels; shading is the share of the row.")
    grid = []
    for t in conf_tasks:
        got = [(i, r, r.quality["entries"][t]) for i, r in have
               if (r.quality["entries"].get(t) or {}).get("confusion")]
        labels = got[0][2].get("labels") or [str(k) for k in range(len(got[0][2]
                                                                       ["confusion"]))]
        if figures:
            svg = plots.confusion(t, labels, [r.name for _, r, _ in got],
                                  [i for i, _, _ in got], [e["confusion"] for _, _, e in got])
            if svg:
                grid.append(Figure(f"confusion-{t}", svg, ""))
    if grid:
        s.blocks.append(Grid(grid))


def _label_distribution(s: Section, have: Have, tasks: list[str]) -> None:
    dist_rows = []
    for t in tasks:
        got = [(i, r, (r.quality["entries"].get(t) or {}).get("label_distribution"))
               for i, r in have]
        if any(d for _, _, d in got):
            dist_rows += _distribution_rows(t, [d for _, _, d in got])
    if dist_rows:
        s.blocks.append(table(["Task", "Label", "Gold"] + [f"Predicted {r.name}"
                                                           for _, r in have], dist_rows,
                              ["l", "l"] + ["r"] * (len(have) + 1), compact=True,
                              title="Label distribution: gold versus predicted"))


def _distribution_rows(t: str, dists: list[dict | None]) -> list[list[Cell]]:
    """One row per label of task ``t``: gold count, then each run's predicted count."""
    gold = next(d["gold"] for d in dists if d and d.get("gold"))
    labels = list(dict.fromkeys(list(gold) + [k for d in dists if d
                                              for k in (d.get("predicted") or {})]))
    total = sum(gold.values()) or 1
    rows = []
    for lab in labels:
        row = [c(t if lab == labels[0] else ""), c(lab),
               c(fmt_int(gold.get(lab, 0)), sub=fmt_pct(gold.get(lab, 0) / total))]
        for d in dists:
            if not d:
                row.append(c(DASH, muted=True))
                continue
            pred = (d.get("predicted") or {}).get(lab, 0)
            ptotal = sum((d.get("predicted") or {}).values()) or 1
            sub = fmt_pct(pred / ptotal)
            if d.get("gold") and d["gold"] != gold:
                sub += f" (gold {fmt_int(d['gold'].get(lab, 0))})"
            row.append(c(fmt_int(pred), sub=sub))
        rows.append(row)
    return rows


def _regression(s: Section, have: Have, tasks: list[str]) -> None:
    reg_rows = []
    for t in tasks:
        for i, r in have:
            reg = (r.quality["entries"].get(t) or {}).get("regression")
            if reg:
                reg_rows.append([c(t), c(r.name, run=i),
                                 c(fmt_int(r.quality["entries"][t].get("n"))),
                                 c(f"{reg.get('gold_mean', 0):.2f} ± {reg.get('gold_sd', 0):.2f}"),
                                 c(f"{reg.get('pred_mean', 0):.2f} ± {reg.get('pred_sd', 0):.2f}"),
                                 c(fmt_frac(reg.get("mean_absolute_error"), 2))])
    if reg_rows:
        s.blocks.append(table(["Task", "Run", "n", "Gold mean ± sd", "Predicted mean ± sd",
                               "MAE"], reg_rows, ["l", "l", "r", "r", "r", "r"],
                              title="Regression outputs",
                              caption="A predicted sd far below the gold sd means the model "
                                      "hedges towards the mean"))
