"""The robustness section: AdvGLUE, input perturbations and out-of-distribution sets."""

from __future__ import annotations

from gluebench.console.format import DASH, fmt_ci, fmt_delta, fmt_int, fmt_p, fmt_pct, fmt_score
from gluebench.report import plots
from gluebench.report.collect import RunView
from gluebench.report.sections.blocks import Cell, Figure, Heading, Note, Section, c, table
from gluebench.report.sections.shared import best, glue_order, not_measured

#: Runs that have robustness results, with their index among all runs.
Have = list[tuple[int, RunView]]


def robustness_section(runs: list[RunView], figures: bool) -> Section:
    s = Section("robustness", "Robustness")
    have = [(i, r) for i, r in enumerate(runs) if r.robustness]
    for r in runs:
        if not r.robustness:
            s.blocks.append(not_measured(r, "robustness", "robustness"))
    if not have:
        return s
    _advglue(s, runs, have, figures)
    _perturbations(s, have, figures)
    _ood(s, have)
    return s


def _advglue(s: Section, runs: list[RunView], have: Have, figures: bool) -> None:
    adv = [(i, r, r.robustness.get("advglue")) for i, r in have if r.robustness.get("advglue")]
    if adv:
        s.blocks.append(Heading("AdvGLUE"))
        summary = []
        for i, r, a in adv:
            summary.append([c(r.name, run=i, bold=True), c(fmt_score(a.get("score"))),
                            c(", ".join(a.get("missing") or []) or DASH)])
        best_score = best([a.get("score") for _, _, a in adv])
        for k, row in enumerate(summary):
            row[1].bold = k in best_score
        s.blocks.append(table(["Run", "AdvGLUE score", "Tasks missing"], summary,
                              ["l", "r", "l"]))
        s.blocks.append(table(["Run", "Task", "n", "Clean dev", "Benign", "Adversarial",
                               "Change"], _advglue_rows(adv), ["l", "l", "r", "r", "r", "r", "r"],
                              caption="Clean dev: the run's dev score; Benign: the unattacked "
                                      "AdvGLUE sources; Change = adversarial − clean (points)"))
        if figures:
            entries = [((r.robustness or {}).get("advglue") or {}).get("entries") or {}
                       for r in runs]
            svg = plots.advglue_dumbbell([r.name for r in runs], entries)
            if svg:
                s.blocks.append(Figure("advglue", svg, ""))
    for _, r in have:
        if not r.robustness.get("advglue"):
            s.blocks.append(Note(f"{r.name}: AdvGLUE not measured (no AdvGLUE file given to "
                                 f"`gluebench robustness`)"))


def _advglue_rows(adv: list[tuple[int, RunView, dict]]) -> list[list[Cell]]:
    rows = []
    for i, r, a in adv:
        for task, e in (a.get("entries") or {}).items():
            rows.append([c(r.name, run=i), c(task), c(fmt_int(e.get("n"))),
                         c(fmt_score(e.get("clean_score"))),
                         c(fmt_score(e.get("benign_score"))),
                         c(fmt_score(e.get("score")),
                           sub=fmt_ci((e.get("ci") or {}).get("score"))),
                         c(fmt_delta(-e["drop"]) if e.get("drop") is not None else DASH)])
    return rows


def _perturbations(s: Section, have: Have, figures: bool) -> None:
    pert = [(i, r) for i, r in have if r.robustness.get("perturbations")]
    if not pert:
        return
    s.blocks.append(Heading("Input perturbations"))
    info: dict[str, dict] = {}
    for _, r in pert:
        for k, v in (r.robustness.get("transformations") or {}).items():
            info.setdefault(k, v)
    transformations = _transformation_order(pert, info)
    s.p("Δ = score on the transformed dev examples minus the clean score, in points, "
        "with a paired 95% CI; flip = share of predictions that changed (STS-B: |Δ|, the "
        "mean absolute change of the predicted similarity). Label-preserving "
        "transformations should not change the answer, so any drop is a robustness "
        "failure; probes (marked) may change the gold label and show what the model "
        "relies on.")
    if figures:
        svg = plots.perturbation_heatmap(_heatmap_panels(pert, transformations), transformations)
        if svg:
            s.blocks.append(Figure("perturbations", svg, ""))
    columns = [(i, r, task, r.robustness["perturbations"][task]) for i, r in pert
               for task in glue_order(r.robustness["perturbations"])]
    heads = [f"{task}\n{r.name}" if len(pert) > 1 else task for _, r, task, _ in columns]
    s.blocks.append(table(["Transformation"] + heads,
                          _perturbation_rows(columns, transformations),
                          ["l"] + ["r"] * len(heads), css="narrow",
                          caption="Rows: transformations (probes marked); columns: the run's "
                                  "tasks, with the clean score and n first. ns: not "
                                  "significant (95% CI spans 0); bold: significant"))
    skipped = sorted({f"{k}: {v['skipped']}" for _, r in pert
                      for p in r.robustness["perturbations"].values()
                      for k, v in (p.get("results") or {}).items() if v.get("skipped")})
    trows = [[c(k), c("label-preserving" if lp else "probe"),
              c(info.get(k, {}).get("family") or DASH),
              c(info.get(k, {}).get("description") or DASH)] for k, lp in transformations]
    s.blocks.append(table(["Transformation", "Kind", "Family", "What it does"], trows,
                          ["l"] * 4, compact=True,
                          caption=("skipped — " + "; ".join(skipped)) if skipped else ""))


def _transformation_order(pert: Have, info: dict[str, dict]) -> list[tuple[str, bool]]:
    """(name, label_preserving) of every transformation run: label-preserving ones first."""
    seen: dict[str, bool] = {}
    for _, r in pert:
        for p in r.robustness["perturbations"].values():
            for k, v in (p.get("results") or {}).items():
                lp = v.get("label_preserving", info.get(k, {}).get("label_preserving", True))
                seen.setdefault(k, bool(lp))
    order = sorted(seen, key=lambda k: (not seen[k], info.get(k, {}).get("family", ""), k))
    return [(k, seen[k]) for k in order]


def _heatmap_panels(pert: Have, transformations: list[tuple[str, bool]]) -> list[tuple]:
    panels = []
    for i, r in pert:
        tasks = glue_order(r.robustness["perturbations"])
        cells = [[r.robustness["perturbations"][t].get("results", {}).get(k)
                  for k, _ in transformations] for t in tasks]
        panels.append((r.name, i, tasks, cells))
    return panels


def _perturbation_rows(columns: list[tuple], transformations: list[tuple[str, bool]]
                       ) -> list[list[Cell]]:
    """One row per transformation (many) and one column per run x task (few): it fits."""
    rows = [[c("clean", bold=True)] + [
        c(fmt_score(p.get("clean_score")), sub=f"n={fmt_int(p.get('n'))}")
        for _, _, _, p in columns]]
    for k, lp in transformations:
        row = [c(k, sub="" if lp else "probe")]
        for _, _, _, p in columns:
            row.append(_perturbation_cell((p.get("results") or {}).get(k)))
        rows.append(row)
    return rows


def _perturbation_cell(v: dict | None) -> Cell:
    if v is None:
        return c(DASH, muted=True)
    if v.get("skipped"):
        return c("skipped", muted=True, title=str(v["skipped"]))
    sig = plots.significant(v)
    return c(fmt_delta(v.get("delta")) + ("" if sig else " ns"),
             sub=f"flip {fmt_pct(v['flip_rate'])}" if v.get("flip_rate") is not None
             else f"|Δ| {v.get('mean_abs_change', 0):.2f}", muted=not sig,
             bold=sig, title=f"95% CI {fmt_ci(v.get('ci'))}, p={fmt_p(v.get('p_value'))}")


def _ood(s: Section, have: Have) -> None:
    ood = [(i, r) for i, r in have if r.robustness.get("ood")]
    if not ood:
        return
    s.blocks.append(Heading("Out-of-distribution sets"))
    rows = []
    for i, r in ood:
        for name, o in r.robustness["ood"].items():
            rows.append([c(r.name, run=i), c(name), c(o.get("task") or DASH),
                         c(fmt_int(o.get("n"))),
                         c(fmt_score(o.get("in_distribution"))),
                         c(fmt_score(o.get("score")),
                           sub=fmt_ci((o.get("ci") or {}).get("score"))),
                         c(fmt_delta(o.get("delta")))])
    s.blocks.append(table(["Run", "Data set", "Task", "n", "In-distribution", "OOD score",
                           "Change"], rows, ["l", "l", "l", "r", "r", "r", "r"]))
