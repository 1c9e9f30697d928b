"""``bench_prompt.py --suite superglue``: gluebench and lm-evaluation-harness on SuperGLUE.

The same model (the embedded SmolLM2-135M, fp32 on the CPU; each tool loads its own copy,
load time excluded), the same rows (SuperGLUE val: the first ``--n`` rows per task, MultiRC
extended to whole questions; ReCoRD: FewGLUE's train + dev32 rows, since ReCoRD's val file
is not here), 0-shot, lm-eval's default templates. lm-eval runs its own ``super_glue``
YAMLs with only the dataset lines changed (``superglue_lm_eval.write_tasks``) through
``simple_evaluate``; its time is its ``loglikelihood`` call alone (set-up excluded, which
favours it). Printed per task: agreement (identical chosen continuations), gluebench's
score with the suite's metrics, lm-eval's own metric values (its MultiRC ``acc`` is
inverted: its gold for a correct answer is "... no"), examples/s of both and the ratio,
and the SuperGLUE score of gluebench's predictions (lm-eval has no aggregate).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import superglue_lm_eval as sle  # noqa: E402  (a sibling script module)
from bench_prompt import time_scoring  # noqa: E402  (its lm-eval scoring timer)

from gluebench.benchmark.table import ExampleTable  # noqa: E402

TASKS = ("BoolQ", "CB", "COPA", "MultiRC", "ReCoRD", "RTE", "WiC", "WSC")


def rows(table: ExampleTable, keep: np.ndarray) -> ExampleTable:
    return ExampleTable(table.task, table.split, table.source, table.ids[keep],
                        {k: [v[i] for i in keep] for k, v in table.inputs.items()},
                        None if table.labels is None else table.labels[keep],
                        None if table.answers is None else [table.answers[i] for i in keep],
                        {k: v[keep] for k, v in table.groups.items()})


def concat(a: ExampleTable, b: ExampleTable) -> ExampleTable:
    return ExampleTable(a.task, a.split, f"{a.source} + {b.source}",
                        np.concatenate([a.ids, b.ids]),
                        {k: list(a.inputs[k]) + list(b.inputs[k]) for k in a.inputs},
                        None, list(a.answers) + list(b.answers),
                        {k: np.concatenate([a.groups[k], b.groups[k]]) for k in a.groups})


def first_rows(table: ExampleTable, n: int) -> ExampleTable:
    """The first ``n`` rows (all if fewer); MultiRC up to the end of the n-th row's question."""
    n = min(n, len(table))
    if "question" in table.groups and n < len(table):
        question = table.groups["question"]
        while n < len(table) and question[n] == question[n - 1]:
            n += 1
    return rows(table, np.arange(n))


def chosen_tables(data_dir: str, n: int) -> dict[str, ExampleTable]:
    from gluebench.benchmark.split_reader import load_split
    from gluebench.benchmark.suite_loader import load_suite

    superglue, fewglue = load_suite("superglue"), load_suite("fewglue")
    out = {t: first_rows(load_split(superglue, superglue.tasks[t], "dev", data_dir), n)
           for t in TASKS if t != "ReCoRD"}
    record = [load_split(fewglue, fewglue.tasks["ReCoRD"], k, data_dir)
              for k in ("train", "dev32")]
    out["ReCoRD"] = first_rows(concat(*record), n)
    return {t: out[t] for t in TASKS}


def run_gluebench(backend, tables: dict) -> tuple[dict, float]:
    from gluebench.lm.suite_predictor import SuitePromptPredictor
    from gluebench.lm.suite_templates import get_suite_template

    out, started = {}, time.perf_counter()
    for name, table in tables.items():
        predictor = SuitePromptPredictor(table.task, backend, get_suite_template(table.task))
        out[name] = predictor.predict(table)
    return out, time.perf_counter() - started


def run_lm_eval(lm, folder: Path, tables: dict) -> tuple[dict, float, float]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    names = sle.write_tasks(tables, folder)
    sle.squad_metrics_shim()
    scoring = time_scoring(lm)
    started = time.perf_counter()
    result = simple_evaluate(model=lm, tasks=list(names.values()), num_fewshot=0,
                             log_samples=True, bootstrap_iters=0,
                             task_manager=TaskManager(include_path=str(folder)))
    whole = time.perf_counter() - started
    del lm.loglikelihood
    out = {}
    for task, lm_name in names.items():
        samples = sorted(result["samples"][lm_name], key=lambda s: s["doc_id"])
        lls = [np.array([float(r[0]) for r in s["filtered_resps"]]) for s in samples]
        metrics = {k.split(",")[0]: float(v) for k, v in result["results"][lm_name].items()
                   if "," in k and not k.split(",")[0].endswith("_stderr")
                   and isinstance(v, (int, float))}
        out[task] = (lls, metrics)
    return out, scoring["seconds"], whole


def compare(suite, tables: dict, ours: dict, theirs: dict) -> dict:
    from gluebench.benchmark.suite_scoring import score_entry

    per_task = {}
    for name, table in tables.items():
        pred, (lls, metrics) = ours[name], theirs[name]
        their_choice = np.array([int(np.argmax(s)) for s in lls])
        diffs = [float(np.abs(a - b).max()) for a, b in zip(pred.scores, lls, strict=True)]
        margins = [float(np.diff(np.sort(s)[-2:])[0]) for s in lls if len(s) > 1]
        scored = score_entry(suite.entries[name], table, pred.values, n_resamples=200)
        per_task[name] = {
            "n": len(table), "agree": int((pred.chosen == their_choice).sum()),
            "max_abs_ll_diff": max(diffs), "nearest_tie": min(margins),
            "score": scored["score"],
            "metrics": {m: scored[m] for m in suite.entries[name].metrics},
            "lm_eval_metrics": metrics}
    return per_task


def main(args) -> int:
    import torch
    from lm_eval.models.huggingface import HFLM

    from gluebench.benchmark.suite_loader import load_suite
    from gluebench.benchmark.suite_scoring import suite_score
    from gluebench.lm.hf_backend import HFBackend, embedded_model

    suite = load_suite("superglue")
    tables = chosen_tables(args.data_dir, args.n)
    if args.tasks:
        tables = {t: tables[t] for t in args.tasks.split(",")}
    ref = embedded_model()
    backend = HFBackend(ref, "cpu")
    lm = HFLM(pretrained=ref.path, gguf_file=ref.gguf_file, dtype="float32", device="cpu",
              batch_size=args.lm_eval_batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        theirs, t_theirs, t_whole = run_lm_eval(lm, Path(tmp), tables)
    ours, t_ours = run_gluebench(backend, tables)
    per_task = compare(suite, tables, ours, theirs)
    n = sum(r["n"] for r in per_task.values())
    agree = sum(r["agree"] for r in per_task.values())
    score = suite_score(suite, per_task)
    report = {"model": ref.description, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "lm_eval_batch_size": args.lm_eval_batch_size,
              "examples": n, "agreement": agree / n, "gluebench_seconds": t_ours,
              "lm_eval_seconds": t_theirs, "lm_eval_simple_evaluate_seconds": t_whole,
              "gluebench_examples_per_second": n / t_ours,
              "lm_eval_examples_per_second": n / t_theirs, "ratio": t_theirs / t_ours,
              "per_task": per_task, "superglue": score}
    for name, r in per_task.items():
        theirs_text = " ".join(f"{k}={v:.4f}" for k, v in r["lm_eval_metrics"].items())
        print(f"  {name}: n={r['n']} agree={r['agree']} ({100 * r['agree'] / r['n']:.1f}%) "
              f"max |ll diff| {r['max_abs_ll_diff']:.1e} nearest tie {r['nearest_tie']:.1e}; "
              f"gluebench score {r['score']:.1f} "
              + " ".join(f"{k}={v:.4f}" for k, v in r["metrics"].items())
              + f"; lm-eval {theirs_text}" + (" (inverted gold)" if name == "MultiRC" else ""),
              flush=True)
    total = score["superglue_score"] if score["superglue_score"] is not None \
        else score["partial_average"]
    print(f"0-shot, {n} examples: gluebench {n / t_ours:.2f} ex/s, lm-eval {n / t_theirs:.2f} "
          f"ex/s (scoring only; {n / t_whole:.2f} with simple_evaluate's set-up), ratio "
          f"{t_theirs / t_ours:.2f}x; agreement {100 * agree / n:.2f}% ({n - agree} differ); "
          f"SuperGLUE score (gluebench, lm-eval templates) {total:.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=float))
    return 0
