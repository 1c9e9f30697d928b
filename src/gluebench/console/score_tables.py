"""Leaderboard-style tables for score, compare and the diagnostic analysis.

Values are stored raw in the results; they are multiplied by 100 and rounded
only here, when printed. Each table is a ``rich`` Table for the terminal;
``to_markdown`` renders the same table for reports and READMEs.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from gluebench.benchmark.tasks import BENCHMARKS

METRIC_LABELS = {"mcc": "MCC", "accuracy": "Acc", "f1": "F1", "pearson": "Pearson",
                 "spearman": "Spearman", "r3": "R3"}


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def interval(ci: list[float] | None, scale: float = 100.0) -> str:
    return "" if not ci else f"[{scale * ci[0]:.1f}, {scale * ci[1]:.1f}]"


def entry_cell(result: dict | None, name: str) -> str:
    """One leaderboard cell: '53.0', or 'F1/Acc' as '88.1/83.6' for two-metric tasks."""
    if result is None:
        return "-"
    return "/".join(pct(result[m]) for m in BENCHMARKS[name].metrics)


def headline(results: dict) -> str:
    """The GLUE score, or the partial average marked with an asterisk."""
    if results.get("glue_score") is not None:
        return f"{results['glue_score']:.1f}"
    if results.get("partial_average") is not None:
        return f"{results['partial_average']:.1f}*"
    return "-"


def leaderboard(rows: list[tuple[str, dict]], title: str | None = None) -> Table:
    """One row per run, one column per leaderboard entry, as on gluebenchmark.com."""
    present = [n for n in BENCHMARKS if any(n in r["tasks"] for _, r in rows)]
    table = Table(title=title, header_style="bold")
    table.add_column("Model")
    table.add_column("Score", justify="right")
    for name in present:
        metrics = "/".join(METRIC_LABELS[m] for m in BENCHMARKS[name].metrics)
        table.add_column(f"{name}\n{metrics}", justify="right")
    for label, results in rows:
        table.add_row(label, headline(results),
                      *(entry_cell(results["tasks"].get(n), n) for n in present))
    if any(r.get("glue_score") is None for _, r in rows):
        table.caption = ("* partial average over the tasks present, not the GLUE score "
                         "(missing: " + ", ".join(rows[0][1].get("tasks_missing", [])) + ")")
    return table


def details(results: dict) -> Table:
    """Every metric of every entry with its bootstrap CI and example count."""
    table = Table(title=f"{results['split']} scores (x100) with "
                  f"{int(100 * results['bootstrap']['confidence'])}% bootstrap CIs",
                  header_style="bold")
    for col, justify in [("Task", "left"), ("Metric", "left"), ("Value", "right"),
                         ("95% CI", "right"), ("n", "right"), ("Score", "right")]:
        table.add_column(col, justify=justify)
    for name, r in results["tasks"].items():
        sub = r.get("subsample")
        count = f"{r['n']} of {sub['of']}" if sub else str(r["n"])
        flag = " (collapsed)" if r.get("collapsed") else ""
        for i, m in enumerate(BENCHMARKS[name].metrics):
            table.add_row(name if i == 0 else "", METRIC_LABELS[m], pct(r[m]),
                          interval(r["ci"].get(m)), count if i == 0 else "",
                          f"{r['score']:.1f}{flag}" if i == 0 else "")
    if any(r.get("subsample") for r in results["tasks"].values()):
        table.caption = "'n of N': scored on a seeded subsample of the dev set, not all of it"
    return table


def seed_spread(results: dict) -> Table | None:
    """Score per seed, mean +- sd, median and range; None for single-seed runs."""
    rows = {n: r["seeds"] for n, r in results["tasks"].items()
            if r.get("seeds", {}).get("n", 1) > 1}
    if not rows:
        return None
    table = Table(title="Seed variance (score x100)", header_style="bold")
    for col in ("Task", "Mean +- sd", "Median", "Min-max", "Per seed", "Collapsed"):
        table.add_column(col, justify="left" if col in ("Task", "Per seed") else "right")
    for name, s in rows.items():
        per_seed = ", ".join(f"{k}: {v:.1f}" for k, v in s["values"].items())
        table.add_row(name, f"{s['mean']:.1f} +- {s['sd']:.1f}", f"{s['median']:.1f}",
                      f"{s['min']:.1f}-{s['max']:.1f}", per_seed,
                      ", ".join(s["collapsed"]) or "-")
    table.caption = ("predictions and the leaderboard row come from the median seed; "
                     "collapsed = one class for >= 99% of dev predictions")
    return table


def ax_categories(result: dict) -> Table:
    """R3 per diagnostic category: coarse categories in bold, their fine tags below."""
    table = Table(title="AX diagnostic: R3 (x100) by category", header_style="bold")
    for col, justify in [("Category", "left"), ("n", "right"), ("R3", "right"),
                         ("95% CI", "right")]:
        table.add_column(col, justify=justify)
    cats = result.get("categories", {})
    for coarse in (n for n, c in cats.items() if c["level"] == "coarse"):
        c = cats[coarse]
        table.add_row(f"[bold]{coarse}[/bold]", str(c["n"]), pct(c["r3"]), interval(c.get("ci")))
        for name, f in cats.items():
            if f.get("parent") == coarse:
                table.add_row(f"  {name}", str(f["n"]), pct(f["r3"]), interval(f.get("ci")))
    return table


def comparison(result: dict) -> Table:
    """Per-entry score difference A - B with its CI and p-value (Holm-adjusted with seeds)."""
    seeds = "seeds" in result
    table = Table(title=f"{result['a']} minus {result['b']} ({result['split']}, score x100"
                        + (", mean over seeds)" if seeds else ")"), header_style="bold")
    columns = ["Task"] + (["Seeds A/B"] if seeds else []) + ["A", "B", "A - B", "95% CI",
                                                            "p-value"]
    for col in columns + (["p (Holm)"] if seeds else []):
        table.add_column(col, justify="left" if col == "Task" else "right")
    for name, r in result["tasks"].items():
        s = r["score"]
        counts = [f"{len(r['seeds']['a'])}/{len(r['seeds']['b'])}"] if seeds else []
        holm = [_p(s["p_holm"])] if seeds else []
        table.add_row(name, *counts, f"{s['a']:.1f}", f"{s['b']:.1f}", f"{s['diff']:+.1f}",
                      interval(s["ci"], 1.0), _p(s["p_value"]), *holm)
    if seeds:
        table.caption = ("Seed-aware t test (examples resampled with the same indices for every "
                         "seed, plus the seed variance beyond them); p (Holm): Holm-adjusted "
                         "across these entries")
    return table


def _p(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "<0.001"


def to_markdown(table: Table) -> str:
    """The same table as GitHub Markdown (title as a bold line, caption below)."""
    def plain(cell) -> str:
        text = Text.from_markup(cell) if isinstance(cell, str) else cell
        return text.plain.replace("\n", " ").replace("|", "\\|")

    headers = [plain(c.header) for c in table.columns]
    align = ["---:" if c.justify == "right" else "---" for c in table.columns]
    cells = [[plain(cell) for cell in c.cells] for c in table.columns]
    lines = [f"**{plain(table.title)}**", ""] if table.title else []
    lines += ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in zip(*cells, strict=True)]
    if table.caption:
        lines += ["", plain(table.caption)]
    return "\n".join(lines) + "\n"


def point_text(point: dict) -> str:
    """A configuration's swept values: 'learning_rate=0.0003 epochs=2' ('-' when none)."""
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in point.items()) or "-"


# Shown where a task x method has no configuration that finished every planned seed.
NO_CHOICE = "no configuration finished all its seeds"


SELECTION_HEADS = {"dev32": "dev32"}   # a suite's model-selection split (FewGLUE)


def sweep_best(selection: dict) -> Table:
    """A sweep's best configuration per task x method: dev mean +- sd over seeds."""
    dev_selected = selection["select_on"] == "dev"
    table = Table(title=f"Best configuration per task x method ({selection['label']})")
    models = {b["model"] for b in selection["best"]}
    heads = (["model"] if len(models) > 1 else []) + [
        "task", "method", "configuration", "configs",
        "dev score (dev-selected)" if dev_selected else
        SELECTION_HEADS.get(selection["select_on"], "holdout"), "dev mean ± sd", "seeds",
        "collapsed"]
    for h in heads:
        table.add_column(h, justify="left" if h in ("model", "task", "method", "configuration")
                         else "right")
    for b in selection["best"]:
        c = b["best"]
        row = [str(b["model"] or "default")] if len(models) > 1 else []
        if c is None:
            table.add_row(*row, b["task"], b["method"], NO_CHOICE, str(b["n_configs"]),
                          "-", "-", "0", "-")
            continue
        table.add_row(*row, b["task"], b["method"], point_text(c["point"]), str(b["n_configs"]),
                      f"{c['selection_mean']:.1f}",
                      f"{c['dev_mean']:.1f} ± {c['dev_sd']:.1f}", str(len(c["seeds"])),
                      f"{c['collapsed']}/{len(c['seeds'])}")
    return table
