"""The GLUE diagnostic (AX) analysis: R3 per coarse and fine-grained category.

``diagnostic-full.tsv`` has one column per coarse category (Lexical Semantics,
Predicate-Argument Structure, Logic, Knowledge); a cell holds the example's
fine-grained tags of that category, ``;``-separated, or is empty. As in the GLUE
paper, a coarse category covers every example with any tag in its column, and
a fine-grained category every example carrying that tag.
"""

from __future__ import annotations

import numpy as np

from gluebench.benchmark.metrics import r3
from gluebench.benchmark.sources import Examples
from gluebench.benchmark.stats import DEFAULT_RESAMPLES, bootstrap_ci


def category_masks(examples: Examples, categories: tuple[str, ...]
                   ) -> dict[str, tuple[str | None, np.ndarray]]:
    """``name -> (parent coarse category or None, boolean mask over examples)``.

    ``categories``: the meta columns the entry names as its coarse categories (GLUE's AX:
    ``entries.AX.categories`` in glue.toml).
    """
    masks: dict[str, tuple[str | None, np.ndarray]] = {}
    n = len(examples)
    for coarse in categories:
        cells = examples.meta.get(coarse, [""] * n)
        tags = [{t.strip() for t in cell.split(";") if t.strip()} for cell in cells]
        masks[coarse] = (None, np.array([bool(t) for t in tags]))
        for tag in sorted(set().union(*tags)):
            masks[tag] = (coarse, np.array([tag in t for t in tags]))
    return masks


def ax_categories(gold: Examples, pred: np.ndarray, *, categories: tuple[str, ...],
                  n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict[str, dict]:
    """R3 with count and bootstrap CI for each coarse and fine-grained category."""
    out = {}
    for name, (parent, mask) in category_masks(gold, categories).items():
        g, p = gold.labels[mask], pred[mask]
        entry: dict = {"n": int(mask.sum()), "r3": r3(g, p) if mask.any() else None,
                       "level": "coarse" if parent is None else "fine"}
        if parent is not None:
            entry["parent"] = parent
        if mask.any():
            entry["ci"] = bootstrap_ci(("r3",), g, p, n_resamples=n_resamples, seed=seed,
                                       name=f"AX/{name}")["r3"]
        out[name] = entry
    return out
