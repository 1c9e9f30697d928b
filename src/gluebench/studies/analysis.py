"""A study's numbers: each variant against its controls, over seeds and dev examples.

Per variant and entry (``sweep.select.compared_entries``: MNLI-m and MNLI-mm, not AX): the
dev score's mean ± sd over seeds with its seed-aware CI (``seed_stats.seed_interval``: the
examples' variance plus the seeds' beyond it); its training time, examples and steps;
its profile (latency, int8). Per (variant, control, entry): the seed-aware test of the
difference (``sweep.select.paired_comparison``), its p-value Holm-adjusted across every test
of the study (``p_holm``).
Per variant, its numbers in the papers' units (``retained.measure``): the share of the
reference's score it keeps, with a CI over seeds and examples, and what it cost.
"""

from __future__ import annotations

from gluebench.benchmark.grouped_seed_stats import grouped_seed_interval
from gluebench.benchmark.seed_stats import mean_sd, seed_interval
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.formats.atomic import read_json
from gluebench.studies.design import StudyDir, variant_id
from gluebench.studies.retained import measure
from gluebench.sweep.select import (
    compared_entries,
    holm_adjust,
    paired_comparison,
    seed_dev,
    seed_dev_rows,
    seed_items,
)


def _efficiency(study_dir: StudyDir, name: str) -> dict | None:
    path = study_dir.efficiency_path(name)
    if not path.is_file():
        return None
    doc = read_json(path)
    rows = {v["name"]: v for v in doc["variants"] if "skipped" not in v}
    fp32, int8 = rows.get("fp32"), rows.get("int8-dynamic")
    return {"parameters": doc["parameters"]["total"], "examples": doc["examples"],
            "latency_ms": fp32 and fp32["latency_ms_p50"],
            "examples_per_second": fp32 and fp32["examples_per_second"],
            "score": fp32 and fp32["score"], "size_bytes": fp32 and fp32["size_bytes"],
            "int8": None if int8 is None else {
                "score": int8["score"], "latency_ms": int8["latency_ms_p50"],
                "examples_per_second": int8["examples_per_second"],
                "size_bytes": int8["size_bytes"], "agreement": int8["agreement"]}}


def _variant_row(study_dir: StudyDir, v: dict, keys: dict, records: dict, n_resamples: int,
                 seed: int, profiled_seed: int) -> dict:
    ok = {int(s): k for s, k in keys.items()
          if records.get(k, {}).get("status") == "ok"}
    summaries = [records[k]["summary"] for k in ok.values()]
    view = study_dir.view()
    dev = [view.task_score(s) for s in summaries]
    dev_mean, dev_sd = mean_sd(dev)
    entries = compared_entries(v["task"], view)
    intervals = {e: _interval(study_dir, ok, e, n_resamples, seed) for e in entries} \
        if ok else {}
    row = {**v, "id": variant_id(v), "entry": entries[0], "seeds": sorted(ok), "keys": ok,
           "planned": len(keys), "dev": dev, "dev_mean": dev_mean, "dev_sd": dev_sd,
           "train_seconds": mean_sd([s["train"]["seconds"] for s in summaries])[0],
           "train_examples": summaries[0]["train"]["examples"] if summaries else None,
           "steps": summaries[0]["train"]["steps"] if summaries else None,
           "parameters": summaries[0]["parameters"]["total"] if summaries else None,
           "interval": intervals.get(entries[0]),
           "intervals": {e: i for e, i in intervals.items() if i is not None},
           "efficiency": None}
    if ok:
        row["efficiency"] = _efficiency(study_dir, keys[str(profiled_seed)])
    return row


def _interval(study_dir: StudyDir, keys: dict, entry: str, n_resamples: int,
              seed: int) -> dict | None:
    """The entry's dev score, mean over seeds, with its seed-aware 95% CI (None: no outputs)."""
    view = study_dir.view()
    if view.is_glue:
        found = seed_dev(study_dir, keys, entry)
        if found is None:
            return None
        _, gold, preds = found
        return seed_interval(view.metrics(entry), gold, preds, n_resamples=n_resamples,
                             seed=seed, name=entry)["score"]
    found = seed_dev_rows(study_dir, keys, entry)
    if found is None:
        return None
    index, gold, preds = found
    return grouped_seed_interval(view.metrics(entry),
                                 seed_items(study_dir, view, entry, index, gold, preds),
                                 resample=view.resample(entry), n_resamples=n_resamples,
                                 seed=seed, name=entry)["score"]


def analyse(study_dir: StudyDir, *, n_resamples: int = DEFAULT_RESAMPLES,
            seed: int = 0) -> dict:
    """Every variant's row and every (variant, control, entry) test of a study directory."""
    design = study_dir.design()
    records = study_dir.records()
    rows = [_variant_row(study_dir, v, design["keys"][variant_id(v)], records, n_resamples,
                         seed, design["seeds"][0]) for v in design["variants"]]
    teachers = {t: _efficiency(study_dir, f"teacher-{t}") for t in design["tasks"]} \
        if design["study"] == "distill" else {}
    ours = measure(study_dir, design, rows, teachers, n_resamples=n_resamples, seed=seed)
    return {"design": design, "rows": rows, "tests": _tests(study_dir, rows, n_resamples, seed),
            "teacher_efficiency": teachers, "ours": ours,
            "records": {"ok": sum(x.get("status") == "ok" for x in records.values()),
                        "failed": sum(x.get("status") == "failed" for x in records.values()),
                        "planned": len({k for ks in design["keys"].values()
                                        for k in ks.values()})}}


def _tests(study_dir: StudyDir, rows: list[dict], n_resamples: int, seed: int) -> list[dict]:
    """Each variant against each of its controls on every compared entry, Holm-adjusted."""
    by_id = {r["id"]: r for r in rows}
    tests, view = [], study_dir.view()
    for r in rows:
        for name in r["compare_to"]:
            control = by_id.get(f"{r['task']}/{name}")
            if control is None or not r["keys"] or not control["keys"]:
                continue
            for entry in compared_entries(r["task"], view):
                test = paired_comparison(study_dir, r["keys"], control["keys"], entry,
                                         n_resamples=n_resamples, seed=seed)
                if test is not None:
                    tests.append({"task": r["task"], "entry": entry, "variant": r["name"],
                                  "control": name, **test})
    return holm_adjust(tests)
