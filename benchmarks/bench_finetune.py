"""How fast does gluebench fine-tune? gluebench's engine vs Hugging Face ``Trainer`` as run_glue.py
sets it up, on the same model, data, hyperparameters and seed, in one invocation.

Both sides fine-tune the same model (default: the embedded all-MiniLM-L6-v2) on the same seeded
training subsample, then predict the task's dev set (the first leaderboard entry: MNLI -> MNLI-m)
and score it with the same gluebench metric functions. Each side runs in its own child process,
so its peak memory (RSS on a CPU, ``torch.cuda.max_memory_allocated`` on a GPU) is its own.

What differs is the engine, which is what is measured:

* Trainer (run_glue.py's defaults): every example padded to max_seq_length (128,
  ``pad_to_max_length=True``), a shuffled sampler, AdamW with linear decay, no warmup and no weight
  decay (run_glue's defaults; gluebench's recipe uses 10% warmup and weight decay 0.01: that
  changes the dev metric a little, not the speed), bf16 autocast on a GPU, inference batches of
  256 (run_glue's default is 8; 256 is kinder to Trainer).
* gluebench: each batch padded only to its longest example, training batches grouped by length,
  inference batches length-sorted and sized by a token budget, SDPA attention; on a GPU, bf16
  autocast in training and bf16 weights in inference.

Timings: train = the ``trainer.train()`` / ``loop.train()`` call (perf_counter, optimizer setup
included on both sides); inference = ``trainer.predict()`` / ``loop.timed_predict()``; wall =
everything a side does after torch is imported and the data loaded (transformers/datasets
imports, tokenisation, model loading, training, inference). gluebench tokenises into an empty
feature cache (first-run cost), so its cache never carries over between runs. With
``--infer-examples N`` inference is also timed over N training examples (e.g. all 67k SST-2
sentences on a GPU) and that becomes the inference figure.

    python benchmarks/bench_finetune.py --task RTE --device cpu --max-train-examples 32

The last line printed is ``speedup_train=X.XX speedup_infer=Y.YY`` (gluebench / Trainer).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import gluebench
from gluebench import metrics
from gluebench.data import Examples, open_source
from gluebench.efficiency.profile import cpu_name
from gluebench.scoring import evaluation_examples
from gluebench.tasks import BENCHMARKS, get_task
from gluebench.tsv import write_json

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared/data/glue"
MAX_SEQ_LENGTH = 128
TRAINER_EVAL_BATCH = 256
DATA_SEED = 0  # seed of the training subsample (gluebench's default data_seed)
SIDES = ("gluebench", "trainer")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, help="GLUE task, e.g. RTE, SST-2, STS-B, MNLI")
    ap.add_argument("--device", choices=("cpu", "cuda"), required=True,
                    help="where both sides run (names the results file)")
    ap.add_argument("--max-train-examples", type=int, default=None,
                    help="train on a seeded subsample of this many examples (default: all)")
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA), help="GLUE data folder")
    ap.add_argument("--model", default=None,
                    help="model folder or hub name (default: the embedded all-MiniLM-L6-v2)")
    ap.add_argument("--epochs", type=float, default=1.0,
                    help="passes over the training data (default 1: speed is the point)")
    ap.add_argument("--learning-rate", type=float, default=1e-4,
                    help="peak learning rate (default 1e-4: gluebench's for MiniLM's width)")
    ap.add_argument("--batch-size", type=int, default=32, help="training batch size")
    ap.add_argument("--seed", type=int, default=1, help="training seed (both sides)")
    ap.add_argument("--infer-examples", type=int, default=None,
                    help="also time inference over this many training examples and report it "
                         "as the inference figure (default: the dev set)")
    ap.add_argument("--out", default=str(REPO / "benchmarks/results"),
                    help="folder for <device>-<task>.json")
    ap.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--result-file", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


# ---- shared: data, scores, memory -------------------------------------------------------------

def load_data(args) -> dict:
    """Task, leaderboard entry, train subsample, dev set and (optionally) the inference set."""
    source = open_source(args.data_dir)
    task = get_task(args.task)
    benchmark = next(b for b in BENCHMARKS.values() if b.task == task.name)
    full_train = source.load(task, "train")
    data = {"task": task, "benchmark": benchmark,
            "train": full_train.subsample(args.max_train_examples, seed=DATA_SEED),
            "dev": evaluation_examples(source, benchmark, "dev")}
    if args.infer_examples:
        data["infer"] = full_train.subsample(args.infer_examples, seed=DATA_SEED)
    return data


def predictions(logits: np.ndarray, regression: bool) -> np.ndarray:
    return logits[:, 0] if regression else logits.argmax(axis=1)


def dev_scores(benchmark, gold: Examples, preds: np.ndarray) -> dict:
    values = metrics.compute(benchmark.metrics, gold.labels, preds)
    return {"metrics": {m: 100.0 * v for m, v in values.items()},
            "score": metrics.task_score(values, benchmark.metrics)}


def peak_memory(device: str) -> dict:
    """Peak memory of this process in MiB: RSS (KiB on Linux), and on a GPU what torch allocated."""
    import torch

    out = {"rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device == "cuda":
        out["cuda_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
        out["cuda_reserved_mib"] = torch.cuda.max_memory_reserved() / 2**20
    out["peak_mib"] = out["cuda_allocated_mib"] if device == "cuda" else out["rss_mib"]
    return out


def throughput(n: int, seconds: float) -> dict:
    return {"examples": n, "seconds": seconds, "examples_per_s": n / seconds if seconds else 0.0}


def synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


# ---- gluebench side ---------------------------------------------------------------------------

def run_gluebench(args, data: dict) -> dict:
    import torch

    from gluebench.models import hf
    from gluebench.train import features, loop
    from gluebench.train.config import build_config
    from gluebench.train.methods import apply_method

    task, train, dev = data["task"], data["train"], data["dev"]
    out: dict = {"tokenise_seconds": 0.0}
    config = build_config(learning_rate=args.learning_rate, epochs=args.epochs,
                          batch_size=args.batch_size, max_seq_length=MAX_SEQ_LENGTH,
                          device=args.device)
    engine = loop.Engine.choose(config)
    out["engine"] = engine.describe()
    out["recipe"] = {k: getattr(config, k) for k in ("warmup_ratio", "weight_decay", "schedule",
                                                     "max_grad_norm", "length_grouping")}

    t0 = time.perf_counter()
    ref = hf.resolve_model(args.model)
    tokenizer = hf.load_tokenizer(ref)
    torch.manual_seed(args.seed)
    model, new = hf.load_classifier(ref, 1 if task.is_regression else len(task.labels), task=task)
    model = apply_method(model, "full", new, config)
    out["load_seconds"] = time.perf_counter() - t0

    def encode(examples: Examples):
        t0 = time.perf_counter()
        encoded = features.encode(tokenizer, examples, MAX_SEQ_LENGTH)
        out["tokenise_seconds"] += time.perf_counter() - t0
        return encoded

    enc_train = encode(train)
    t0 = time.perf_counter()
    stats = loop.train(model, enc_train, train.labels, config, engine, seed=args.seed,
                       learning_rate=args.learning_rate, epochs=args.epochs)
    synchronize(args.device)
    out["train"] = throughput(round(len(train) * args.epochs), time.perf_counter() - t0)
    out["train"].update(loop_seconds=stats.seconds, examples_seen=stats.examples_seen,
                        steps=stats.steps, final_batch_loss=stats.final_loss)

    logits, seconds = loop.timed_predict(model, encode(dev), config, engine)
    out["infer_dev"] = throughput(len(dev), seconds)
    out["dev"] = dev_scores(data["benchmark"], dev, predictions(logits, task.is_regression))
    if "infer" in data:
        _, seconds = loop.timed_predict(model, encode(data["infer"]), config, engine)
        out["infer_train"] = throughput(len(data["infer"]), seconds)
    return out


# ---- Trainer side (run_glue.py) ---------------------------------------------------------------

def hf_dataset(tokenizer, examples: Examples, regression: bool, with_labels: bool):
    """A ``datasets.Dataset`` tokenised as run_glue.py does (padded to max_seq_length)."""
    from datasets import Dataset

    columns = dict(examples.inputs)
    if with_labels:
        columns["label"] = examples.labels.astype(np.float64 if regression else np.int64).tolist()
    fields = examples.task.input_fields

    def preprocess(batch):
        return tokenizer(*(batch[f] for f in fields), padding="max_length",
                         max_length=MAX_SEQ_LENGTH, truncation=True)

    return Dataset.from_dict(columns).map(preprocess, batched=True)


def _plain(value) -> str:
    """An enum setting as its plain value ("linear", not "SchedulerType.LINEAR")."""
    return str(getattr(value, "value", value))


def run_trainer(args, data: dict) -> dict:
    import datasets
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    from gluebench.models import hf

    datasets.disable_progress_bars()
    task, train, dev = data["task"], data["train"], data["dev"]
    regression = task.is_regression
    out: dict = {"tokenise_seconds": 0.0}

    t0 = time.perf_counter()
    model_path = hf.resolve_model(args.model).path
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    set_seed(args.seed)  # run_glue seeds before loading the model (the new head's init)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path, num_labels=1 if regression else len(task.labels))
    out["load_seconds"] = time.perf_counter() - t0

    def tokenise(examples: Examples, with_labels: bool):
        t0 = time.perf_counter()
        dataset = hf_dataset(tokenizer, examples, regression, with_labels)
        out["tokenise_seconds"] += time.perf_counter() - t0
        return dataset

    train_set = tokenise(train, with_labels=True)
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        training_args = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=TRAINER_EVAL_BATCH, learning_rate=args.learning_rate,
            num_train_epochs=args.epochs, bf16=args.device == "cuda", seed=args.seed,
            report_to=[], save_strategy="no", logging_strategy="no", eval_strategy="no",
            dataloader_num_workers=0, use_cpu=args.device == "cpu", disable_tqdm=True)
        out["recipe"] = {"warmup_steps": training_args.warmup_steps,
                         "weight_decay": training_args.weight_decay,
                         "schedule": _plain(training_args.lr_scheduler_type),
                         "max_grad_norm": training_args.max_grad_norm,
                         "optim": _plain(training_args.optim)}
        trainer = Trainer(model=model, args=training_args, train_dataset=train_set,
                          processing_class=tokenizer, data_collator=default_data_collator)
        t0 = time.perf_counter()
        result = trainer.train()
        synchronize(args.device)
        out["train"] = throughput(round(len(train) * args.epochs), time.perf_counter() - t0)
        out["train"].update(steps=result.global_step, mean_train_loss=result.training_loss)

        def timed_predict(examples: Examples):
            dataset = tokenise(examples, with_labels=False)
            t0 = time.perf_counter()
            logits = trainer.predict(dataset).predictions
            synchronize(args.device)
            return logits, time.perf_counter() - t0

        logits, seconds = timed_predict(dev)
        out["infer_dev"] = throughput(len(dev), seconds)
        out["dev"] = dev_scores(data["benchmark"], dev, predictions(logits, regression))
        if "infer" in data:
            _, seconds = timed_predict(data["infer"])
            out["infer_train"] = throughput(len(data["infer"]), seconds)
    return out


# ---- child process: one side ------------------------------------------------------------------

def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def environment(device: str) -> dict:
    import torch
    import transformers

    env = {"python": platform.python_version(), "torch": torch.__version__,
           "transformers": transformers.__version__, "gluebench": gluebench.__version__,
           "cpus": cpu_count(), "torch_threads": torch.get_num_threads(),
           "cpu": cpu_name(), "platform": platform.platform()}
    if device == "cuda":
        env["gpu"] = torch.cuda.get_device_name()
    return env


def child_main(args) -> None:
    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.set_num_threads(cpu_count())  # the same on both sides
    data = load_data(args)
    with tempfile.TemporaryDirectory(prefix="bench-features-") as cache:
        os.environ["GLUEBENCH_CACHE"] = cache  # an empty feature cache: first-run tokenisation
        t0 = time.perf_counter()
        result = (run_gluebench if args.side == "gluebench" else run_trainer)(args, data)
        result["wall_seconds"] = time.perf_counter() - t0
    result["memory"] = peak_memory(args.device)
    result["environment"] = environment(args.device)
    Path(args.result_file).write_text(json.dumps(result, indent=2, default=str))


# ---- parent: run both sides, report ----------------------------------------------------------

def run_side(args, side: str, folder: Path) -> dict:
    result_file = folder / f"{side}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--task", args.task,
           "--device", args.device, "--data-dir", args.data_dir, "--epochs", str(args.epochs),
           "--learning-rate", str(args.learning_rate), "--batch-size", str(args.batch_size),
           "--seed", str(args.seed), "--side", side, "--result-file", str(result_file)]
    for flag, value in (("--max-train-examples", args.max_train_examples),
                        ("--model", args.model), ("--infer-examples", args.infer_examples)):
        if value is not None:
            cmd += [flag, str(value)]
    print(f"running {side} ...", file=sys.stderr, flush=True)
    # The child's stdout goes to our stderr: stdout carries only the report.
    code = subprocess.run(cmd, stdout=sys.stderr, check=False).returncode
    if code != 0:
        raise SystemExit(f"the {side} side failed (exit status {code}); see its output above")
    return json.loads(result_file.read_text())


def inference_figure(result: dict) -> dict:
    return result.get("infer_train", result["infer_dev"])


def format_scores(dev: dict) -> str:
    parts = [f"{m} {v:.1f}" for m, v in dev["metrics"].items()]
    text = " / ".join(parts)
    return text if len(parts) == 1 else f"{text} (score {dev['score']:.1f})"


def print_report(args, config: dict, env: dict, results: dict, ratios: dict) -> None:
    infer = inference_figure(results["gluebench"])
    infer_set = (f"{infer['examples']} training examples" if "infer_train" in results["gluebench"]
                 else f"the dev set ({infer['examples']} examples)")
    print(f"{config['task']} on {args.device} ({env.get('gpu') or env['cpu']}, "
          f"{env['torch_threads']} threads): {config['n_train']} training examples x "
          f"{args.epochs:g} epoch(s), batch {args.batch_size}, lr {args.learning_rate:g}, "
          f"seed {args.seed}; inference over {infer_set}")
    print(f"model: {config['model']}")
    header = (f"{'side':10} {'train ex/s':>10} {'infer ex/s':>10} {'wall s':>8} "
              f"{'peak MiB':>9}  dev {config['entry']} (x100)")
    print(header)
    print("-" * len(header))
    for side, r in results.items():
        print(f"{side:10} {r['train']['examples_per_s']:10.1f} "
              f"{inference_figure(r)['examples_per_s']:10.1f} {r['wall_seconds']:8.1f} "
              f"{r['memory']['peak_mib']:9.0f}  {format_scores(r['dev'])}")
    memory = "GPU memory allocated by torch" if args.device == "cuda" else "peak RSS"
    print(f"(wall: tokenisation {results['gluebench']['tokenise_seconds']:.1f} s vs "
          f"{results['trainer']['tokenise_seconds']:.1f} s included; peak MiB = {memory}; "
          "Trainer uses run_glue's no warmup / no weight decay)")
    print(f"gluebench / Trainer: train speed {ratios['train']:.2f}x, "
          f"inference speed {ratios['infer']:.2f}x")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.side:
        child_main(args)
        return
    from gluebench.models import hf

    task = get_task(args.task)
    data = load_data(args)  # checks the data early; the children load it again
    config = {"task": task.name, "entry": data["benchmark"].name,
              "model": hf.resolve_model(args.model).path, "n_train": len(data["train"]),
              "max_train_examples": args.max_train_examples, "n_dev": len(data["dev"]),
              "infer_examples": len(data["infer"]) if "infer" in data else None,
              "epochs": args.epochs, "learning_rate": args.learning_rate,
              "batch_size": args.batch_size, "max_seq_length": MAX_SEQ_LENGTH,
              "seed": args.seed, "data_seed": DATA_SEED, "device": args.device,
              "data_dir": str(Path(args.data_dir).resolve())}
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        results = {side: run_side(args, side, Path(tmp)) for side in SIDES}
    ratios = {"train": results["gluebench"]["train"]["examples_per_s"]
              / results["trainer"]["train"]["examples_per_s"],
              "infer": inference_figure(results["gluebench"])["examples_per_s"]
              / inference_figure(results["trainer"])["examples_per_s"]}
    env = results["gluebench"].pop("environment")
    results["trainer"].pop("environment")
    out = Path(args.out) / f"{args.device}-{task.name}.json"
    write_json(out, {"config": config, "environment": env, "sides": results,
                     "ratios": ratios, "command": " ".join(sys.argv),
                     "date": time.strftime("%Y-%m-%d")})
    print_report(args, config, env, results, ratios)
    print(f"wrote {out}")
    print(f"speedup_train={ratios['train']:.2f} speedup_infer={ratios['infer']:.2f}")


if __name__ == "__main__":
    main()
