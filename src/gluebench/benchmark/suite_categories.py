"""A diagnostic entry's metric per linguistic category (SuperGLUE's AX-b, a user's own).

The suite counterpart of ``diagnostic.ax_categories`` (which stays GLUE's AX path). An
entry's ``categories`` name meta columns of its file, one per *coarse* category
(AX-b: lexical-semantics, predicate-argument-structure, logic, knowledge); a cell holds
the row's *fine* tags of that category, ``;``-separated, or is empty. As in the GLUE and
SuperGLUE papers, a coarse category covers every row with any tag in its column, a fine
one every row carrying that tag. Each category is scored with the entry's first metric
(AX-b: two-class Matthews) and gets a bootstrap CI over its rows (the entry's own unit:
the diagnostic's rows are independent sentence pairs).
"""

from __future__ import annotations

import numpy as np

from gluebench.benchmark.grouped_stats import grouped_bootstrap_ci
from gluebench.benchmark.metric_registry import Items, compute
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.suite import Entry
from gluebench.benchmark.table import ExampleTable

TAG_SEPARATOR = ";"


def category_masks(entry: Entry, table: ExampleTable) -> dict[str, tuple[str | None, np.ndarray]]:
    """``name -> (parent coarse category or None, (n,) boolean mask over the table's rows)``."""
    masks: dict[str, tuple[str | None, np.ndarray]] = {}
    n = len(table)
    for coarse in entry.categories:
        cells = table.meta.get(coarse) or [""] * n
        tags = [{t.strip() for t in cell.split(TAG_SEPARATOR) if t.strip()} for cell in cells]
        masks[coarse] = (None, np.array([bool(t) for t in tags], dtype=bool))
        for tag in sorted(set().union(*tags)):
            masks[tag] = (coarse, np.array([tag in t for t in tags], dtype=bool))
    return masks


def entry_categories(entry: Entry, table: ExampleTable, pred, *,
                     n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> dict[str, dict]:
    """The entry's first metric, row count and bootstrap CI for each coarse and fine category.

    ``pred``: class ids in the table's row order. A category without a scored row has
    ``n`` 0 and no value.
    """
    metric = entry.metrics[0]
    scored = table.scored()
    pred = np.asarray(pred)
    out: dict[str, dict] = {}
    for name, (parent, mask) in category_masks(entry, table).items():
        keep = mask & scored
        result: dict = {"n": int(keep.sum()), metric: None,
                        "level": "coarse" if parent is None else "fine"}
        if parent is not None:
            result["parent"] = parent
        if keep.any():
            items = Items(table.labels[keep], pred[keep], table.task.n_classes)
            result[metric] = compute((metric,), items)[metric]
            result["ci"] = grouped_bootstrap_ci((metric,), items, n_resamples=n_resamples,
                                                seed=seed, name=f"{entry.name}/{name}")[metric]
        out[name] = result
    return out
