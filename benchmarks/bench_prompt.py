"""gluebench prompt vs lm-evaluation-harness: same model, prompts, examples; speed and agreement.

Builds local-file lm-eval tasks from lm-eval's own GLUE YAMLs (only the dataset lines are
changed: ``dataset_path: json`` over JSONL files of the chosen dev examples, and for few-shot
a train file holding exactly gluebench's demonstrations with lm-eval's ``first_n`` sampler),
runs lm-eval's ``simple_evaluate`` and gluebench's predictor on the same loaded model
weights (each tool loads its own copy; load time is excluded from both), and prints
examples/s of both, the ratio, the share of identical per-example predictions, and whether
the prompt strings were identical.

    python benchmarks/bench_prompt.py --data-dir ../shared/data/glue --n 32 --shots 0,5
    python benchmarks/bench_prompt.py --suite superglue --data-dir ../shared/data --n 100

``--suite superglue`` runs the SuperGLUE comparison (``bench_prompt_superglue.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# lm-eval's metric names -> ours (its GLUE YAMLs: CoLA mcc, MRPC acc and f1, the rest acc)
LM_EVAL_METRICS = {"acc": "accuracy", "mcc": "matthews_corrcoef", "f1": "f1"}
LM_EVAL_NAMES = {"CoLA": "cola", "SST-2": "sst2", "MRPC": "mrpc", "QNLI": "qnli",
                 "MNLI": "mnli", "RTE": "rte", "WNLI": "wnli"}


def time_scoring(lm) -> dict:
    """Wrap ``lm.loglikelihood`` so the returned ``{"seconds"}`` sums the time spent scoring."""
    scoring = {"seconds": 0.0}
    loglikelihood = type(lm).loglikelihood

    def timed_loglikelihood(requests, *args, **kwargs):
        begun = time.perf_counter()
        try:
            return loglikelihood(lm, requests, *args, **kwargs)
        finally:
            scoring["seconds"] += time.perf_counter() - begun

    lm.loglikelihood = timed_loglikelihood
    return scoring


def lm_eval_glue() -> Path:
    spec = importlib.util.find_spec("lm_eval")
    return Path(next(iter(spec.submodule_search_locations))) / "tasks" / "glue"


def task_yaml(name: str, folder: Path, shots: int) -> str:
    """lm-eval's GLUE YAML with only its dataset lines pointed at local JSONL files."""
    text = (lm_eval_glue() / name / "default.yaml").read_text()
    files = {"validation": str(folder / f"{name}.jsonl")}
    if shots:
        files["train"] = str(folder / f"{name}_train.jsonl")
    text = re.sub(r"^tag: glue\n", "", text, flags=re.M)
    text = re.sub(r"^task: .*$", f"task: gb_{name}_{shots}shot", text, flags=re.M)
    text = re.sub(r"^dataset_path: .*$", "dataset_path: json", text, flags=re.M)
    text = re.sub(r"^dataset_name: .*$", "dataset_kwargs:\n  data_files: " + json.dumps(files),
                  text, flags=re.M)
    text = re.sub(r"^validation_split: .*$", "validation_split: validation", text, flags=re.M)
    text = re.sub(r"^training_split: .*$", "training_split: train" if shots else "", text,
                  flags=re.M)
    if shots:
        text += "fewshot_split: train\nfewshot_config:\n  sampler: first_n\n"
    return text


def hf_doc(inputs: dict, label) -> dict:
    # our input names are the Hugging Face glue column names; labels are HF ClassLabel ids
    return {**inputs, "label": int(label)}


def prepare(source, task_names, n: int, shots: int, seed: int, folder: Path):
    """Per task: (examples, demos); writes the JSONL files and task YAMLs for lm-eval."""
    from gluebench.benchmark.scoring import evaluation_examples
    from gluebench.benchmark.tasks import BENCHMARKS, TASKS
    from gluebench.lm import fewshot

    chosen = {}
    for name in task_names:
        task = TASKS[name]
        demos = fewshot.draw(source, task, shots, seed)
        examples = evaluation_examples(source, BENCHMARKS["MNLI-m" if name == "MNLI" else name],
                                       "dev")
        if demos and demos["pool"].endswith("/dev"):   # keep the demonstrations out of the eval
            used = {d["index"] for d in demos["shots"]} | {demos["spare"]["index"]}
            examples = examples.take(np.array([i for i in range(len(examples))
                                               if i not in used]))
        examples = examples.subsample(n, seed)
        lm_name = LM_EVAL_NAMES[name]
        docs = [hf_doc({f: examples.inputs[f][i] for f in examples.inputs},
                       examples.labels[i]) for i in range(len(examples))]
        write_jsonl(folder / f"{lm_name}.jsonl", docs)
        if demos:
            write_jsonl(folder / f"{lm_name}_train.jsonl",
                        [hf_doc(d["inputs"], d["choice"]) for d in demos["shots"]])
        (folder / f"gb_{lm_name}_{shots}.yaml").write_text(task_yaml(lm_name, folder, shots))
        if name == "MNLI":
            shutil.copy(lm_eval_glue() / "mnli" / "utils.py", folder / "utils.py")
        chosen[name] = (examples, demos)
    return chosen


def write_jsonl(path: Path, docs: list[dict]) -> None:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))


def run_gluebench(backend, chosen: dict) -> tuple[dict, float, dict]:
    from gluebench.benchmark.tasks import TASKS
    from gluebench.lm.predictor import PromptPredictor
    from gluebench.lm.templates import get_template

    out, requests, started = {}, {}, time.perf_counter()
    for name, (examples, demos) in chosen.items():
        predictor = PromptPredictor(TASKS[name], backend, get_template(TASKS[name]), demos)
        requests[name] = predictor.requests(examples)
        out[name] = (backend.loglikelihoods(requests[name]),
                     [r.context for r in requests[name]], examples.labels)
    return out, time.perf_counter() - started, requests


def run_lm_eval(lm, folder: Path, chosen: dict, shots: int) -> tuple[dict, float]:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    names = [f"gb_{LM_EVAL_NAMES[n]}_{shots}shot" for n in chosen]
    # time lm-eval's scoring alone too: simple_evaluate also builds datasets and tasks,
    # which is fixed overhead that a small --n would otherwise charge to lm-eval
    scoring = time_scoring(lm)
    started = time.perf_counter()
    result = simple_evaluate(model=lm, tasks=names, num_fewshot=shots, log_samples=True,
                             task_manager=TaskManager(include_path=str(folder)),
                             bootstrap_iters=0)
    seconds = time.perf_counter() - started
    del lm.loglikelihood
    out = {}
    for name in chosen:
        samples = sorted(result["samples"][f"gb_{LM_EVAL_NAMES[name]}_{shots}shot"],
                         key=lambda s: s["doc_id"])
        lls = np.array([[float(r[0]) for r in s["filtered_resps"]] for s in samples])
        contexts = [s["arguments"]["gen_args_0"]["arg_0"] if isinstance(s["arguments"], dict)
                    else s["arguments"][0][0] for s in samples]
        metrics = {k.split(",")[0]: float(v) for k, v in
                   result["results"][f"gb_{LM_EVAL_NAMES[name]}_{shots}shot"].items()
                   if k.split(",")[0] in LM_EVAL_METRICS and not k.endswith("_stderr,none")}
        out[name] = (lls, contexts, metrics)
    return out, seconds, scoring["seconds"]


def forward_tokens(backend, requests: dict) -> int:
    """Tokens one forward pass per example must read (context + shared answer prefix): the
    work at 0-shot, where no prefix is shared, so neither tool can avoid any of it."""
    return sum(len(row.tokens) for task_requests in requests.values()
               for row in backend._rows(task_requests))


def flops_per_token(model) -> float:
    """2 x the non-embedding parameters: a forward pass's matmul work per token (attention's
    length-dependent term is left out: 1-3% of the work at 0-shot GLUE lengths)."""
    embeddings = {id(model.get_input_embeddings().weight), id(model.lm_head.weight)}
    return 2.0 * sum(p.numel() for p in model.parameters() if id(p) not in embeddings)


def gemm_ceiling(model, seconds: float = 2.0) -> float:
    """This CPU's fp32 GFLOP/s on the model's own MLP matmul at 1,024 rows: the roof."""
    import torch

    hidden, inner = model.config.hidden_size, model.config.intermediate_size
    x, w = torch.randn(1024, hidden), torch.randn(inner, hidden)
    torch.nn.functional.linear(x, w)
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        torch.nn.functional.linear(x, w)
        runs += 1
    return 2 * 1024 * hidden * inner * runs / (time.perf_counter() - started) / 1e9


def compare(ours: dict, theirs: dict) -> dict:
    """Per task: agreement of predictions, |ll| differences, identical prompts, and lm-eval's
    own metric values beside gluebench's metrics computed from gluebench's predictions."""
    from gluebench.benchmark import metrics

    rows = {}
    for name in ours:
        a, ctx_a, labels = ours[name]
        b, ctx_b, their_metrics = theirs[name]
        # with the lm-eval template our choice order is lm-eval's, i.e. the HF label ids
        ours_metrics = {m: getattr(metrics, LM_EVAL_METRICS[m])(labels, a.argmax(1))
                        for m in their_metrics}
        rows[name] = {"n": len(a), "agree": int((a.argmax(1) == b.argmax(1)).sum()),
                      "max_abs_ll_diff": float(np.abs(a - b).max()),
                      # how near the nearest tie was: flips need |ll diff| above this
                      "min_margin": float(np.diff(np.sort(b, 1)[:, -2:], axis=1).min()),
                      "same_prompts": sum(x == y for x, y in zip(ctx_a, ctx_b, strict=True)),
                      "lm_eval_metrics": their_metrics, "gluebench_metrics": ours_metrics,
                      "max_abs_metric_diff": max(abs(ours_metrics[m] - their_metrics[m])
                                                 for m in their_metrics)}
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="../shared/data/glue")
    p.add_argument("--tasks", default=",".join(LM_EVAL_NAMES))
    p.add_argument("--n", type=int, default=32, help="dev examples per task")
    p.add_argument("--shots", default="0,5")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lm-eval-batch-size", default="1", help="lm-eval's --batch_size "
                   "(its default, 1, is also its fastest on a CPU: 8, 16 and 32 pad more)")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--suite", choices=("glue", "superglue"), default="glue",
                   help="superglue: SuperGLUE's eight tasks (--data-dir: the folder holding "
                        "superglue/ and fewglue/; --tasks: a subset of them; 0-shot)")
    args = p.parse_args(argv)
    if args.suite == "superglue":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_prompt_superglue

        if args.data_dir.rstrip("/").endswith("/glue"):
            args.data_dir = str(Path(args.data_dir).parent)
        if args.tasks == ",".join(LM_EVAL_NAMES):
            args.tasks = None
        return bench_prompt_superglue.main(args)

    import torch
    from lm_eval.models.huggingface import HFLM

    from gluebench.benchmark.sources import open_source
    from gluebench.lm.hf_backend import HFBackend, embedded_model

    source = open_source(args.data_dir)
    ref = embedded_model()
    backend = HFBackend(ref, "cpu")
    lm = HFLM(pretrained=ref.path, gguf_file=ref.gguf_file, dtype="float32", device="cpu",
              batch_size=args.lm_eval_batch_size)
    report = {"model": ref.description, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "lm_eval_batch_size": args.lm_eval_batch_size,
              "settings": {}, "fp32_gemm_ceiling_gflops": gemm_ceiling(backend.model)}
    per_token = flops_per_token(backend.model)
    print(f"fp32 matmul ceiling of this CPU at the model's MLP shape: "
          f"{report['fp32_gemm_ceiling_gflops']:.0f} GFLOP/s", flush=True)
    for shots in [int(s) for s in args.shots.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            chosen = prepare(source, args.tasks.split(","), args.n, shots, args.seed, Path(tmp))
            n = sum(len(e) for e, _ in chosen.values())
            theirs, t_whole, t_theirs = run_lm_eval(lm, Path(tmp), chosen, shots)
            ours, t_ours, requests = run_gluebench(backend, chosen)
        rows = compare(ours, theirs)
        tokens = forward_tokens(backend, requests)
        agree = sum(r["agree"] for r in rows.values()) / n
        same = sum(r["same_prompts"] for r in rows.values())
        report["settings"][f"{shots}-shot"] = {
            "examples": n, "gluebench_seconds": t_ours, "lm_eval_seconds": t_theirs,
            "lm_eval_simple_evaluate_seconds": t_whole,
            "gluebench_examples_per_second": n / t_ours,
            "lm_eval_examples_per_second": n / t_theirs, "ratio": t_theirs / t_ours,
            "agreement": agree, "identical_prompts": same, "per_task": rows,
            "forward_tokens": tokens,
            # the work one forward pass per example needs, over each tool's time: at 0-shot
            # the same for both, so this over the ceiling is how much of the machine each uses
            "gluebench_work_gflops": tokens * per_token / t_ours / 1e9,
            "lm_eval_work_gflops": tokens * per_token / t_theirs / 1e9}
        print(f"{shots}-shot, {n} examples ({', '.join(chosen)}): gluebench {n / t_ours:.2f} "
              f"ex/s, lm-eval {n / t_theirs:.2f} ex/s (scoring only; {n / t_whole:.2f} with "
              f"simple_evaluate's set-up), ratio {t_theirs / t_ours:.2f}x; "
              f"agreement {100 * agree:.2f}% ({n - round(agree * n)} differ); identical prompts "
              f"{same}/{n}; max |ll diff| "
              f"{max(r['max_abs_ll_diff'] for r in rows.values()):.2e}; max |metric diff| "
              f"{max(r['max_abs_metric_diff'] for r in rows.values()):.1e}", flush=True)
        print(f"  work (one forward pass per example, {tokens} tokens): gluebench "
              f"{tokens * per_token / t_ours / 1e9:.0f} GFLOP/s, lm-eval "
              f"{tokens * per_token / t_theirs / 1e9:.0f} GFLOP/s", flush=True)
        for name, r in rows.items():
            print(f"  {name}: n={r['n']} agree={r['agree']} nearest tie "
                  f"{r['min_margin']:.1e} " + " ".join(
                f"{m} lm-eval={v:.4f} gluebench={r['gluebench_metrics'][m]:.4f}"
                for m, v in r["lm_eval_metrics"].items()), flush=True)
    settings = report["settings"].values()
    n = sum(s["examples"] for s in settings)
    ours, theirs = (sum(s[k] for s in settings) for k in ("gluebench_seconds", "lm_eval_seconds"))
    agree = sum(s["agreement"] * s["examples"] for s in settings) / n
    report["all_settings"] = {"examples": n, "gluebench_seconds": ours, "lm_eval_seconds": theirs,
                              "ratio": theirs / ours, "agreement": agree}
    print(f"all settings, {n} examples: gluebench {n / ours:.2f} ex/s, lm-eval {n / theirs:.2f} "
          f"ex/s, ratio {theirs / ours:.2f}x; agreement {100 * agree:.2f}%", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
