"""The sweep section: best configurations, sensitivity, seed variance, collapse, methods."""

from __future__ import annotations

from gluebench.console.format import DASH, fmt_ci, fmt_delta, fmt_p, fmt_pct, fmt_score
from gluebench.console.score_tables import NO_CHOICE, point_text
from gluebench.report.collect import SweepView
from gluebench.report.plots import sweep as plots
from gluebench.report.sections.blocks import Cell, Figure, Heading, Note, Section, c, table
from gluebench.report.sections.shared import ALPHA, seed_counts, seed_tests_caption


def sweep_section(sweep: SweepView, figures: bool) -> Section:
    s = Section(f"sweep-{sweep.name}", f"Sweep: {sweep.name}")
    sel = sweep.selection
    dev_selected = sel["select_on"] == "dev"
    s.p(_summary(sweep))
    if dev_selected:
        s.p("DEV-SELECTED: each configuration was chosen on the dev set it is scored on, so "
            "these dev scores are optimistic; use `--select-on train-holdout` for an honest "
            "estimate.")
    configs = _ordered(sweep)
    s.blocks.append(Heading("Best configuration per task × method"
                            + (" (dev-selected)" if dev_selected else "")))
    s.blocks.append(_best_table(sel, dev_selected, _split(sel)))
    if figures:
        _figures(s, sweep, configs)
    s.blocks.append(Heading("Every configuration: seed spread and collapse rate"))
    s.blocks.append(_configs_table(configs, dev_selected, _split(sel)))
    s.p(_collapse_sentence(configs))
    s.blocks.append(Heading("Methods compared (paired, best configuration of each)"))
    if sweep.comparisons:
        s.blocks.append(_comparison_table(sweep.comparisons, dev_selected))
    else:
        s.blocks.append(Note("fewer than two methods with finished trials on a task (or no "
                             "dev outputs in the trial folders): nothing to compare"))
    return s


def _summary(sweep: SweepView) -> str:
    spec, records = sweep.plan["spec"], sweep.records
    ok = sum(r["status"] == "ok" for r in records.values())
    failed = sum(r["status"] == "failed" for r in records.values())
    total = len(sweep.plan["trials"])
    swept = ", ".join(sweep.selection["swept"]) or "nothing"
    return (f"{total} trials ({ok} finished, {failed} failed, {total - ok - failed} not run) of "
            f"`{spec.get('path')}`: tasks {', '.join(spec['tasks'])}; methods "
            f"{', '.join(spec['methods'])}; seeds {', '.join(map(str, spec['seeds']))}; swept: "
            f"{swept}. Data: {sweep.plan.get('data_source')}. Configurations are "
            f"{sweep.selection['label']}.")


def _ordered(sweep: SweepView) -> list[dict]:
    """Configurations by task (spec order), then method, numbered from 1 within each task."""
    spec = sweep.plan["spec"]
    configs = sorted(sweep.selection["configs"],
                     key=lambda x: (spec["tasks"].index(x["task"]),
                                    spec["methods"].index(x["method"])))
    counter: dict[str, int] = {}
    for x in configs:
        counter[x["task"]] = counter.get(x["task"], 0) + 1
        x["number"] = counter[x["task"]]
    return configs


def _mean_sd(mean, sd) -> str:
    return DASH if mean is None else f"{fmt_score(mean)} ± {fmt_score(sd)}"


def _split(sel: dict) -> str:
    """What configurations were ranked on: a held-out part of train, or a suite's dev32."""
    return "Dev32" if sel["select_on"] == "dev32" else "Holdout"


def _best_table(sel: dict, dev_selected: bool, split: str = "Holdout"):
    rows = []
    for b in sel["best"]:
        x = b["best"]
        if x is None:
            rows.append([c(b["task"]), c(b["method"]), c(NO_CHOICE, muted=True),
                         c(b["n_configs"]), c(DASH), c(DASH), c(0), c(DASH)])
            continue
        rows.append([c(b["task"]), c(b["method"]), c(point_text(x["point"])),
                     c(b["n_configs"]), c(fmt_score(x["selection_mean"])),
                     c(_mean_sd(x["dev_mean"], x["dev_sd"]), bold=True), c(len(x["seeds"])),
                     c(f"{x['collapsed']}/{len(x['seeds'])}")])
    chosen = "Dev (dev-selected)" if dev_selected else split
    return table(["Task", "Method", "Best configuration", "Configs", f"{chosen}\nmean",
                  "Dev score\nmean ± sd", "Seeds", "Collapsed"], rows,
                 ["l", "l", "l", "r", "r", "r", "r", "r"],
                 caption=f"Chosen by the mean over seeds of the {chosen.lower()} score, among "
                         "the configurations that finished every planned seed; dev mean ± sd "
                         "over the chosen configuration's seeds (×100)")


def _figures(s: Section, sweep: SweepView, configs: list[dict]) -> None:
    spec = sweep.plan["spec"]
    tasks, methods = spec["tasks"], spec["methods"]
    for field in sweep.selection["swept"]:
        svg = plots.sensitivity(field, tasks, methods, configs)
        if svg:
            s.blocks.append(Figure(f"sensitivity-{field}", svg,
                                   f"dev score against {field}"))
    svg = plots.seed_variance(tasks, methods, configs)
    if svg:
        s.blocks.append(Figure("seed-variance", svg, "per-seed dev scores per configuration"))


def _configs_table(configs: list[dict], dev_selected: bool, split: str = "Holdout"):
    rows = []
    for x in configs:
        n = len(x["seeds"])
        per_seed = ", ".join(f"{seed}: {fmt_score(v)}"
                             for seed, v in zip(x["seeds"], x["dev"], strict=True))
        rate = x["collapse_rate"]
        rows.append([c(x["number"]), c(x["task"]), c(x["method"]),
                     c(point_text(x["point"]), sub="" if x.get("complete", True) else
                       f"{n}/{x['planned']} seeds: not eligible"),
                     c(_mean_sd(x["selection_mean"], x["selection_sd"])),
                     c(_mean_sd(x["dev_mean"], x["dev_sd"])), c(per_seed or DASH),
                     c(f"{x['collapsed']}/{n}" if n else DASH, sub=fmt_pct(rate) if n else "",
                       bold=bool(rate))] + ([c(x["failed"])] if any(
                           y["failed"] for y in configs) else []))
    heads = ["#", "Task", "Method", "Configuration",
             "Dev\nmean ± sd (selection)" if dev_selected else f"{split}\nmean ± sd",
             "Dev\nmean ± sd", "Dev per seed", "Collapsed\nseeds"]
    if any(y["failed"] for y in configs):
        heads.append("Failed")
    return table(heads, rows, ["r", "l", "l", "l", "r", "r", "l", "r"] +
                 (["r"] if len(heads) > 8 else []), compact=True,
                 caption="A seed collapsed when it predicts one class for >= 99% of dev")


def _collapse_sentence(configs: list[dict]) -> str:
    trials = sum(len(x["seeds"]) for x in configs)
    collapsed = sum(x["collapsed"] for x in configs)
    if not trials:
        return "No trial has finished yet."
    worst = [x for x in configs if x["collapse_rate"] == 1]
    return (f"{collapsed} of {trials} finished trials ({100 * collapsed / trials:.0f}%) "
            f"collapsed; {len(worst)} configuration(s) collapsed on every seed.")


def _comparison_table(rows_in: list[dict], dev_selected: bool):
    rows: list[list[Cell]] = []
    for r in rows_in:
        significant = r["p_holm"] < ALPHA
        rows.append([c(r["entry"]), c(f"{r['method_a']} − {r['method_b']}"), c(seed_counts(r)),
                     c(r["n"]), c(fmt_score(r["score_a"])), c(fmt_score(r["score_b"])),
                     c(fmt_delta(r["diff"]), bold=significant), c(fmt_ci(r["ci"])),
                     c(fmt_p(r["p_value"])), c(fmt_p(r["p_holm"]), bold=significant)])
    return table(["Entry", "A − B", "Seeds", "Examples", "A", "B", "Difference", "95% CI", "p",
                  "p (Holm)"], rows, ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r"],
                 caption=seed_tests_caption(len(rows_in), "sweep") + _units(rows_in)
                         + ("; configurations dev-selected" if dev_selected else ""))


def _units(rows: list[dict]) -> str:
    """A suite's entries resampled by a coarser unit than the example, named (else nothing)."""
    units = {r["entry"]: r["resample"] for r in rows if r.get("resample", "example") != "example"}
    if not units:
        return ""
    named = ", ".join(f"{e}: {u}s" for e, u in units.items())
    return (f". Resampled by the entry's unit instead of the example ({named}), the same units "
            "for every seed")
