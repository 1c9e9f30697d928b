"""Terminal tables for the analysis commands: robustness, calibration, power, seeds."""

from __future__ import annotations

from rich.table import Table


def _num(value, digits: int = 1, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _delta(cell: dict) -> str:
    lo, hi = cell["ci"]
    significant = lo > 0 or hi < 0
    text = f"{cell['delta']:+.1f} [{lo:+.1f}, {hi:+.1f}]"
    return text if significant else f"[dim]{text}[/dim]"


def perturbations(doc: dict) -> Table:
    table = Table(title="Perturbations: change against clean (points, paired 95% CI; dim = CI "
                        "spans 0), flip rate", header_style="bold")
    for col in ("Entry", "Transformation", "Keeps label", "Score", "Change", "Flipped"):
        table.add_column(col, justify="left" if col in ("Entry", "Transformation") else "right")
    for entry, section in doc.get("perturbations", {}).items():
        if "skipped" in section:
            table.add_row(entry, "-", "", "", section["skipped"], "")
            continue
        table.add_row(entry, "clean", "", _num(section.get("clean_score")), "",
                      f"n={section['n']}")
        for name, cell in section["results"].items():
            flipped = cell.get("flip_rate")
            table.add_row("", name, "yes" if cell["label_preserving"] else "probe",
                          _num(cell["score"]), _delta(cell),
                          f"{100 * flipped:.1f}%" if flipped is not None
                          else f"|d| {cell.get('mean_abs_change', 0):.2f}")
    for name, reason in doc.get("skipped_transformations", {}).items():
        table.add_row("all", name, "", "", f"skipped: {reason}", "")
    return table


def advglue(doc: dict) -> Table | None:
    section = doc.get("advglue") or {}
    if "entries" not in section:
        return None
    partial = " (partial: no model for " + ", ".join(section["missing"]) + ")" \
        if section.get("missing") else ""
    score = section.get("score")
    table = Table(title=f"Adversarial GLUE dev: score {_num(score)}{partial}",
                  header_style="bold")
    for col in ("Entry", "n", "GLUE dev (clean)", "AdvGLUE", "95% CI", "Drop",
                "Benign originals", "Attacked (same items)"):
        table.add_column(col, justify="left" if col == "Entry" else "right")
    for entry, row in section["entries"].items():
        ci = row["ci"]["score"]
        benign = row.get("benign") or {}
        table.add_row(entry, str(row["n"]), _num(row.get("clean_score")), _num(row["score"]),
                      f"[{ci[0]:.1f}, {ci[1]:.1f}]", _num(row.get("drop")),
                      _num(benign.get("clean")) + (f" (n={benign['n']})" if benign else ""),
                      _num(benign.get("score")))
    return table


def ood(doc: dict) -> Table | None:
    if not doc.get("ood"):
        return None
    table = Table(title="Out of distribution", header_style="bold")
    for col in ("Name", "Task", "n", "Score", "95% CI", "In-distribution", "Change"):
        table.add_column(col, justify="left" if col in ("Name", "Task") else "right")
    for name, row in doc["ood"].items():
        ci = row["ci"]["score"]
        table.add_row(name, row["task"], str(row["n"]), _num(row["score"]),
                      f"[{ci[0]:.1f}, {ci[1]:.1f}]", _num(row.get("in_distribution")),
                      _num(row.get("delta"), signed=True))
    return table


def calibration(doc: dict) -> Table:
    table = Table(title="Calibration and errors (dev)", header_style="bold")
    for col in ("Entry", "n", "ECE", "Brier", "Gold labels", "Predicted labels", "Confusion "
                "(rows gold, columns predicted)"):
        table.add_column(col, justify="right" if col in ("n", "ECE", "Brier") else "left")
    for entry, q in doc["entries"].items():
        if "regression" in q:
            r = q["regression"]
            table.add_row(entry, str(q["n"]), "-", "-", f"mean {r['gold_mean']:.2f} sd "
                          f"{r['gold_sd']:.2f}", f"mean {r['pred_mean']:.2f} sd "
                          f"{r['pred_sd']:.2f}", f"MAE {r['mean_absolute_error']:.2f}")
            continue
        dist = q["label_distribution"]
        table.add_row(entry, str(q["n"]), f"{q['calibration']['ece']:.3f}",
                      f"{q['calibration']['brier']:.3f}",
                      ", ".join(f"{k} {v}" for k, v in dist["gold"].items()),
                      ", ".join(f"{k} {v}" for k, v in dist["predicted"].items()),
                      " / ".join(" ".join(str(c) for c in row) for row in q["confusion"]))
    return table


def power(doc: dict) -> Table:
    p = doc["power"]
    table = Table(title=f"Statistical power: smallest difference each dev set resolves "
                        f"({100 * p['power']:.0f}% power, alpha {p['alpha']})",
                  header_style="bold")
    for col in ("Entry", "n", "Score", "SE", "Min. detectable diff.", "Paired (seed "
                "disagreement)"):
        table.add_column(col, justify="left" if col == "Entry" else "right")
    for entry, row in p["entries"].items():
        paired = row.get("mdd_paired")
        table.add_row(entry, str(row["n"]), _num(row.get("baseline")), _num(row["se"], 2),
                      _num(row["mdd"]),
                      "-" if paired is None else
                      f"{paired:.1f} (d={100 * row['seed_disagreement']:.1f}%)")
    return table


def power_sentences(doc: dict) -> list[str]:
    return [f"{entry} dev (n={row['n']}) cannot resolve differences below {row['mdd']:.1f} "
            f"points (at {row['baseline']:.1f})"
            for entry, row in doc["power"]["entries"].items()]
