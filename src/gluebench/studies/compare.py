"""A study's numbers: each variant against its controls, over seeds and dev examples.

Per variant: the dev score's mean ± sd over seeds; the score of its pooled (seed, example)
predictions with a percentile-bootstrap CI (``stats.bootstrap_ci``); its training time,
examples and steps; its profile (latency, int8). Per (variant, control): the paired
bootstrap CI of the difference and the paired permutation p-value, seed s of one paired
with seed s of the other and their dev examples pooled (``sweep.select.paired_comparison``).
Per variant, its numbers in the papers' units (``retained.measure``): the share of the
reference's score it keeps, with a CI over seeds and examples, and what it cost.
"""

from __future__ import annotations

from gluebench.metrics import compute, task_score
from gluebench.stats import DEFAULT_RESAMPLES, bootstrap_ci
from gluebench.studies.design import StudyDir, variant_id
from gluebench.studies.retained import measure
from gluebench.sweep.select import mean_sd, paired_comparison, pooled_dev
from gluebench.tasks import BENCHMARKS, TASKS
from gluebench.train.rundir import entries_of, task_score_of
from gluebench.tsv import read_json


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


def _variant_row(study_dir: StudyDir, v: dict, keys: dict, records: dict, entry: str,
                 n_resamples: int, seed: int, profiled_seed: int) -> dict:
    ok = {int(s): k for s, k in keys.items()
          if records.get(k, {}).get("status") == "ok"}
    summaries = [records[k]["summary"] for k in ok.values()]
    dev = [task_score_of(s) for s in summaries]
    dev_mean, dev_sd = mean_sd(dev)
    row = {**v, "id": variant_id(v), "entry": entry, "seeds": sorted(ok), "keys": ok,
           "planned": len(keys), "dev": dev, "dev_mean": dev_mean, "dev_sd": dev_sd,
           "train_seconds": mean_sd([s["train"]["seconds"] for s in summaries])[0],
           "train_examples": summaries[0]["train"]["examples"] if summaries else None,
           "steps": summaries[0]["train"]["steps"] if summaries else None,
           "parameters": summaries[0]["parameters"]["total"] if summaries else None,
           "pooled": None, "efficiency": None}
    pooled = pooled_dev(study_dir, ok, entry, sorted(ok)) if ok else None
    if pooled is not None:
        _, gold, pred = pooled
        ci = bootstrap_ci(BENCHMARKS[entry].metrics, gold, pred, n_resamples=n_resamples,
                          seed=seed, name=entry)["score"]
        row["pooled"] = {"n": len(gold), "ci": ci,
                         "score": _pooled_score(entry, gold, pred)}
    if ok:
        row["efficiency"] = _efficiency(study_dir, keys[str(profiled_seed)])
    return row


def _pooled_score(entry: str, gold, pred) -> float:
    metrics = BENCHMARKS[entry].metrics
    return task_score(compute(metrics, gold, pred), metrics)


def analyse(study_dir: StudyDir, *, n_resamples: int = DEFAULT_RESAMPLES,
            seed: int = 0) -> dict:
    """Every variant's row and every (variant, control) test of a study directory."""
    design = study_dir.design()
    records = study_dir.records()
    rows = []
    for v in design["variants"]:
        entry = entries_of(TASKS[v["task"]])[0]
        rows.append(_variant_row(study_dir, v, design["keys"][variant_id(v)], records, entry,
                                 n_resamples, seed, design["seeds"][0]))
    by_id = {r["id"]: r for r in rows}
    tests = []
    for r in rows:
        for name in r["compare_to"]:
            control = by_id.get(f"{r['task']}/{name}")
            if control is None or not r["keys"] or not control["keys"]:
                continue
            test = paired_comparison(study_dir, r["keys"], control["keys"], r["entry"],
                                     n_resamples=n_resamples, seed=seed)
            if test is not None:
                tests.append({"task": r["task"], "entry": r["entry"], "variant": r["name"],
                              "control": name, **test})
    teachers = {t: _efficiency(study_dir, f"teacher-{t}") for t in design["tasks"]} \
        if design["study"] == "distill" else {}
    ours = measure(study_dir, design, rows, teachers, n_resamples=n_resamples, seed=seed)
    return {"design": design, "rows": rows, "tests": tests, "teacher_efficiency": teachers,
            "ours": ours,
            "records": {"ok": sum(x.get("status") == "ok" for x in records.values()),
                        "failed": sum(x.get("status") == "failed" for x in records.values()),
                        "planned": len({k for ks in design["keys"].values()
                                        for k in ks.values()})}}
