"""The statistics section: how small a difference each dev set can resolve, and seed spread."""

from __future__ import annotations

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.console.format import DASH, fmt_int, fmt_score
from gluebench.report import plots
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Cell, Figure, Heading, Note, Section, c, table
from gluebench.report.sections.shared import entries_in, not_measured, seeds


def statistics_section(runs: list[RunView], figures: bool) -> Section:
    s = Section("statistics", "Statistics")
    power_runs = [r for r in runs if (r.quality or {}).get("power", {}).get("entries")]
    if power_runs:
        _resolution(s, runs, power_runs)
    else:
        for r in runs:
            s.blocks.append(not_measured(r, "statistical power", "power"))
    _seed_spread(s, runs, figures)
    return s


def _resolution(s: Section, runs: list[RunView], power_runs: list[RunView]) -> None:
    s.blocks.append(Heading("Resolution of each dev set"))
    pw = power_runs[0].quality["power"]
    merged: dict[str, dict] = {}
    for r in power_runs:
        for t, e in r.quality["power"]["entries"].items():
            merged.setdefault(t, e)
    order = [t for t in BENCHMARKS if t in merged] + sorted(set(merged) - set(BENCHMARKS))
    rows, sentences = [], []
    for t in order:
        e = merged[t]
        rows.append(_resolution_row(t, e, runs))
        if e.get("mdd") is not None:
            sentences.append(f"{t} dev (n={fmt_int(e.get('n'))}) cannot resolve "
                             f"differences below {e['mdd']:.1f} points.")
    heads = ["Task", "Dev n", "Baseline", "Min. detectable diff.", "Paired"] + [
        r.name for r in runs] + (["Largest gap"] if len(runs) > 1 else [])
    s.blocks.append(table(heads, rows, caption=(
        f"Minimum detectable difference (points) at α={pw.get('alpha', 0.05)} with power "
        f"{pw.get('power', 0.8)}, around the baseline score; method: "
        f"{next(iter(merged.values())).get('method', DASH)}. Paired: the same for two systems "
        "scored on the same examples that disagree as often as this run's seeds do "
        "(McNemar-style, Card et al. 2020)")))
    s.p(" ".join(sentences))


def _resolution_row(t: str, e: dict, runs: list[RunView]) -> list[Cell]:
    """The task's minimum detectable difference next to each run's score and the largest gap."""
    observed = [r.tasks.get(t, {}).get("score") for r in runs]
    present = [v for v in observed if v is not None]
    gap = max(present) - min(present) if len(present) > 1 else None
    mdd = e.get("mdd")
    paired = e.get("mdd_paired")
    row = [c(t), c(fmt_int(e.get("n"))), c(fmt_score(e.get("baseline"))),
           c(fmt_score(mdd), bold=True),
           c(fmt_score(paired), muted=paired is None,
             sub=f"seeds disagree on {100 * e['seed_disagreement']:.1f}%"
             if paired is not None else "")]
    row += [c(fmt_score(v), muted=v is None) for v in observed]
    if len(runs) > 1:
        verdict = ""
        if gap is not None and mdd is not None:
            verdict = "resolvable" if gap >= mdd else "below resolution"
        row.append(c(fmt_score(gap), sub=verdict, muted=verdict == "below resolution"))
    return row


def _seed_spread(s: Section, runs: list[RunView], figures: bool) -> None:
    multi = [(i, r) for i, r in enumerate(runs)
             if any((t.get("seeds") or {}).get("n", 1) > 1 for t in r.tasks.values())]
    s.blocks.append(Heading("Seed spread"))
    if not multi:
        s.blocks.append(Note("every run used a single seed: no seed spread to show — run with "
                             "`--seeds 1,2,3` to measure it"))
        return
    entries = [e for e in entries_in(runs)
               if any((r.tasks.get(e, {}).get("seeds") or {}).get("n", 1) > 1 for _, r in multi)]
    if figures:
        values = [{e: [float(v) for v in (t.get("seeds") or {}).get("values", {}).values()
                       if v is not None]
                   for e, t in r.tasks.items()} for r in runs]
        svg = plots.seed_spread([r.name for r in runs], entries, values)
        if svg:
            s.blocks.append(Figure("seed_spread", svg, ""))
    rows = []
    for i, r in multi:
        for e in entries:
            sd = (r.tasks.get(e) or {}).get("seeds")
            if sd:
                rows.append(_seed_row(i, r, e, sd))
    s.blocks.append(table(["Run", "Entry", "Seeds", "Mean ± sd", "Median", "Min–max",
                           "Per seed", "Collapsed seeds"], rows,
                          ["l", "l", "r", "r", "r", "r", "l", "l"], compact=True,
                          caption="The leaderboard row uses the median seed's predictions"))
    for r in runs:
        if all((t.get("seeds") or {}).get("n", 1) <= 1 for t in r.tasks.values()):
            s.blocks.append(Note(f"{r.name}: a single seed ({seeds(r.results)}) — no spread"))


def _seed_row(i: int, r: RunView, e: str, sd: dict) -> list[Cell]:
    return [c(r.name, run=i), c(e), c(fmt_int(sd.get("n"))),
            c(f"{fmt_score(sd.get('mean'))} ± {fmt_score(sd.get('sd'))}"),
            c(fmt_score(sd.get("median"))),
            c(f"{fmt_score(sd.get('min'))}–{fmt_score(sd.get('max'))}"),
            c(", ".join(f"{k}: {fmt_score(v)}"
                        for k, v in (sd.get("values") or {}).items())),
            c(", ".join(sd.get("collapsed") or []) or DASH)]
