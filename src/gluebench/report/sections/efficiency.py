"""The efficiency section: parameters, FLOPs, latency, memory, Pareto plot, inference variants."""

from __future__ import annotations

from gluebench.console.format import (
    DASH,
    fmt_bytes,
    fmt_delta,
    fmt_flops,
    fmt_int,
    fmt_ms,
    fmt_pct,
    fmt_rate,
    fmt_score,
)
from gluebench.report import plots
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Cell, Figure, Section, c, table
from gluebench.report.sections.shared import best, not_measured


def efficiency_section(runs: list[RunView], figures: bool) -> Section:
    s = Section("efficiency", "Efficiency")
    rows = [_profile_row(i, r) for i, r in enumerate(runs)]
    for col, higher in ((6, False), (7, False), (8, True)):
        vals = [_num(row[col].text) for row in rows]
        for k in best(vals, higher):
            rows[k][col].bold = True
    s.blocks.append(table(["Run", "Profiled on", "Parameters", "Trainable", "Weights on disk",
                           "FLOPs / example", "Latency p50", "Latency p95", "Throughput",
                           "Peak memory"], rows, ["l", "l"] + ["r"] * 8))
    envs = {f"{p.get('environment', {}).get('device', '?')}"
            f" ({p.get('environment', {}).get('device_name', '?')}, "
            f"{p.get('environment', {}).get('threads', '?')} threads)"
            for p in (r.profile for r in runs) if p}
    if envs:
        s.p("Measured on " + "; ".join(sorted(envs)) + ". Latency and throughput are only "
            "comparable between runs profiled on the same hardware.")
    for r in runs:
        if r.profile is None:
            s.blocks.append(not_measured(r, "latency, FLOPs and memory", "profile"))
    if figures:
        _pareto(s, runs)
    _variants(s, runs)
    return s


def _profile_row(i: int, r: RunView) -> list[Cell]:
    p = r.profile
    if p is None:
        params = _training_params(r)
        return ([c(r.name, run=i, bold=True), c(DASH, muted=True),
                 c(fmt_int(params.get("total")) if params else DASH),
                 c(fmt_int(params.get("trainable")) if params else DASH)]
                + [c(DASH, muted=True) for _ in range(6)])
    params = p.get("parameters") or {}
    flops = p.get("flops_per_example") or {}
    lat = p.get("latency_ms") or {}
    thr = p.get("throughput") or {}
    lat_sub = f"batch {lat['batch_size']}" if lat.get("batch_size") else ""
    thr_sub = f"batch {thr['best_batch_size']}" if thr.get("best_batch_size") else ""
    flops_sub = f"{flops['tokens']:.1f} tokens" if flops.get("tokens") else ""
    return [c(r.name, run=i, bold=True), c(p.get("task") or DASH),
            c(fmt_int(params.get("total"))), c(fmt_int(params.get("trainable"))),
            c(fmt_bytes((p.get("size_on_disk_bytes") or {}).get("weights"))),
            c(fmt_flops(flops.get("counted", flops.get("formula"))), sub=flops_sub),
            c(fmt_ms(lat.get("p50")), sub=lat_sub), c(fmt_ms(lat.get("p95"))),
            c(fmt_rate(thr.get("examples_per_second")), sub=thr_sub),
            c(fmt_bytes((p.get("peak_memory_bytes") or {}).get("value")))]


def _training_params(r: RunView) -> dict:
    for t in (r.results.get("training") or {}).values():
        if isinstance(t, dict) and t.get("parameters"):
            return t["parameters"]
    return {}


def _num(text: str) -> float | None:
    try:
        return float(text.split()[0].replace(",", ""))
    except (ValueError, IndexError):
        return None


def _pareto(s: Section, runs: list[RunView]) -> None:
    head = [r.headline for r in runs]
    score_label = ("partial average (×100)" if any(h[1] for h in head) else "GLUE score")
    latency = [(r.profile or {}).get("latency_ms", {}).get("p50") for r in runs]
    params = [((r.profile or {}).get("parameters") or _training_params(r)).get("total")
              for r in runs]
    svg = plots.pareto([r.name for r in runs], [h[0] for h in head],
                       {"latency p50 (ms, log scale)": latency,
                        "parameters (log scale)": params}, score_label)
    if svg:
        s.blocks.append(Figure("pareto", svg, ""))
        s.p(f"Each point is a run ({score_label} against cost); the dashed step line is "
            "the Pareto frontier — runs on it are not beaten on both score and cost.")


def _variants(s: Section, runs: list[RunView]) -> None:
    vrows = []
    for i, r in enumerate(runs):
        variants = (r.profile or {}).get("variants") or []
        base = next((v.get("score") for v in variants if v.get("name") == "fp32"), None)
        for v in variants:
            vrows.append(_variant_row(i, r, v, base))
    if vrows:
        s.blocks.append(table(["Run", "Variant", "Score", "Δ vs fp32", "Agreement",
                               "Latency p50", "Throughput", "Size"], vrows,
                              ["l", "l"] + ["r"] * 6, title="Accuracy versus cost of "
                              "inference variants (on the profiled task)",
                              caption="Agreement: share of predictions identical to fp32"))


def _variant_row(i: int, r: RunView, v: dict, base: float | None) -> list[Cell]:
    if v.get("skipped"):
        return ([c(r.name, run=i), c(v.get("name", "?")),
                 c(f"skipped: {v['skipped']}", muted=True)]
                + [c("") for _ in range(5)])
    diff = None if base is None or v.get("score") is None else v["score"] - base
    return [c(r.name, run=i), c(v.get("name", "?")),
            c(fmt_score(v.get("score")), sub=v.get("metric") or ""),
            c(fmt_delta(diff) if v.get("name") != "fp32" else DASH),
            c(fmt_pct(v.get("agreement"))), c(fmt_ms(v.get("latency_ms_p50"))),
            c(fmt_rate(v.get("examples_per_second"))),
            c(fmt_bytes(v.get("size_bytes")))]
