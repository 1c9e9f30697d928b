"""Terminal tables for a prompted run: score variants, template spread, contamination."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text


def _score(value: dict | None) -> str:
    return "-" if not value else f"{value['score']:.1f}"


def prompt_setup(results: dict) -> str:
    """One line: template, shots, scoring mode (what a report row must say)."""
    p = results.get("prompt") or {}
    text = f"{p.get('template')}, {p.get('shots')}-shot, {p.get('scoring')}"
    return text + (" (+calibrated)" if p.get("calibrate") else "")


def variants_table(results: dict) -> Table:
    table = Table(title=f"Prompted: {prompt_setup(results)} (dev, x100)", header_style="bold")
    for col in ("Entry", "Score", "acc_norm", "Calibrated", "Unparseable", "Seeds sd"):
        table.add_column(col, justify="left" if col == "Entry" else "right")
    for name, t in results["tasks"].items():
        bad = t.get("unparseable")
        seeds = t.get("seeds") or {}
        table.add_row(name, _score(t), _score(t.get("length_normalised")),
                      _score(t.get("calibrated")),
                      "-" if bad is None else f"{bad['n']} ({100 * bad['share']:.1f}%)",
                      f"{seeds['sd']:.1f}" if seeds.get("n", 0) > 1 else "-")
    return table


def spread_table(results: dict) -> Table | None:
    spread = (results.get("prompt") or {}).get("spread") or {}
    names = list(dict.fromkeys(n for s in spread.values() for n in s["templates"]))
    if len(names) < 2:
        return None
    table = Table(title="Prompt sensitivity: score per template (dev, x100)",
                  header_style="bold")
    for col in ("Entry", *names, "mean ± sd", "range"):
        table.add_column(col, justify="left" if col == "Entry" else "right")
    for entry, s in spread.items():
        a = s["across_templates"]
        cells = [f"{s['templates'][n]['mean']:.1f}" if n in s["templates"] else "-"
                 for n in names]
        table.add_row(entry, *cells, f"{a['mean']:.1f} ± {a['sd']:.1f}",
                      f"{a['min']:.1f}–{a['max']:.1f}")
    return table


def prompt_tables(results: dict) -> list:
    out: list = [variants_table(results)]
    spread = spread_table(results)
    if spread is not None:
        out.append(spread)
    note = (results.get("prompt") or {}).get("contamination")
    if note:
        out.append(Text(f"contamination ({note['level']}): {note['note']}"))
    return out
