"""Figures of a sweep: score against each swept value, and the spread over seeds."""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from gluebench.report.plots.style import WIDE, colour, label, new_figure, run_legend, to_svg


def _numeric(values: list) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def sensitivity(field: str, tasks: list[str], methods: list[str], configs: list[dict],
                score: str = "dev") -> str | None:
    """One panel per task: each configuration's mean ``score`` (over seeds) against ``field``.

    A dot per configuration (other swept fields vary between dots at one value), a line
    through the best configuration at each value, one colour per method; a log axis when
    the values span a factor of 10 or more.
    """
    key = "dev" if score == "dev" else "selection"
    shown = [c for c in configs if c[key] and field in c["point"]]
    if not shown or not tasks:
        return None
    values = sorted({c["point"][field] for c in shown}, key=str)
    numeric = _numeric(values)
    if numeric:
        values = sorted(values)
    fig = new_figure(WIDE, 3.0)
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=True):
        for m, method in enumerate(methods):
            mine = [c for c in shown if c["task"] == task and c["method"] == method]
            if not mine:
                continue
            xs = [c["point"][field] if numeric else values.index(c["point"][field])
                  for c in mine]
            ys = [float(np.mean(c[key])) for c in mine]
            ax.scatter(xs, ys, s=18, color=colour(m), alpha=0.6, zorder=3)
            line = {}
            for x, y in zip(xs, ys, strict=True):
                line[x] = max(y, line.get(x, -np.inf))
            order = sorted(line)
            ax.plot(order, [line[x] for x in order], color=colour(m), linewidth=1.8, zorder=4)
        if numeric and min(values) > 0 and max(values) / min(values) >= 10:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(values)), [label(str(v), 12) for v in values])
        ax.set_title(label(task))
        ax.set_xlabel(label(field, 40))
    axes[0].set_ylabel(f"{'dev' if key == 'dev' else 'selection'} score (×100)")
    run_legend(fig, methods, list(range(len(methods))))
    return to_svg(fig, f"Mean score over seeds against {field}, per task and method")


def seed_variance(tasks: list[str], methods: list[str], configs: list[dict]) -> str | None:
    """Per task: every configuration's per-seed dev scores (dots) and mean, by method."""
    shown = [c for c in configs if len(c["dev"]) > 0]
    if not shown or not tasks:
        return None
    fig = new_figure(WIDE, 3.2)
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=True):
        mine = [c for c in shown if c["task"] == task]
        mine.sort(key=lambda c: methods.index(c["method"]))
        for x, c in enumerate(mine):
            m = methods.index(c["method"])
            vs = c["dev"]
            offsets = np.linspace(-0.18, 0.18, len(vs)) if len(vs) > 1 else [0.0]
            ax.scatter(x + np.asarray(offsets), vs, s=16, color=colour(m), alpha=0.85,
                       edgecolor="white", linewidth=0.4, zorder=3)
            ax.plot([x - 0.3, x + 0.3], [np.mean(vs)] * 2, color=colour(m), linewidth=2,
                    zorder=4)
        ax.set_xticks(range(len(mine)), [str(i + 1) for i in range(len(mine))])
        ax.set_title(label(task))
        ax.set_xlabel("configuration (numbered as in the table)")
        ax.grid(axis="x", visible=False)
    axes[0].set_ylabel("dev score (×100)")
    extra = [Line2D([], [], color="#374151", linewidth=2, label="mean over seeds")]
    run_legend(fig, methods, list(range(len(methods))), extra)
    return to_svg(fig, "Dev score of every seed of every configuration, per task")
