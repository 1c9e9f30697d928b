"""The study section: variants against controls, the paper beside ours, score and Pareto plots."""

from __future__ import annotations

from gluebench.report.format import DASH, fmt_ci, fmt_delta, fmt_ms, fmt_p, fmt_score
from gluebench.report.sections.blocks import Figure, Heading, Note, Section, c, table
from gluebench.studies.papers import PAPERS, STUDY_PAPERS, setting_differences

TITLES = {"layer-drop": "Layer dropping", "distill": "Distillation", "data-diet": "Data diet"}


def _x_text(kind: str, row: dict) -> str:
    x = row["x"]
    if x is None:
        return DASH
    if kind == "layer-drop":
        dropped = row["facts"].get("dropped") or []
        return f"{x:g}" + (f" (−{','.join(map(str, dropped))})" if dropped else "")
    if kind == "distill":
        return f"{x / 1e6:.1f}M"
    return f"{100 * x:g}%"


def _mean_sd(row: dict) -> str:
    if row["dev_mean"] is None:
        return DASH
    return f"{fmt_score(row['dev_mean'])} ± {fmt_score(row['dev_sd'])}"


def variants_table(analysis: dict):
    kind = analysis["design"]["study"]
    rows = []
    for r in analysis["rows"]:
        eff = r["efficiency"] or {}
        int8 = eff.get("int8") or {}
        pooled = r["pooled"] or {}
        rows.append([c(r["task"]), c(r["name"], bold=r["role"] == "control"),
                     c(_x_text(kind, r)), c(f"{len(r['seeds'])}/{r['planned']}"),
                     c(_mean_sd(r), bold=True),
                     c(fmt_score(pooled.get("score")), sub=fmt_ci(pooled.get("ci"))),
                     c(r["train_examples"] if r["train_examples"] is not None else DASH),
                     c(r["steps"] if r["steps"] is not None else DASH),
                     c(DASH if r["train_seconds"] is None else f"{r['train_seconds']:.0f}"),
                     c(DASH if r["parameters"] is None else f"{r['parameters'] / 1e6:.2f}M"),
                     c(fmt_ms(eff.get("latency_ms"))),
                     c(fmt_score(int8.get("score")), sub=fmt_ms(int8.get("latency_ms")))])
    x_head = {"layer-drop": "Layers kept", "distill": "Student\nparameters",
              "data-diet": "Data kept"}[kind]
    return table(["Task", "Variant", x_head, "Seeds", "Dev\nmean ± sd", "Pooled\n95% CI",
                  "Train ex", "Steps", "Train s\nmean", "Params", "Latency\np50 fp32",
                  "int8 score\np50"], rows, ["l", "l", "r"] + ["r"] * 9,
                 caption="Dev score ×100 (mean ± sd over seeds); pooled: the metric on every "
                         "(seed, example) prediction with its percentile-bootstrap CI; latency "
                         "and int8 (dynamic quantisation) measured on the first seed's model "
                         "at batch 1 on the CPU")


def tests_table(analysis: dict):
    rows = []
    for t in analysis["tests"]:
        significant = t["p_value"] < 0.05
        rows.append([c(t["entry"]), c(f"{t['variant']} − {t['control']}"), c(t["seeds"]),
                     c(t["n"]), c(fmt_score(t["score_a"])), c(fmt_score(t["score_b"])),
                     c(fmt_delta(t["diff"]), bold=significant), c(fmt_ci(t["ci"])),
                     c(fmt_p(t["p_value"]), bold=significant)])
    return table(["Entry", "Variant − control", "Seeds", "Pairs", "Variant", "Control",
                  "Difference", "95% CI", "p"], rows,
                 caption="Seed s of the variant paired with seed s of its control, dev examples "
                         "pooled: paired bootstrap CI and paired permutation p-value "
                         "(gluebench.stats.paired_test)")


def _by_task(analysis: dict) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for r in analysis["rows"]:
        out.setdefault(r["task"], {})[r["name"]] = r
    return out


def _share(a: float | None, b: float | None) -> str:
    return DASH if a is None or not b else f"{100 * a / b:.1f}%"


def ours(analysis: dict) -> list[str]:
    """Our numbers in the papers' terms, one line per task."""
    design, kind, lines = analysis["design"], analysis["design"]["study"], []
    for task, rows in _by_task(analysis).items():
        if kind == "layer-drop":
            full = rows.get("full", {}).get("dev_mean")
            n = design["facts"]["layers"]
            parts = [f"{name} ({100 * (n - r['x']) / n:.0f}% of layers dropped) keeps "
                     f"{_share(r['dev_mean'], full)}" for name, r in rows.items()
                     if r["role"] != "control"]
            lines.append(f"{task}: " + "; ".join(parts) + " of the full model's score")
        elif kind == "distill":
            teacher = design["facts"]["teachers"][task]["results"]
            score = next(iter(teacher["entries"].values()), None)
            size = teacher.get("parameters")
            any_row = next(iter(rows.values()))
            smaller = DASH if not size else f"{100 * (1 - any_row['x'] / size):.0f}%"
            parts = [f"{name} keeps {_share(r['dev_mean'], score)}" for name, r in rows.items()]
            lines.append(f"{task}: student {smaller} smaller than the teacher; "
                         + "; ".join(parts) + " of the teacher's score")
        else:
            full = rows.get("full", {})
            parts = []
            for name, r in rows.items():
                if r["role"] == "control" and name == "full":
                    continue
                saved = _share(None if r["train_seconds"] is None or full.get("train_seconds")
                               is None else full["train_seconds"] - r["train_seconds"],
                               full.get("train_seconds"))
                parts.append(f"{name} keeps {_share(r['dev_mean'], full.get('dev_mean'))} in "
                             f"{saved} less training time")
            lines.append(f"{task}: " + "; ".join(parts) + " (against the full data)")
    return lines


def papers_table(analysis: dict):
    design = analysis["design"]
    facts = {"layers": design["facts"].get("layers") or design["facts"].get("teacher_layers"),
             "subsampled": design["base"].get("max_train_examples") is not None}
    if design["study"] == "distill":
        teachers = design["facts"]["teachers"].values()
        facts["layers"] = next(iter(teachers))["teacher_layers"] if teachers else None
        facts["role"] = "teacher"
    ours_text = "\n".join(ours(analysis))
    rows = []
    for key in STUDY_PAPERS[design["study"]]:
        paper = PAPERS[key]
        differences = setting_differences(paper, facts) if paper.numbers else []
        comparable = ("not a GLUE headline: cited for the method" if not paper.numbers else
                      "yes" if not differences else "no: " + "; ".join(differences))
        rows.append([c(paper.cite, sub=paper.url), c(paper.claim, sub=paper.setting),
                     c(ours_text if paper.numbers else DASH), c(comparable)])
    return table(["Paper", "Headline (as the paper states it)", "Ours", "Comparable?"], rows,
                 ["l", "l", "l", "l"],
                 caption="Our numbers are dev-score ratios of means over seeds; a ratio is only "
                         "comparable to the paper's where the setting is")


def study_section(view, figures: bool) -> Section:
    analysis = view.analysis
    design = analysis["design"]
    kind = design["study"]
    s = Section(f"study-{view.name}", f"{TITLES[kind]} study: {view.name}")
    counts = analysis["records"]
    model = design["model"] or "the embedded all-MiniLM-L6-v2"
    recipe = ", ".join(f"{k} {v}" for k, v in design["base"].items()) or "the default"
    s.p(f"{counts['planned']} trials ({counts['ok']} finished, {counts['failed']} failed) of "
        f"{len(design['variants'])} variants on {', '.join(design['tasks'])}, seeds "
        f"{', '.join(map(str, design['seeds']))}; model {model}; recipe: {recipe}. Data: "
        f"{design['data_source']}. Follows "
        + "; ".join(PAPERS[k].cite for k in STUDY_PAPERS[kind]) + ".")
    for line in _design_lines(design):
        s.p(line)
    s.blocks.append(Heading("Variants"))
    s.blocks.append(variants_table(analysis))
    s.blocks.append(Heading("Each variant against its control"))
    if analysis["tests"]:
        s.blocks.append(tests_table(analysis))
    else:
        s.blocks.append(Note("no finished variant and control share a seed with dev outputs"))
    if figures:
        _figures(s, analysis)
    s.blocks.append(Heading("Beside the paper"))
    s.blocks.append(papers_table(analysis))
    return s


def _design_lines(design: dict) -> list[str]:
    facts, kind = design["facts"], design["study"]
    if kind == "layer-drop":
        out = [f"Encoder of {facts['layers']} layers; strategies {', '.join(facts['strategies'])}"
               f"; layers dropped (0-based) per variant in the table."]
        for task, sims in (facts.get("similarity") or {}).items():
            out.append(f"{task}: cosine similarity of each layer's input and output on "
                       "training text: " + ", ".join(f"{i}: {v:.3f}" for i, v in
                                                   enumerate(sims)))
        return out
    if kind == "distill":
        t = next(iter(facts["teachers"].values()))
        hidden = (f"; hidden-state matching on {t['pooling']}-pooled states, layer map "
                  "(student, teacher) " + ", ".join(f"{a}→{b}" for a, b in t["layer_map"])
                  ) if facts["hidden_loss"] else ""
        return [f"Teacher: {facts['teacher_run']} ({t['teacher_layers']} layers); student: "
                f"{design['model'] or 'all-MiniLM-L6-v2'} with {facts['student_layers']} layers"
                f" (dropped {facts['student_dropped'] or 'none'}); loss α·CE + (1−α)·T²·KL "
                f"(STS-B: α·MSE(gold) + (1−α)·MSE(teacher)), T = {facts['temperature']:g}, "
                f"α = {facts['alpha']:g}{hidden}. The control is the same student trained "
                "without the teacher on the same examples for the same steps."]
    lines = []
    for task, sc in (facts.get("scoring") or {}).items():
        lines.append(f"{task}: scores from {len(sc['seeds'])} scoring run(s) of {sc['epochs']}"
                     f" epoch(s) on {sc['examples']} examples ({sc['seconds']:.0f} s, not "
                     f"counted in the training times below); "
                     f"{100 * sc['forgotten_at_least_once']:.0f}% of examples forgotten at "
                     f"least once{_never_learned(sc)}. Kept: the highest scores; random: a "
                     "seeded subset of the same size (the control).")
    return lines


def _never_learned(scoring: dict) -> str:
    """Never-learned examples, counted apart from forgotten ones (not in older studies)."""
    share = scoring.get("never_learned")
    return "" if share is None else f", {100 * share:.0f}% never learned"


def _figures(s: Section, analysis: dict) -> None:
    from gluebench.report.plots import study as plots

    design = analysis["design"]
    svg = plots.score_against(design["x_label"], design["tasks"], analysis["rows"],
                              log_x=design["study"] == "distill",
                              reference=_teacher_points(analysis))
    if svg:
        s.blocks.append(Figure("study-score", svg, f"dev score against {design['x_label']}"))
    for task in design["tasks"]:
        svg = plots.pareto_variants(task, [r for r in analysis["rows"] if r["task"] == task],
                                    extra=_teacher_profile(analysis, task))
        if svg:
            s.blocks.append(Figure(f"study-pareto-{task}", svg,
                                   f"{task}: score against batch-1 latency, int8 included"))


def _teacher_points(analysis: dict) -> dict:
    design = analysis["design"]
    if design["study"] != "distill":
        return {}
    out = {}
    for task, t in design["facts"]["teachers"].items():
        score = next(iter(t["results"]["entries"].values()), None)
        if score is not None and t["results"].get("parameters"):
            out[task] = (float(t["results"]["parameters"]), score)
    return out


def _teacher_profile(analysis: dict, task: str) -> list[dict]:
    eff = analysis.get("teacher_efficiency", {}).get(task)
    return [{"name": "teacher", "efficiency": eff}] if eff else []


def terminal_tables(analysis: dict) -> list:
    """The variants, tests and paper tables as rich tables (for the command's output)."""
    from rich.table import Table

    out = []
    for block in (variants_table(analysis), tests_table(analysis), papers_table(analysis)):
        t = Table(title=block.caption[:100] + ("…" if len(block.caption) > 100 else ""))
        for head, align in zip(block.headers, block.align, strict=True):
            t.add_column(head, justify="right" if align == "r" else "left")
        for row in block.rows:
            t.add_row(*[cell.text + (f" {cell.sub}" if cell.sub else "") for cell in row])
        out.append(t)
    return out
