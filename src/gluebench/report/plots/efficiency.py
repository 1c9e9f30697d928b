"""Figure of the efficiency section: score against cost, with the Pareto frontier."""

from __future__ import annotations

import math

from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from gluebench.report.plots.style import (
    WIDE,
    colour,
    human,
    label,
    new_figure,
    styled,
    to_svg,
)


@styled
def pareto(names: list[str], scores: list[float | None], costs: dict[str, list[float | None]],
           score_label: str) -> str | None:
    """Score versus each cost (log x), one point per run, Pareto frontier as a step line.

    ``costs`` maps an axis label (e.g. "latency p50 (ms, batch 1)") to a value per run.
    """
    usable = {axis: values for axis, values in costs.items()
              if any(v and s is not None for v, s in zip(values, scores, strict=True))}
    if not usable:
        return None
    fig = new_figure(WIDE, 3.8)
    axes = fig.subplots(1, len(usable), squeeze=False)[0]
    for ax, (axis, values) in zip(axes, usable.items(), strict=True):
        points = [(v, s, i) for i, (v, s) in enumerate(zip(values, scores, strict=True))
                  if v and v > 0 and s is not None]
        for v, s, i in points:
            ax.scatter(v, s, s=70, color=colour(i), zorder=3, edgecolor="white", linewidth=1)
            ax.annotate(label(names[i], 22), (v, s), textcoords="offset points", xytext=(7, 5),
                        fontsize=8.5, color="#374151")
        front, best = [], -math.inf
        for v, s, _ in sorted(points, key=lambda p: (p[0], -p[1])):
            if s > best:  # not beaten by a cheaper (or equally cheap) run
                front.append((v, s))
                best = s
        if len(front) > 1:
            fx, fy = zip(*front, strict=True)
            ax.step(fx, fy, where="post", color="#6b7280", linestyle="--", linewidth=1.2,
                    zorder=2, label="Pareto frontier")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: human(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        xs = [p[0] for p in points]
        lo, hi = min(xs), max(xs)
        ax.set_xlim(lo / 2.2, hi * 2.8)
        ys = [p[1] for p in points]
        ax.set_ylim(max(0, min(ys) - 10), min(100, max(ys) + 8))
        ax.set_xlabel(axis)
        ax.set_ylabel(score_label)
        ax.grid(True, which="major")
        ax.grid(True, which="minor", color="#f3f4f6", linewidth=0.5)
    return to_svg(fig, "Score versus cost with the Pareto frontier")
