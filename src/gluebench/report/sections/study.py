"""The study section: variants against controls, the paper beside ours, score and Pareto plots."""

from __future__ import annotations

from gluebench.console.format import DASH, fmt_ci, fmt_delta, fmt_ms, fmt_p, fmt_score
from gluebench.report.plots import study as plots
from gluebench.report.sections.blocks import Figure, Heading, Note, Section, c, table
from gluebench.report.sections.shared import ALPHA, seed_counts, seed_tests_caption
from gluebench.studies.claims import compare, measured_units
from gluebench.studies.papers import PAPERS, STUDY_PAPERS, UNITS, Claim, Number, setting_differences

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


def _entry_note(row: dict) -> str:
    """Which entry the CI is of, where a task has several (MNLI: the matched one)."""
    return row["entry"] if len(row.get("intervals") or {}) > 1 else ""


def variants_table(analysis: dict):
    kind = analysis["design"]["study"]
    rows = []
    for r in analysis["rows"]:
        eff = r["efficiency"] or {}
        int8 = eff.get("int8") or {}
        interval = r["interval"] or {}
        rows.append([c(r["task"]), c(r["name"], bold=r["role"] == "control"),
                     c(_x_text(kind, r)), c(f"{len(r['seeds'])}/{r['planned']}"),
                     c(_mean_sd(r), bold=True),
                     c(fmt_ci(interval.get("ci")), sub=_entry_note(r)),
                     c(r["train_examples"] if r["train_examples"] is not None else DASH),
                     c(r["steps"] if r["steps"] is not None else DASH),
                     c(DASH if r["train_seconds"] is None else f"{r['train_seconds']:.0f}"),
                     c(DASH if r["parameters"] is None else f"{r['parameters'] / 1e6:.2f}M"),
                     c(fmt_ms(eff.get("latency_ms"))),
                     c(fmt_score(int8.get("score")), sub=fmt_ms(int8.get("latency_ms")))])
    x_head = {"layer-drop": "Layers kept", "distill": "Student\nparameters",
              "data-diet": "Data kept"}[kind]
    return table(["Task", "Variant", x_head, "Seeds", "Dev\nmean ± sd", "95% CI\n(seeds, examples)",
                  "Train ex", "Steps", "Train s\nmean", "Params", "Latency\np50 fp32",
                  "int8 score\np50"], rows, ["l", "l", "r"] + ["r"] * 9,
                 caption="Dev score ×100 (mean ± sd over seeds); 95% CI of the mean over seeds: "
                         "its bootstrap variance over examples (the same indices for every "
                         "seed) plus the seed variance beyond the seeds' own example noise; "
                         "latency "
                         "and int8 (dynamic quantisation) measured on the first seed's model "
                         "at batch 1 on the CPU")


def tests_table(analysis: dict):
    rows = []
    for t in analysis["tests"]:
        significant = t["p_holm"] < ALPHA
        rows.append([c(t["entry"]), c(f"{t['variant']} − {t['control']}"), c(seed_counts(t)),
                     c(t["n"]), c(fmt_score(t["score_a"])), c(fmt_score(t["score_b"])),
                     c(fmt_delta(t["diff"]), bold=significant), c(fmt_ci(t["ci"])),
                     c(fmt_p(t["p_value"])), c(fmt_p(t["p_holm"]), bold=significant)])
    return table(["Entry", "Variant − control", "Seeds", "Examples", "Variant", "Control",
                  "Difference", "95% CI", "p", "p (Holm)"], rows,
                 caption=seed_tests_caption(len(analysis["tests"]), "study"))


# Our units, in the order of the table's columns, and their short headers.
OUR_COLUMNS = {"layers kept": "Layers\nkept", "parameters kept": "Parameters\nkept",
               "training data kept": "Data\nkept", "training time saved": "Train time\nsaved",
               "inference time saved": "Latency\nsaved", "speed-up": "Speed-up"}


def _measure_cell(unit: str, m: dict | None):
    if m is None or m["value"] is None:
        return c(DASH, title=(m or {}).get("why", ""))
    if unit == "speed-up":
        return c(f"{m['value']:.2f}×")
    return c(f"{100 * m['value']:.1f}%", sub=fmt_ci(m.get("ci"), 100),
             title=m.get("why", ""))


def ours_table(analysis: dict):
    """Each variant's numbers in the papers' units (``studies.retained.measure``)."""
    ours = analysis["ours"]
    units = [u for u in OUR_COLUMNS if u in measured_units(ours)]
    rows = [[c(task), c(name), _measure_cell("score kept", m["score kept"]),
             *[_measure_cell(u, m.get(u)) for u in units]]
            for task, variants in ours["tasks"].items() for name, m in variants.items()]
    ref = ours["reference"]["name"]
    return table(["Task", "Variant", "Score\nkept", *[OUR_COLUMNS[u] for u in units]],
                 rows, ["l", "l"] + ["r"] * (1 + len(units)),
                 caption=f"Score kept: the dev score as a share of the score of {ref} on the "
                         "same dev examples (means "
                         "over seeds), with a 95% two-level bootstrap CI (examples drawn once "
                         "for every seed, then seeds drawn with replacement); costs against "
                         f"{ref}; latency: batch 1 on the CPU, first seed")


def _number_text(n: Number) -> str:
    reading = f" ({n.reading})" if n.reading else ""
    if n.unit == "unstated":
        return f"“{n.text}”: a {UNITS[n.unit]}{reading}"
    value = f"{n.value:g}×" if n.unit == "speed-up" else f"{n.value:g}" if n.unit in (
        "GLUE score", "GLUE points below") else f"{100 * n.value:.1f}%"
    return f"“{n.text}”: {n.bound} {value}, {UNITS[n.unit]}{reading}"


def _claim_cell(claim: Claim):
    if claim.verified:
        text = f"“{claim.quote}” ({claim.where})"
    else:
        text = f"UNVERIFIED, our paraphrase, not checked against the paper: {claim.quote}"
    units = [_number_text(n) for n in (claim.outcome, claim.at) if n is not None]
    if claim.unverified:
        units.append(f"unverified (from memory, not checked against the text): "
                     f"{claim.unverified}")
    return c(text, sub=";\n".join(units))


def _verdict_counts(lines: list[str]) -> str:
    verdicts = [line.split(" → ")[-1].split(" (")[0] for line in lines]
    counts = {v: verdicts.count(v) for v in dict.fromkeys(verdicts)}
    return "; ".join(f"{v}: {n}" for v, n in counts.items())


def _comparable_cell(paper, claim: Claim, comparison, facts: dict):
    if not comparison.comparable:
        tail = f"; cited for the method: {paper.method}" if claim.outcome is None else ""
        return c("not comparable", sub="not comparable: " + "; ".join(comparison.reasons)
                 + tail)
    differences = setting_differences(paper, claim, facts)
    units = UNITS[claim.outcome.unit] + (f", at a {UNITS[claim.at.unit]}" if claim.at else "")
    setting = "no: " + "; ".join(differences) if differences else "yes"
    return c("same units", sub=f"same units: {units};\nsame setting? {setting}")


def _facts(design: dict) -> dict:
    facts = {"layers": design["facts"].get("layers") or design["facts"].get("teacher_layers"),
             "subsampled": design["base"].get("max_train_examples") is not None}
    if design["study"] == "distill":
        teachers = design["facts"]["teachers"].values()
        facts["layers"] = next(iter(teachers))["teacher_layers"] if teachers else None
        facts["role"] = "teacher"
    return facts


def papers_table(analysis: dict):
    """Each claim of the study's papers, with its source, against our numbers."""
    design, ours = analysis["design"], analysis["ours"]
    facts, rows = _facts(design), []
    for key in STUDY_PAPERS[design["study"]]:
        paper = PAPERS[key]
        for claim in paper.claims:
            comparison = compare(claim, ours)
            rows.append([c(paper.cite, sub=f"{claim.where}; {paper.url}"), _claim_cell(claim),
                         c(_verdict_counts(comparison.lines) or DASH,
                           sub=";\n".join(comparison.lines)),
                         _comparable_cell(paper, claim, comparison, facts)])
    return table(["Paper", "Claim (verbatim where verified) and its units",
                  "Ours against the claim", "Comparable?"], rows, ["l", "l", "l", "l"],
                 caption="A claim is compared only with our number of the same unit, reference "
                         "and benchmark; the verdict uses our 95% CI (the claim inside it: not "
                         "settled by this study); a cut of ours that differs from the paper's "
                         "settles only a larger cut that meets the claim or a smaller one that "
                         "falls short")


def _unverified_note(kind: str) -> Note | None:
    claims = [(p, cl) for p in (PAPERS[k] for k in STUDY_PAPERS[kind]) for cl in p.claims]
    marked = [p.key for p, cl in claims if not cl.verified or cl.unverified]
    if not marked:
        return None
    return Note("unverified: some claims or details (" + ", ".join(dict.fromkeys(marked))
                + ") were not checked against the papers' text; they are labelled where shown")


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
    s.blocks.append(ours_table(analysis))
    s.blocks.append(papers_table(analysis))
    note = _unverified_note(kind)
    if note is not None:
        s.blocks.append(note)
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
    design = analysis["design"]
    svg = plots.score_against(design["x_label"], design["tasks"], analysis["rows"],
                              log_x=design["study"] == "distill",
                              reference=_teacher_points(analysis))
    if svg:
        s.blocks.append(Figure("study-score", svg, f"dev score against {design['x_label']}"))
    svg = _claims_figure(analysis)
    if svg:
        s.blocks.append(Figure("study-claims", svg, "score kept against the cost, beside "
                                                    "the papers' comparable claims"))
    for task in design["tasks"]:
        svg = plots.pareto_variants(task, [r for r in analysis["rows"] if r["task"] == task],
                                    extra=_teacher_profile(analysis, task))
        if svg:
            s.blocks.append(Figure(f"study-pareto-{task}", svg,
                                   f"{task}: score against batch-1 latency, int8 included"))


# The cost each study's claims plot puts on its x axis.
CLAIMS_X = {"layer-drop": "layers kept", "distill": "parameters kept",
            "data-diet": "training data kept"}


def _claims_figure(analysis: dict) -> str | None:
    """Our score kept against the study's cost, with every comparable claim in that unit."""
    ours, kind = analysis["ours"], analysis["design"]["study"]
    x_unit, points = CLAIMS_X[kind], {}
    for task, variants in ours["tasks"].items():
        for name, m in variants.items():
            kept, cost = m["score kept"], m.get(x_unit)
            if kept["value"] is not None and cost is not None:
                lo, hi = kept["ci"] or (None, None)
                points.setdefault(task, []).append(
                    (name.split("-")[0], 100 * cost["value"], 100 * kept["value"],
                     None if lo is None else 100 * lo, None if hi is None else 100 * hi))
    claims = [(f"{p.key}: {cl.outcome.text}", None if cl.at is None else 100 * cl.at.value,
               100 * cl.outcome.value, cl.outcome.bound)
              for p in (PAPERS[k] for k in STUDY_PAPERS[kind]) for cl in p.claims
              if cl.outcome is not None and cl.outcome.unit == "score kept"
              and (cl.at is None or cl.at.unit == x_unit) and compare(cl, ours).comparable]
    return plots.retained_against(f"{UNITS[x_unit]} (%)", analysis["design"]["tasks"], points,
                                  claims)


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
    for block in (variants_table(analysis), tests_table(analysis), ours_table(analysis),
                  papers_table(analysis)):
        t = Table(title=block.caption[:100] + ("…" if len(block.caption) > 100 else ""))
        for head, align in zip(block.headers, block.align, strict=True):
            t.add_column(head, justify="right" if align == "r" else "left")
        for row in block.rows:
            t.add_row(*[cell.text + (f" {cell.sub}" if cell.sub else "") for cell in row])
        out.append(t)
    return out
