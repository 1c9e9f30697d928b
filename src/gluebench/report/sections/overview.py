"""The sections about the runs themselves: what was compared, and where it ran."""

from __future__ import annotations

from gluebench.console.format import COLLAPSED_MARK, DASH, SUBSAMPLE_MARK, fmt_int
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Section, c, table
from gluebench.report.sections.shared import method, seeds


def overview_section(runs: list[RunView]) -> Section:
    s = Section("runs", "Runs compared")
    rows = []
    for i, r in enumerate(runs):
        res = r.results
        rows.append([c(r.name, run=i, bold=True), c(_model(res)), c(method(res)),
                     c(res.get("kind") or DASH), c(res.get("split") or "dev"),
                     c(res.get("data_source") or DASH), c(seeds(res)), c(str(r.path))])
    s.blocks.append(table(["Run", "Model", "Method", "Kind", "Split", "Data", "Seeds", "Folder"],
                          rows, ["l"] * 8))
    s.p("How to read this: scores are dev-set scores ×100 (the official GLUE metrics; "
        "two-metric entries average them). Brackets give 95% bootstrap confidence intervals: "
        "two runs whose intervals overlap heavily are not reliably different. "
        f"{COLLAPSED_MARK} marks a collapsed entry (one class for ≥ 99% of predictions), "
        f"{SUBSAMPLE_MARK} a score on a subsample of the dev set. "
        "The best run per column is in bold. Where a run lacks an analysis, its section "
        "names the `gluebench` command that measures it.")
    for r in runs:
        note = (r.results.get("prompt") or {}).get("contamination")
        if note:
            s.p(f"{r.name} — training-data contamination ({note['level']}): {note['note']}")
    return s


def _model(results: dict) -> str:
    model = results.get("model")
    if isinstance(model, dict):
        distinct = list(dict.fromkeys(str(v) for v in model.values()))
        if len(distinct) == 1:
            return distinct[0]
        return "; ".join(f"{k}: {v}" for k, v in model.items())
    return DASH if model in (None, "") else str(model)


def environment_section(runs: list[RunView]) -> Section:
    s = Section("environment", "Environment & data")
    rows = []
    for i, r in enumerate(runs):
        env = r.results.get("environment") or {}
        torch = env.get("torch") or (env.get("packages") or {}).get("torch")
        timings = r.results.get("timings") or {}
        secs = timings.get("run_seconds")
        rows.append([c(r.name, run=i, bold=True), c(env.get("device") or DASH),
                     c(torch or DASH), c(env.get("python") or DASH),
                     c(fmt_int(env.get("threads")) if env.get("threads") else DASH),
                     c(f"{secs / 60:,.1f} min" if secs else DASH),
                     c(r.results.get("data_source") or DASH),
                     c(r.results.get("gluebench_version") or DASH)])
    s.blocks.append(table(["Run", "Device", "torch", "Python", "Threads", "Run time",
                           "Data source", "gluebench"], rows,
                          ["l", "l", "l", "l", "r", "r", "l", "l"]))
    for r in runs:
        a = r.robustness or {}
        if (a.get("advglue") or {}).get("file"):
            s.p(f"{r.name}: AdvGLUE from `{a['advglue']['file']}`")
    return s
