"""Prompt sensitivity: each entry's score per template (mean over seeds) and the spread."""

from __future__ import annotations

import numpy as np


def _summary(values: list[float]) -> dict:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max()), "range": float(a.max() - a.min()),
            "n": len(a)}


def template_spread(units: list[dict]) -> dict:
    """{entry: {"templates": {name: seed summary}, "across_templates": summary}}."""
    by_entry: dict[str, dict[str, list[float]]] = {}
    for unit in units:
        for entry, scored in unit["entries"].items():
            by_entry.setdefault(entry, {}).setdefault(unit["template"], []).append(
                scored["score"])
    out = {}
    for entry, per_template in by_entry.items():
        templates = {name: _summary(v) for name, v in per_template.items()}
        out[entry] = {"templates": templates,
                      "across_templates": _summary([t["mean"] for t in templates.values()])}
    return out
