"""A paper's claim beside our numbers: compared like with like, or "not comparable: why".

Two numbers are compared only when they mean the same thing: the claim was measured on
GLUE, its share is of the same kind of reference as ours (the teacher, the unpruned model,
the model trained on all the data), and its outcome and cost are in units the study
measures (``papers.UNITS``; a number whose unit the paper leaves unstated is never
compared). Our number then stands against the claim with its 95% CI: at or above it,
below it, or the claim inside our interval, at the paper's cost or at a cost that still
settles the question (a larger cut that meets the claim, a smaller one that falls short).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gluebench.studies.papers import COST_UNITS, UNITS, Claim, Number

COST_TOLERANCE = 0.005      # two shares kept this close are the same cost
# Why a unit the study does not measure is missing, where we know.
MISSING = {"transformer parameters kept": "we count all parameters (embeddings and head "
                                          "included)",
           "GLUE score": "it scores single tasks, not the GLUE average",
           "speed-up": "no latency was profiled",
           "inference time saved": "no latency was profiled"}


@dataclass
class Comparison:
    comparable: bool
    reasons: list[str] = field(default_factory=list)   # why not, when not
    lines: list[str] = field(default_factory=list)     # "TASK variant: ours → verdict"


def measured_units(ours: dict) -> set[str]:
    return {unit for variants in ours["tasks"].values() for units in variants.values()
            for unit in units}


def _unstated(number: Number, where: str) -> str:
    return f"the {where} does not say what “{number.text}” counts" + (
        f" ({number.reading})" if number.reading else "")


def why_not(claim: Claim, units: set[str], reference: dict) -> list[str]:
    """Every reason the claim and our numbers are not like with like (empty: comparable)."""
    if claim.outcome is None:
        return ["the claim states no number"] + (
            [] if claim.on_glue else [f"measured on {claim.benchmark}, ours on GLUE"])
    out = [] if claim.on_glue else [f"measured on {claim.benchmark}, ours on GLUE"]
    if claim.reference is not None and claim.reference.kind != reference["kind"]:
        out.append(f"the paper's reference is {claim.reference.name}, ours {reference['name']}")
    for number in (n for n in (claim.outcome, claim.at) if n is not None):
        if number.unit == "unstated":
            out.append(_unstated(number, claim.where))
        elif number.unit not in units:
            out.append(f"the paper's “{number.text}” is a {UNITS[number.unit]}; the study "
                       "measures none" + (f": {MISSING[number.unit]}" if number.unit in MISSING
                                          else ""))
    return out


def fmt_measure(unit: str, m: dict | None, reference: str) -> str:
    """One of our numbers in words: "96.1% [93.0, 99.0] of the teacher's score"."""
    if m is None or m["value"] is None:
        return f"{UNITS[unit]}: not defined" + (f" ({m['why']})" if m and m.get("why") else "")
    ci = m.get("ci")
    if unit == "speed-up":
        return f"{m['value']:.2f}× faster than {reference}"
    interval = f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else ""
    interval += f" ({m['why']})" if m.get("why") else ""
    what = {"score kept": f"of the score of {reference}", "parameters kept": "of its parameters",
            "layers kept": "of its layers", "training data kept": "of the training data",
            "training time saved": "less fine-tuning time",
            "inference time saved": "less inference time"}.get(unit, UNITS[unit])
    return f"{100 * m['value']:.1f}%{interval} {what}"


def _side(value: float, ci, claimed: float) -> str:
    lo, hi = ci if ci else (value, value)
    return "above" if lo >= claimed else "below" if hi < claimed else "inside"


def _cost(claim: Claim, units: dict) -> str:
    """Our cost against the paper's: "same", "larger cut" or "smaller cut"."""
    if claim.at is None:
        return "same"
    ours = units[claim.at.unit]["value"]
    if abs(ours - claim.at.value) <= COST_TOLERANCE:
        return "same"
    lower_is_larger_cut = claim.at.unit in COST_UNITS
    return "larger cut" if (ours < claim.at.value) == lower_is_larger_cut else "smaller cut"


def verdict(claim: Claim, units: dict) -> str:
    """Where our number stands against the claim's (units already known to agree)."""
    m = units[claim.outcome.unit]
    if m is None or m["value"] is None:
        return "not settled: our number is not defined"
    side, cost = _side(m["value"], m.get("ci"), claim.outcome.value), _cost(claim, units)
    best = claim.outcome.bound == "up to"
    what = "the paper's best case" if best else "the claim"
    exact = "" if m.get("ci") else " (no CI)"
    if cost == "same" or (cost == "larger cut" and side == "above") or (
            cost == "smaller cut" and side == "below"):
        at = {"same": "", "larger cut": " at a larger cut",
              "smaller cut": " even at a smaller cut"}[cost]
        return {"above": f"{'reaches' if best else 'meets'} {what}{at}",
                "below": f"below {what}{at}",
                "inside": f"{what} is inside our 95% CI"}[side] + exact
    paper = f"{100 * claim.at.value:.1f}%" if claim.at.unit != "speed-up" else \
        f"{claim.at.value:.2f}×"
    return f"not settled: we make a {cost} than the paper ({claim.at.text} = {paper}) " + \
        {"above": "and meet it", "below": "and fall short", "inside": "and are inside it"}[side]


def _line(claim: Claim, units: dict, reference: str) -> str:
    parts = [fmt_measure(claim.outcome.unit, units.get(claim.outcome.unit), reference)]
    if claim.at is not None:
        parts.append("at " + fmt_measure(claim.at.unit, units.get(claim.at.unit), reference))
    return " ".join(parts) + " → " + verdict(claim, units)


def compare(claim: Claim, ours: dict) -> Comparison:
    """``claim`` against ``retained.measure``'s numbers: the reasons it cannot be compared,
    or one line per task and variant with our number and its verdict."""
    reasons = why_not(claim, measured_units(ours), ours["reference"])
    if reasons:
        return Comparison(False, reasons)
    lines = []
    for task, variants in ours["tasks"].items():
        for name, units in variants.items():
            needed = [n.unit for n in (claim.outcome, claim.at) if n is not None]
            if all(units.get(u) is not None for u in needed):
                lines.append(f"{task} {name}: " + _line(claim, units,
                                                       ours["reference"]["name"]))
    return Comparison(True, [], lines)
