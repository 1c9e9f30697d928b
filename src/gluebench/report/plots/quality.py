"""Figures of the calibration & errors section: reliability diagrams, confusion matrices."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.lines import Line2D

from gluebench.report.plots.style import (
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
def reliability(names: list[str], tasks: list[str], bins: list[dict[str, list[dict]]],
                counts: dict[str, int]) -> str | None:
    """Reliability diagrams: accuracy against confidence per bin, one panel per task.

    Marker area follows the bin's example count; the dashed diagonal is perfect calibration.
    """
    if not tasks:
        return None
    ncols = min(4, len(tasks))
    nrows = math.ceil(len(tasks) / ncols)
    fig = new_figure(WIDE if ncols > 2 else 2.9 * ncols + 0.6, 2.75 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    biggest = max((b.get("count") or 0 for per in bins for bl in per.values() for b in bl),
                  default=1) or 1
    for index, task in enumerate(tasks):
        ax = axes[index // ncols][index % ncols]
        used = [b for per in bins for b in per.get(task, []) if b.get("count")]
        lows = [min(b.get("lower") or 0, b.get("accuracy") or 0) for b in used]
        lo = math.floor(min(lows, default=0) * 10) / 10
        ax.plot([lo, 1], [lo, 1], linestyle="--", color="#9ca3af", linewidth=1)
        for i, per_task in enumerate(bins):
            bl = [b for b in per_task.get(task, []) if b.get("count")]
            if not bl:
                continue
            conf = [b["confidence"] for b in bl]
            acc = [b["accuracy"] for b in bl]
            ax.plot(conf, acc, color=colour(i), linewidth=1.5)
            ax.scatter(conf, acc, s=[12 + 110 * b["count"] / biggest for b in bl],
                       color=colour(i), edgecolor="white", linewidth=0.6, zorder=3)
        ax.set_xlim(lo, 1)
        ax.set_ylim(lo - 0.02, 1.02)
        ax.set_aspect("equal", adjustable="box")
        n = counts.get(task)
        ax.set_title(label(task) + (f" (n={n:,})" if n else ""), fontsize=10)
        if index % ncols == 0:
            ax.set_ylabel("accuracy")
        if index // ncols == nrows - 1 or index + ncols >= len(tasks):
            ax.set_xlabel("confidence")
    for index in range(len(tasks), nrows * ncols):
        axes[index // ncols][index % ncols].set_visible(False)
    present = [i for i, per in enumerate(bins) if per]
    extra = [Line2D([], [], linestyle="--", color="#9ca3af", label="perfect calibration")]
    run_legend(fig, [names[i] for i in present], present, extra)
    return to_svg(fig, "Reliability diagrams per task")


@styled
def confusion(task: str, labels: list[str], names: list[str], indices: list[int],
              matrices: list[list[list[int]]]) -> str | None:
    """Confusion matrices for one task, one panel per run: counts, shaded by row share."""
    if not matrices:
        return None
    k = len(labels)
    size = 1.1 + 0.62 * k
    fig = new_figure(min(WIDE, size * len(matrices) + 0.4), size + 0.55)
    axes = fig.subplots(1, len(matrices), squeeze=False)[0]
    cmap = matplotlib.colormaps["Blues"]
    short = [label(lab, 14) for lab in labels]
    for ax, name, index, m in zip(axes, names, indices, matrices, strict=True):
        arr = np.array(m, dtype=float)
        share = arr / np.maximum(arr.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap=cmap, vmin=0, vmax=1)
        for r in range(arr.shape[0]):
            for c in range(arr.shape[1]):
                ax.text(c, r, f"{int(arr[r, c]):,}", ha="center", va="center", fontsize=9,
                        color=text_colour(cmap(share[r, c])))
        ax.set_xticks(range(k), short, rotation=25 if k > 2 or max(map(len, short)) > 8 else 0,
                      ha="right" if k > 2 or max(map(len, short)) > 8 else "center",
                      rotation_mode="anchor", fontsize=8.5)
        ax.set_yticks(range(k), short if ax is axes[0] else [], fontsize=8.5)
        ax.set_xlabel("predicted", fontsize=9)
        if ax is axes[0]:
            ax.set_ylabel("gold", fontsize=9)
        ax.grid(False)
        ax.tick_params(length=0)
        ax.set_title(label(name, 26), color=colour(index), fontsize=9.5)
    fig.suptitle(label(task), fontweight="bold", fontsize=11)
    return to_svg(fig, f"Confusion matrices for {task}")
