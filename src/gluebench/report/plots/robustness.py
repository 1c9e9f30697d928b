"""Figures of the robustness section: AdvGLUE dumbbells and the perturbation heatmap."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

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
def advglue_dumbbell(names: list[str], entries: list[dict]) -> str | None:
    """Clean (hollow) versus adversarial (filled) score per AdvGLUE task and run."""
    tasks = list(dict.fromkeys(t for e in entries for t in e))
    if not tasks:
        return None
    k = sum(1 for e in entries if e)
    fig = new_figure(WIDE, 1.0 + 0.32 * len(tasks) * max(k, 1.5))
    ax = fig.add_subplot()
    step = 0.7 / max(k, 1)
    slot = {i: n for n, i in enumerate(i for i, e in enumerate(entries) if e)}
    for i, per_task in enumerate(entries):
        for j, task in enumerate(tasks):
            e = per_task.get(task)
            if not e or e.get("score") is None:
                continue
            y = j - 0.35 + step * (slot[i] + 0.5)
            clean, adv = e.get("clean_score"), e["score"]
            if clean is not None:
                ax.plot([clean, adv], [y, y], color=colour(i), linewidth=2, alpha=0.6)
                ax.plot(clean, y, "o", markerfacecolor="white", markeredgecolor=colour(i),
                        markersize=7, markeredgewidth=1.8)
            ax.plot(adv, y, "o", color=colour(i), markersize=7)
    ax.set_yticks(range(len(tasks)), [label(t) for t in tasks])
    ax.set_ylim(len(tasks) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("score (×100)")
    ax.grid(axis="y", visible=False)
    extra = [Line2D([], [], marker="o", linestyle="", markerfacecolor="white",
                    markeredgecolor="#374151", label="clean dev"),
             Line2D([], [], marker="o", linestyle="", color="#374151",
                    label="AdvGLUE (adversarial)")]
    present = [i for i, e in enumerate(entries) if e]
    run_legend(fig, [names[i] for i in present], present, extra, ncol=min(len(present) + 2, 6))
    return to_svg(fig, "AdvGLUE: clean versus adversarial score per task and run")


@styled
def perturbation_heatmap(panels: list[tuple[str, int, list[str], list[list[dict | None]]]],
                         transformations: list[tuple[str, bool]]) -> str | None:
    """Score change (points) per task (rows) and transformation (columns), one panel per run.

    ``panels`` are ``(run name, run index, tasks, cells)``; a cell is None (not run),
    ``{"skipped": reason}`` or ``{"delta", "ci"}``. Cells whose CI spans 0 are greyed and
    hatched (not significant). ``transformations`` are ``(name, label_preserving)``.
    """
    if not panels or not transformations:
        return None
    deltas = [c["delta"] for _, _, _, cells in panels for row in cells for c in row
              if c and c.get("delta") is not None]
    lim = max(5.0, math.ceil(max((abs(d) for d in deltas), default=5) / 5) * 5)
    cmap = matplotlib.colormaps[DIVERGING]
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
    heights = [max(len(tasks), 1) for _, _, tasks, _ in panels]
    fig = new_figure(min(WIDE, 2.6 + 0.95 * len(transformations)),
                     1.6 + 0.42 * sum(heights) + 0.5 * len(panels))
    axes = fig.subplots(len(panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    image = None
    for ax, panel in zip(axes, panels, strict=True):
        image = _heatmap_panel(ax, panel, transformations, cmap, norm, last=ax is axes[-1])
    bar = fig.colorbar(image, ax=list(axes), shrink=0.9 if len(panels) > 1 else 1.0,
                       aspect=max(8, 8 * len(panels)))
    bar.set_label("Δ score (points)")
    fig.legend(handles=[Patch(facecolor=NOT_SIGNIFICANT, hatch="////", edgecolor="#d1d5db",
                              label="not significant (95% CI spans 0)")],
               loc="outside lower left")
    return to_svg(fig, "Score change under each input transformation, per task and run")



def _heatmap_panel(ax, panel: tuple[str, int, list[str], list[list[dict | None]]],
                   transformations: list[tuple[str, bool]], cmap, norm, *, last: bool):
    """Draw one run's panel of :func:`perturbation_heatmap`; returns its image (for the bar)."""
    run, index, tasks, cells = panel
    data = np.full((len(tasks), len(transformations)), np.nan)
    for r, row in enumerate(cells):
        for c, cell in enumerate(row):
            if cell and cell.get("delta") is not None and significant(cell):
                data[r, c] = cell["delta"]
    image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, norm=norm, aspect="auto")
    _annotate_cells(ax, cells, cmap, norm)
    ax.set_yticks(range(len(tasks)), [label(t) for t in tasks])
    ax.set_xticks(range(len(transformations)),
                  [label(t, 22) + ("" if lp else "\n(probe)") for t, lp in transformations]
                  if last else [])
    ax.tick_params(length=0)
    for tick in ax.get_xticklabels():
        tick.set_rotation(30)
        tick.set_ha("right")
        tick.set_rotation_mode("anchor")
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    n_preserving = sum(1 for _, lp in transformations if lp)
    if 0 < n_preserving < len(transformations):
        ax.axvline(n_preserving - 0.5, color="#111827", linewidth=1.5)
    ax.set_title(label(run, 60), loc="left", color=colour(index), fontsize=10.5)
    ax.set_xlim(-0.5, len(transformations) - 0.5)
    ax.set_ylim(len(tasks) - 0.5, -0.5)
    return image


def _annotate_cells(ax, cells: list[list[dict | None]], cmap, norm) -> None:
    """Write each cell's Δ; grey and hatch the non-significant ones, mark the skipped ones."""
    for r, row in enumerate(cells):
        for c, cell in enumerate(row):
            if cell is None:
                continue
            if cell.get("delta") is None:
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="white",
                                       edgecolor="#e5e7eb"))
                ax.text(c, r, "skipped", ha="center", va="center", fontsize=7.5,
                        color="#9ca3af", style="italic")
                continue
            d = cell["delta"]
            if not significant(cell):
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=NOT_SIGNIFICANT,
                                       hatch="////", edgecolor="#d1d5db", linewidth=0))
                ax.text(c, r, f"{d:+.1f}", ha="center", va="center", fontsize=8.5,
                        color="#4b5563")
            else:
                ax.text(c, r, f"{d:+.1f}", ha="center", va="center", fontsize=8.5,
                        fontweight="bold", color=text_colour(cmap(norm(d))))


def significant(cell: dict) -> bool:
    """Whether a perturbation result's 95% CI excludes 0 (True when there is no CI)."""
    ci = cell.get("ci")
    if not ci:
        return True
    return not (ci[0] <= 0 <= ci[1])
