"""Figures of the score sections: per-task bars, the AX heatmap, the seed spread."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from gluebench.report.plots.style import (
    DIVERGING,
    NOT_SIGNIFICANT,
    WIDE,
    colour,
    label,
    new_figure,
    run_legend,
    styled,
    text_colour,
    to_svg,
)


@styled
def task_bars(names: list[str], tasks: list[str], scores: list[dict]) -> str | None:
    """Grouped bars: entry on x, one bar per run, 95% CI whiskers; hatched if collapsed.

    ``scores[i][task] = {"score", "ci" (lo, hi) or None, "collapsed"}``.
    """
    if not tasks or not any(scores):
        return None
    fig = new_figure(WIDE, 3.9)
    ax = fig.add_subplot()
    k = len(names)
    width = 0.8 / k
    x = np.arange(len(tasks))
    low = 0.0
    for i, per_task in enumerate(scores):
        for j, task in enumerate(tasks):
            cell = per_task.get(task)
            if not cell or cell.get("score") is None:
                continue
            pos = x[j] - 0.4 + width * (i + 0.5)
            s = cell["score"]
            ax.bar(pos, s, width * 0.92, color=colour(i),
                   hatch="///" if cell.get("collapsed") else None,
                   edgecolor="white" if cell.get("collapsed") else colour(i), linewidth=0.6,
                   alpha=0.55 if cell.get("collapsed") else 1.0)
            ci = cell.get("ci")
            top = s
            if ci:
                ax.errorbar(pos, s, yerr=[[max(0.0, s - ci[0])], [max(0.0, ci[1] - s)]],
                            fmt="none", ecolor="#111827", elinewidth=1, capsize=2)
                low = min(low, ci[0])
                top = max(s, ci[1])
            if cell.get("collapsed"):  # visible even when the bar has no height
                ax.text(pos, top + 1.5, "†", ha="center", va="bottom", fontsize=10,
                        color=colour(i), fontweight="bold")
            low = min(low, s)
    ax.set_xticks(x, [label(t) for t in tasks])
    ax.set_ylim(low - 5 if low < 0 else 0, 100)
    ax.set_xlim(-0.6, len(tasks) - 0.4)
    ax.axhline(0, color="#6b7280", linewidth=0.8)
    ax.set_ylabel("dev score (×100)")
    ax.grid(axis="x", visible=False)
    extra = []
    if any(c.get("collapsed") for s in scores for c in s.values()):
        extra.append(Patch(facecolor="#9ca3af", hatch="///", edgecolor="white",
                           label="† collapsed (one class predicted)"))
    run_legend(fig, names, list(range(k)), extra)
    return to_svg(fig, "Per-task dev scores with 95% confidence intervals, one bar per run")


@styled
def ax_heatmap(names: list[str], rows: list[tuple[str, str, int | None]],
               values: list[list[float | None]], scale_label: str = "R3 (×100)") -> str | None:
    """R3 (×100) per AX category (rows) and run (columns), diverging around 0.

    ``rows`` are ``(name, level, n)`` with level "all", "coarse" or "fine"; ``values[r][c]``.
    """
    if not rows:
        return None
    data = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
    finite = data[np.isfinite(data)]
    lim = max(10.0, math.ceil(np.abs(finite).max() / 10) * 10) if finite.size else 100.0
    fig = new_figure(min(WIDE, 3.6 + 1.25 * len(names)), 0.8 + 0.26 * len(rows))
    ax = fig.add_subplot()
    cmap = matplotlib.colormaps[DIVERGING].with_extremes(bad=NOT_SIGNIFICANT)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, norm=norm, aspect="auto")
    for r in range(data.shape[0]):
        for c in range(data.shape[1]):
            v = data[r, c]
            text = "–" if not np.isfinite(v) else f"{v:.1f}"
            ax.text(c, r, text, ha="center", va="center", fontsize=8.5,
                    color="#6b7280" if not np.isfinite(v) else text_colour(cmap(norm(v))))
    ax.set_xticks(range(len(names)), [label(n, 18) for n in names])
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0)
    ylabels = []
    for name, level, n in rows:
        suffix = f"  (n={n:,})" if n else ""
        ylabels.append(("      " if level == "fine" else "") + label(name, 34) + suffix)
    ax.set_yticks(range(len(rows)), ylabels)
    for tick, (_, level, _) in zip(ax.get_yticklabels(), rows, strict=True):
        if level != "fine":
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for r, (_, level, _) in enumerate(rows):
        if level != "fine" and r:
            ax.axhline(r - 0.5, color="white", linewidth=2.5)
    bar = fig.colorbar(image, ax=ax, shrink=min(1.0, 12 / max(len(rows), 1)), pad=0.02)
    bar.set_label(scale_label)  # a suite's diagnostic names its own metric (AX-b: mcc)
    return to_svg(fig, "AX diagnostic R3 by category and run")


@styled
def seed_spread(names: list[str], tasks: list[str],
                values: list[dict[str, list[float]]]) -> str | None:
    """Per-seed scores as dots, mean as a bar and ± sd whiskers, per task and run."""
    if not tasks:
        return None
    k = len(names)
    fig = new_figure(WIDE, 3.6)
    ax = fig.add_subplot()
    width = 0.8 / k
    for i, per_task in enumerate(values):
        for j, task in enumerate(tasks):
            vs = per_task.get(task) or []
            if not vs:
                continue
            centre = j - 0.4 + width * (i + 0.5)
            offsets = np.linspace(-width * 0.25, width * 0.25, len(vs)) if len(vs) > 1 else [0]
            ax.scatter(centre + np.asarray(offsets), vs, s=22, color=colour(i), alpha=0.85,
                       edgecolor="white", linewidth=0.5, zorder=3)
            mean = float(np.mean(vs))
            ax.plot([centre - width * 0.38, centre + width * 0.38], [mean, mean],
                    color=colour(i), linewidth=2.2, zorder=4)
            if len(vs) > 1:
                sd = float(np.std(vs, ddof=1))
                ax.errorbar(centre, mean, yerr=sd, fmt="none", ecolor=colour(i),
                            elinewidth=1, capsize=3, zorder=2)
    ax.set_xticks(range(len(tasks)), [label(t) for t in tasks])
    ax.set_xlim(-0.6, len(tasks) - 0.4)
    ax.set_ylabel("dev score (×100)")
    ax.grid(axis="x", visible=False)
    extra = [Line2D([], [], color="#374151", linewidth=2.2, label="mean ± sd")]
    run_legend(fig, names, list(range(k)), extra)
    return to_svg(fig, "Score of every seed per task and run")
