"""Figures of a study: score against the study's axis with CIs, and score against latency."""

from __future__ import annotations

from gluebench.report.plots.efficiency import pareto
from gluebench.report.plots.style import WIDE, colour, label, new_figure, styled, to_svg


@styled
def score_against(x_label: str, tasks: list[str], rows: list[dict], *, log_x: bool = False,
                  reference: dict | None = None) -> str | None:
    """Per task: each variant's dev score, mean over seeds (95% CI bars), against its x.

    Controls are drawn as a dashed line at their score; ``reference``: extra points per
    task, ``{task: (x, score)}`` (a teacher), drawn as a star.
    """
    shown = [r for r in rows if r["interval"] and r["x"] is not None]
    if not shown:
        return None
    groups = list(dict.fromkeys(r["group"] for r in shown))
    fig = new_figure(WIDE, 3.2)
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    for ax, task in zip(axes, tasks, strict=True):
        mine = [r for r in shown if r["task"] == task]
        for g, group in enumerate(groups):
            points = sorted((r["x"], r["interval"]["mean"], r["interval"]["ci"]) for r in mine
                            if r["group"] == group)
            if not points:
                continue
            xs, ys, cis = zip(*points, strict=True)
            errors = [[y - ci[0] for y, ci in zip(ys, cis, strict=True)],
                      [ci[1] - y for y, ci in zip(ys, cis, strict=True)]]
            ax.errorbar(xs, ys, yerr=errors, color=colour(g), marker="o", capsize=3,
                        linewidth=1.6, label=label(group), zorder=3)
            controls = [r for r in mine if r["group"] == group and r["role"] == "control"]
            for r in controls:
                ax.axhline(r["interval"]["mean"], color=colour(g), linestyle="--",
                           linewidth=0.9, alpha=0.6)
        if reference and task in reference:
            x, y = reference[task]
            ax.scatter([x], [y], marker="*", s=140, color="#111827", zorder=4, label="teacher")
        if log_x:
            ax.set_xscale("log")
        ax.set_title(label(task))
        ax.set_xlabel(label(x_label, 40))
    axes[0].set_ylabel("dev score, mean over seeds (×100)")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside upper center", ncol=min(len(handles), 6))
    return to_svg(fig, f"Dev score against {x_label}, with seed-aware 95% intervals")


def pareto_variants(task: str, rows: list[dict], extra: list[dict] = ()) -> str | None:
    """Score against batch-1 latency for every profiled variant and its int8 copy."""
    names, scores, latency = [], [], []
    for r in [*rows, *extra]:
        eff = r.get("efficiency")
        if not eff:
            continue
        names.append(r["name"])
        scores.append(eff["score"])
        latency.append(eff["latency_ms"])
        if eff.get("int8"):
            names.append(f"{r['name']} int8")
            scores.append(eff["int8"]["score"])
            latency.append(eff["int8"]["latency_ms"])
    if not names:
        return None
    return pareto(names, scores, {f"{task}: latency p50 (ms, batch 1, CPU)": latency},
                  "dev score (×100)")


BOUND_MARKERS = {"at least": "^", "up to": "v", "about": "D"}


@styled
def retained_against(x_label: str, tasks: list[str], points: dict, claims: list[tuple]
                     ) -> str | None:
    """Per task: each variant's retained share of the reference's score (95% CI bars)
    against its cost, beside the papers' claims in the same units.

    ``points``: ``{task: [(group, x, y, lo, hi)]}`` in percent (lo/hi None: no CI);
    ``claims``: ``(label, x or None, y, bound)`` in percent, drawn as a marker (▲ at least,
    ▼ up to, ◆ about) or, without a cost, as a dotted line.
    """
    if not any(points.get(t) for t in tasks):
        return None
    fig = new_figure(WIDE, 3.2)
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    groups = list(dict.fromkeys(p[0] for t in tasks for p in points.get(t, [])))
    for ax, task in zip(axes, tasks, strict=True):
        for group, x, y, lo, hi in points.get(task, []):
            bars = None if lo is None else [[y - lo], [hi - y]]
            ax.errorbar([x], [y], yerr=bars, color=colour(groups.index(group)), marker="o",
                        capsize=3, linestyle="none", label=label(group), zorder=3)
        ax.axhline(100, color="#6b7280", linewidth=0.8, linestyle="--")
        for i, (name, x, y, bound) in enumerate(claims):
            style = dict(color=colour(len(groups) + i), label=label(name, 40), zorder=4)
            if x is None:
                ax.axhline(y, linestyle=":", linewidth=1.2, **style)
            else:
                ax.scatter([x], [y], marker=BOUND_MARKERS[bound], s=60, **style)
        ax.set_xlim(0, 105)                     # every cost here is a share kept, in %
        ax.set_title(label(task))
        ax.set_xlabel(label(x_label, 40))
    axes[0].set_ylabel("score kept (% of the reference's)")
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    fig.legend(unique.values(), unique.keys(), loc="outside upper center",
               ncol=min(len(unique), 4))
    return to_svg(fig, f"Score kept against {x_label}, beside the papers' claims")
