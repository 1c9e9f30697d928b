"""Terminal tables for ``tasks --suite`` and ``compare --suite`` (any suite but GLUE's
path, which keeps ``score_tables``)."""

from __future__ import annotations

from rich.table import Table

from gluebench.benchmark.suite import Suite
from gluebench.console.score_tables import interval, pct


def tasks_table(suite: Suite, rows: dict) -> Table:
    """One row per task: inputs, labels (or range), files per split, entries and metrics."""
    table = Table(title=f"{suite.title} tasks (labels in official order: id 0, 1, ...)",
                  header_style="bold")
    for col in ("Task", "Inputs", "Labels", "Files (official size; rows on disk)", "Entries"):
        table.add_column(col)
    for name, r in rows.items():
        files = "; ".join(f"{k} {f['path']} ({f['size']}"
                          + (f"; {f['on_disk']}" if "on_disk" in f else "") + ")"
                          for k, f in r["files"].items())
        entries = "; ".join(f"{e}: {' + '.join(m)}" for e, m in r["entries"].items())
        table.add_row(name, ", ".join(r["input_fields"]), _labels(r), files, entries)
    return table


def _labels(r: dict) -> str:
    if r["target"] == "score":
        return f"score {r['score_range'][0]:g}-{r['score_range'][1]:g}"
    if r["target"] == "entity":
        return "entity text"
    return ", ".join(t if t == n else f"{t}={n}"
                     for t, n in zip(r["labels"], r["label_names"], strict=True))


def comparison_table(result: dict) -> Table:
    """A - B per entry: score difference, CI, p-value and Holm-adjusted p."""
    table = Table(title=f"{result['suite']['title']} {result['split']}: A - B (x100), paired "
                        "on each entry's unit", header_style="bold")
    for col in ("Entry", "A", "B", "A - B", "95% CI", "p", "p (Holm)", "Unit (n)"):
        table.add_column(col, justify="left" if col in ("Entry", "Unit (n)") else "right")
    for name, t in result["tasks"].items():
        s = t["score"]
        table.add_row(name, pct(s["a"] / 100), pct(s["b"] / 100), pct(s["diff"] / 100),
                      interval(s["ci"], scale=1.0), f"{s['p_value']:.4f}",
                      f"{s['p_holm']:.4f}", f"{t['resample']} ({t['n_units']})")
    return table
