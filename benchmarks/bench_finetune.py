"""How fast does gluebench fine-tune? gluebench's engine against Hugging Face ``Trainer`` in
three configurations, on the same model, data, hyperparameters, steps and seed, in one invocation.

Every side fine-tunes the same model (default: the embedded all-MiniLM-L6-v2) on the same seeded
training subsample for the same number of optimizer steps, then predicts the task's dev set (the
first leaderboard entry: MNLI -> MNLI-m) and scores it with the same gluebench metric functions.
Each side runs in its own child process, so its peak memory (RSS on a CPU,
``torch.cuda.max_memory_allocated`` on a GPU) is its own. The Trainer configurations:

* ``trainer-run_glue``: run_glue.py's defaults: every example padded to max_seq_length (128,
  ``pad_to_max_length=True``, ``default_data_collator``), a shuffled sampler, inference batches of
  256 (run_glue's default is 8; 256 is kinder to Trainer).
* ``trainer-dynamic``: ``DataCollatorWithPadding`` (each batch padded to its longest example), a
  shuffled sampler, inference batches of 256 in dataset order.
* ``trainer-grouped``: the careful user's setup: dynamic padding, and
  ``train_sampling_strategy="group_by_length"`` (transformers 5's name for ``group_by_length=True``;
  Trainer's ``LengthGroupedSampler``), inference over the dataset sorted by length (then put back in
  order) in batches of EVAL_BATCH_GROUPED. Not the eval sampler that ``group_by_length`` also
  switches on: it returns ``Trainer.predict``'s rows in a shuffled order (transformers 5.24).

All three: fp32 (bf16 autocast on a GPU), ``optim="adamw_torch_fused"`` (5.24's default), SDPA
attention (5.24's default), no logging, saving or evaluation during training, and data loading in
the training process (``dataloader_num_workers=0``: a worker process measured slower on these 2
cores, see benchmarks/RESULTS.md). Their recipe is run_glue's (AdamW with linear decay, no warmup,
no weight decay); gluebench's uses 10% warmup and weight decay 0.01: that changes the dev metric a
little, not the speed. gluebench: each batch padded only to its longest example, training batches
grouped by length, inference batches length-sorted and sized by a token budget, SDPA attention; on
a GPU, bf16 autocast in training and bf16 weights in inference.

Timings: train = the ``trainer.train()`` / ``loop.train()`` call (perf_counter, optimizer setup
included on both sides); inference = ``trainer.predict()`` (with the sorting, for
``trainer-grouped``) / ``loop.timed_predict()``; wall = everything a side does after torch is
imported and the data loaded (imports, tokenisation, model loading, training, inference).
gluebench tokenises into an empty feature cache (first-run cost). With ``--infer-examples N``
inference is also timed over N training examples and that becomes the inference figure.

On a shared machine absolute times drift, so the sides run in ``--rounds`` rounds, alternating (the
order rotates each round); a figure is the median over rounds, and a ratio is the median of the
per-round ratios (each round's sides ran close together in time). ``trainer-run_glue`` and
``trainer-dynamic``, several times slower than ``trainer-grouped``, run in the first
``--reference-rounds`` rounds only (default 1). The headline ratios are against the fastest
Trainer configuration, for training and for inference separately; the same ratios by CPU time
(this process's user + system time) are printed too: with ``--threads 1`` they measure the work
each side did, which a busy machine disturbs far less than wall time. Each child also
measures this CPU's fp32 matmul ceiling (at the model's feed-forward shape) just before it trains,
and the work each side does is quoted as a fraction of it: useful FLOPs only (Kaplan's forward
formula on the real, unpadded tokens; training = 3 x forward), so padding counts as waste.

    python benchmarks/bench_finetune.py --task SST-2 --device cpu --max-train-examples 2048

The last line printed is ``speedup_train=X.XX speedup_infer=Y.YY baseline=<Trainer configuration>``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import gluebench
from gluebench.benchmark import metrics
from gluebench.benchmark.scoring import evaluation_examples
from gluebench.benchmark.sources import Examples, open_source
from gluebench.benchmark.tasks import BENCHMARKS, get_task
from gluebench.efficiency.profile import cpu_name, formula_flops
from gluebench.formats.atomic import write_json

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared/data/glue"
MAX_SEQ_LENGTH = 128
EVAL_BATCH_RUN_GLUE = 256
EVAL_BATCH_GROUPED = 64   # length-sorted rows: the batch gluebench uses on a CPU (see RESULTS.md)
DATA_SEED = 0  # seed of the training subsample (gluebench's default data_seed)
TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (about twice the forward)
QUIET_CEILING_GFLOPS = 116.0  # these 2 cores, quiet, large fp32 matmul (shared/notes)


@dataclass(frozen=True)
class TrainerSetup:
    """One way of running Hugging Face Trainer."""

    pad_to_max_length: bool   # run_glue's padding="max_length" + default_data_collator
    sampling: str             # TrainingArguments.train_sampling_strategy
    sorted_inference: bool    # predict over the dataset sorted by length, then unsort
    eval_batch: int


TRAINER_SETUPS = {
    "trainer-run_glue": TrainerSetup(True, "random", False, EVAL_BATCH_RUN_GLUE),
    "trainer-dynamic": TrainerSetup(False, "random", False, EVAL_BATCH_RUN_GLUE),
    "trainer-grouped": TrainerSetup(False, "group_by_length", True, EVAL_BATCH_GROUPED),
}
SIDES = ("gluebench", *TRAINER_SETUPS)
# Measured slower than trainer-grouped in every round (benchmarks/RESULTS.md): references, run
# in the first --reference-rounds rounds only, so that the default run stays short.
REFERENCE_SIDES = ("trainer-run_glue", "trainer-dynamic")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, help="GLUE task, e.g. RTE, SST-2, STS-B, MNLI")
    ap.add_argument("--device", choices=("cpu", "cuda"), required=True,
                    help="where every side runs (names the results file)")
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
    ap.add_argument("--seed", type=int, default=1, help="training seed (every side)")
    ap.add_argument("--infer-examples", type=int, default=None,
                    help="also time inference over this many training examples and report it "
                         "as the inference figure (default: the dev set)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of every side, alternating (default 3); figures are medians")
    ap.add_argument("--reference-rounds", type=int, default=1,
                    help=f"rounds of the reference sides ({', '.join(REFERENCE_SIDES)}; "
                         "default 1, at most --rounds)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads on every side (default: every CPU this process may use)")
    ap.add_argument("--sides", default=",".join(SIDES),
                    help=f"comma-separated sides to run (default: all of {', '.join(SIDES)})")
    ap.add_argument("--out", default=str(REPO / "benchmarks/results"),
                    help="folder for <device>-<task>.json")
    ap.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--result-file", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    unknown = [s for s in args.sides if s not in SIDES]
    if unknown or "gluebench" not in args.sides or len(args.sides) < 2:
        ap.error(f"--sides: expected gluebench and at least one of {', '.join(TRAINER_SETUPS)}, "
                 f"got {','.join(args.sides)}")
    for flag in ("rounds", "reference_rounds", "threads"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            ap.error(f"--{flag.replace('_', '-')}: expected a positive number, got {value}")
    return args


# ---- shared: data, scores, memory, work -------------------------------------------------------

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


def dev_scores(benchmark, gold: Examples, logits: np.ndarray, regression: bool) -> dict:
    preds = predictions(logits, regression)
    values = metrics.compute(benchmark.metrics, gold.labels, preds)
    return {"metrics": {m: 100.0 * v for m, v in values.items()},
            "score": metrics.task_score(values, benchmark.metrics),
            "predictions": preds.tolist()}


def peak_memory(device: str) -> dict:
    """Peak memory of this process in MiB: RSS (KiB on Linux), and on a GPU what torch allocated."""
    import torch

    out = {"rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device == "cuda":
        out["cuda_allocated_mib"] = torch.cuda.max_memory_allocated() / 2**20
        out["cuda_reserved_mib"] = torch.cuda.max_memory_reserved() / 2**20
    out["peak_mib"] = out["cuda_allocated_mib"] if device == "cuda" else out["rss_mib"]
    return out


def throughput(n: int, seconds: float, cpu_seconds: float | None = None) -> dict:
    """Examples per second; ``cpu_seconds`` (this process's CPU time) is kept beside the wall
    time: on a loaded machine it says how much work a phase took, whatever the others ran."""
    out = {"examples": n, "seconds": seconds, "examples_per_s": n / seconds if seconds else 0.0}
    if cpu_seconds is not None:
        out["cpu_seconds"] = cpu_seconds
    return out


def useful_gflop(model, lengths: np.ndarray, passes: float = 1.0) -> float:
    """Forward FLOPs of the real (unpadded) tokens, x ``passes``: the work no engine can skip."""
    return passes * sum(formula_flops(model, int(n)) for n in lengths) / 1e9


def gemm_ceiling(model, device: str, seconds: float = 1.5) -> float:
    """GFLOP/s of one fp32 matmul at the model's feed-forward shape (1,024 rows): the roof."""
    import torch

    hidden, inner = model.config.hidden_size, model.config.intermediate_size
    x, w = torch.empty(1024, hidden, device=device), torch.empty(inner, hidden, device=device)
    x.fill_(0.5)  # not drawn at random: training's dropout masks come from the same generator
    w.fill_(0.25)
    torch.nn.functional.linear(x, w)
    synchronize(device)
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        torch.nn.functional.linear(x, w)
        synchronize(device)
        runs += 1
    return 2 * 1024 * hidden * inner * runs / (time.perf_counter() - started) / 1e9


def synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def record_work(out: dict, model, train_lengths, infer_lengths, epochs: float, device: str):
    """The ceiling now (just before training) and the useful work of training and inference."""
    out["ceiling_gflops"] = gemm_ceiling(model, device)
    out["work_gflop"] = {"train": useful_gflop(model, train_lengths,
                                               TRAIN_FLOPS_PER_FORWARD * epochs),
                         "infer": useful_gflop(model, infer_lengths)}


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

    enc_train, enc_dev = encode(train), encode(dev)
    enc_infer = encode(data["infer"]) if "infer" in data else enc_dev
    record_work(out, model, enc_train.lengths, enc_infer.lengths, args.epochs, args.device)
    t0, c0 = time.perf_counter(), time.process_time()
    stats = loop.train(model, enc_train, train.labels, config, engine, seed=args.seed,
                       learning_rate=args.learning_rate, epochs=args.epochs)
    synchronize(args.device)
    out["train"] = throughput(round(len(train) * args.epochs), time.perf_counter() - t0,
                              time.process_time() - c0)
    out["train"].update(loop_seconds=stats.seconds, examples_seen=stats.examples_seen,
                        steps=stats.steps, final_batch_loss=stats.final_loss)

    def timed_predict(encoded):
        c0 = time.process_time()
        logits, seconds = loop.timed_predict(model, encoded, config, engine)
        return logits, throughput(len(encoded), seconds, time.process_time() - c0)

    logits, out["infer_dev"] = timed_predict(enc_dev)
    out["dev"] = dev_scores(data["benchmark"], dev, logits, task.is_regression)
    if "infer" in data:
        out["infer_train"] = timed_predict(enc_infer)[1]
    return out


# ---- Trainer sides ----------------------------------------------------------------------------

def hf_dataset(tokenizer, examples: Examples, setup: TrainerSetup, with_labels: bool):
    """A ``datasets.Dataset`` tokenised as the setup wants: padded to 128 (run_glue) or not,
    with a ``length`` column (tokens; Trainer drops it before batching)."""
    from datasets import Dataset

    columns = dict(examples.inputs)
    if with_labels:
        regression = examples.task.is_regression
        columns["label"] = examples.labels.astype(np.float64 if regression else np.int64).tolist()
    fields = examples.task.input_fields
    padding = "max_length" if setup.pad_to_max_length else False

    def preprocess(batch):
        return tokenizer(*(batch[f] for f in fields), padding=padding,
                         max_length=MAX_SEQ_LENGTH, truncation=True, return_length=True)

    return Dataset.from_dict(columns).map(preprocess, batched=True)


def real_lengths(dataset) -> np.ndarray:
    """Tokens per row without padding (run_glue's rows are padded: count the attention mask)."""
    return np.array([int(np.sum(mask)) for mask in dataset["attention_mask"]])


def _plain(value) -> str:
    """An enum setting as its plain value ("linear", not "SchedulerType.LINEAR")."""
    return str(getattr(value, "value", value))


def trainer_predict(trainer, dataset, setup: TrainerSetup) -> np.ndarray:
    """``trainer.predict``'s logits in the dataset's order; sorted by length first if asked."""
    if not setup.sorted_inference:
        return trainer.predict(dataset).predictions
    # The eval sampler group_by_length switches on shuffles predict's rows: predict in order.
    trainer.args.train_sampling_strategy = "sequential"
    order = np.argsort(-np.asarray(dataset.with_format("numpy")["length"]), kind="stable")
    logits = trainer.predict(dataset.select(order)).predictions
    out = np.empty_like(logits)
    out[order] = logits
    return out


def run_trainer(args, data: dict, setup: TrainerSetup) -> dict:
    import datasets
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    from gluebench.models import hf

    datasets.disable_progress_bars()
    task, train, dev = data["task"], data["train"], data["dev"]
    out: dict = {"tokenise_seconds": 0.0, "setup": asdict(setup)}

    t0 = time.perf_counter()
    model_path = hf.resolve_model(args.model).path
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    set_seed(args.seed)  # run_glue seeds before loading the model (the new head's init)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path, num_labels=1 if task.is_regression else len(task.labels))
    out["load_seconds"] = time.perf_counter() - t0
    out["attention"] = model.config._attn_implementation

    def tokenise(examples: Examples, with_labels: bool):
        t0 = time.perf_counter()
        dataset = hf_dataset(tokenizer, examples, setup, with_labels)
        out["tokenise_seconds"] += time.perf_counter() - t0
        return dataset

    train_set, dev_set = tokenise(train, with_labels=True), tokenise(dev, with_labels=False)
    infer_set = tokenise(data["infer"], with_labels=False) if "infer" in data else dev_set
    record_work(out, model, real_lengths(train_set), real_lengths(infer_set), args.epochs,
                args.device)
    collator = (default_data_collator if setup.pad_to_max_length
                else DataCollatorWithPadding(tokenizer))
    with tempfile.TemporaryDirectory(prefix="bench-trainer-") as tmp:
        training_args = TrainingArguments(
            output_dir=tmp, per_device_train_batch_size=args.batch_size,
            per_device_eval_batch_size=setup.eval_batch, learning_rate=args.learning_rate,
            num_train_epochs=args.epochs, bf16=args.device == "cuda", seed=args.seed,
            optim="adamw_torch_fused", train_sampling_strategy=setup.sampling,
            report_to=[], save_strategy="no", logging_strategy="no", eval_strategy="no",
            dataloader_num_workers=0, dataloader_pin_memory=args.device == "cuda",
            use_cpu=args.device == "cpu", disable_tqdm=True)
        out["recipe"] = {"warmup_steps": training_args.warmup_steps,
                         "weight_decay": training_args.weight_decay,
                         "schedule": _plain(training_args.lr_scheduler_type),
                         "max_grad_norm": training_args.max_grad_norm,
                         "optim": _plain(training_args.optim)}
        trainer = Trainer(model=model, args=training_args, train_dataset=train_set,
                          processing_class=tokenizer, data_collator=collator)
        t0, c0 = time.perf_counter(), time.process_time()
        result = trainer.train()
        synchronize(args.device)
        out["train"] = throughput(round(len(train) * args.epochs), time.perf_counter() - t0,
                                  time.process_time() - c0)
        out["train"].update(steps=result.global_step, mean_train_loss=result.training_loss)

        def timed_predict(dataset):
            t0, c0 = time.perf_counter(), time.process_time()
            logits = trainer_predict(trainer, dataset, setup)
            synchronize(args.device)
            return logits, throughput(len(dataset), time.perf_counter() - t0,
                                      time.process_time() - c0)

        logits, out["infer_dev"] = timed_predict(dev_set)
        out["dev"] = dev_scores(data["benchmark"], dev, logits, task.is_regression)
        if "infer" in data:
            out["infer_train"] = timed_predict(infer_set)[1]
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
    torch.set_num_threads(args.threads or cpu_count())  # the same on every side
    data = load_data(args)
    with tempfile.TemporaryDirectory(prefix="bench-features-") as cache:
        os.environ["GLUEBENCH_CACHE"] = cache  # an empty feature cache: first-run tokenisation
        t0 = time.perf_counter()
        if args.side == "gluebench":
            result = run_gluebench(args, data)
        else:
            result = run_trainer(args, data, TRAINER_SETUPS[args.side])
        result["wall_seconds"] = time.perf_counter() - t0
    result["memory"] = peak_memory(args.device)
    result["environment"] = environment(args.device)
    Path(args.result_file).write_text(json.dumps(result, indent=2, default=str))


# ---- parent: run every side in alternating rounds, report ------------------------------------

def run_side(args, side: str, result_file: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--task", args.task,
           "--device", args.device, "--data-dir", args.data_dir, "--epochs", str(args.epochs),
           "--learning-rate", str(args.learning_rate), "--batch-size", str(args.batch_size),
           "--seed", str(args.seed), "--side", side, "--result-file", str(result_file)]
    for flag, value in (("--max-train-examples", args.max_train_examples),
                        ("--threads", args.threads),
                        ("--model", args.model), ("--infer-examples", args.infer_examples)):
        if value is not None:
            cmd += [flag, str(value)]
    print(f"running {side} ...", file=sys.stderr, flush=True)
    # The child's stdout goes to our stderr: stdout carries only the report.
    code = subprocess.run(cmd, stdout=sys.stderr, check=False).returncode
    if code != 0:
        raise SystemExit(f"the {side} side failed (exit status {code}); see its output above")
    return json.loads(result_file.read_text())


def run_rounds(args, folder: Path) -> dict[str, list[dict]]:
    """Each side once per round (references: in the first rounds only); the order rotates so
    that no side always runs first. ``runs[side][r]`` is round r."""
    runs: dict[str, list[dict]] = {side: [] for side in args.sides}
    for r in range(args.rounds):
        now = [s for s in args.sides if s not in REFERENCE_SIDES or r < args.reference_rounds]
        order = now[r % len(now):] + now[:r % len(now)]
        print(f"round {r + 1}/{args.rounds}: {', '.join(order)}", file=sys.stderr, flush=True)
        for side in order:
            runs[side].append(run_side(args, side, folder / f"{side}-{r}.json"))
    return runs


def inference_figure(result: dict) -> dict:
    return result.get("infer_train", result["infer_dev"])


def speeds(result: dict) -> dict:
    return {"train": result["train"]["examples_per_s"],
            "infer": inference_figure(result)["examples_per_s"]}


def phase_cpu(result: dict, phase: str) -> float:
    timing = result["train"] if phase == "train" else inference_figure(result)
    return timing.get("cpu_seconds", float("nan"))


def fraction_of_ceiling(result: dict) -> dict:
    """Useful GFLOP/s over the matmul ceiling measured in the same process."""
    out = {}
    for phase, timing in (("train", result["train"]), ("infer", inference_figure(result))):
        gflops = result["work_gflop"][phase] / timing["seconds"]
        out[phase] = {"gflops": gflops, "of_ceiling": gflops / result["ceiling_gflops"],
                      "of_quiet_ceiling": gflops / QUIET_CEILING_GFLOPS}
    return out


def summarise(runs: dict[str, list[dict]]) -> dict:
    """Per side: medians over rounds; per Trainer side: the median of the per-round ratios."""
    summary = {}
    for side, results in runs.items():
        per_round = [speeds(r) for r in results]
        fractions = [fraction_of_ceiling(r) for r in results]
        summary[side] = {
            phase: statistics.median(s[phase] for s in per_round) for phase in ("train", "infer")}
        summary[side].update(
            wall_seconds=statistics.median(r["wall_seconds"] for r in results),
            peak_mib=statistics.median(r["memory"]["peak_mib"] for r in results),
            ceiling_gflops=statistics.median(r["ceiling_gflops"] for r in results),
            cpu_seconds={p: statistics.median(phase_cpu(r, p) for r in results)
                         for p in ("train", "infer")},
            of_ceiling={p: statistics.median(f[p]["of_ceiling"] for f in fractions)
                        for p in ("train", "infer")},
            dev=results[0]["dev"],
            dev_same_every_round=all(r["dev"]["predictions"] == results[0]["dev"]["predictions"]
                                     for r in results))
        if side != "gluebench":  # paired by round: gluebench's round r against theirs
            pairs = list(zip(runs["gluebench"], results, strict=False))  # references: fewer
            ratios = {p: [speeds(ours)[p] / speeds(theirs)[p] for ours, theirs in pairs]
                      for p in ("train", "infer")}
            cpu = {p: [phase_cpu(theirs, p) / phase_cpu(ours, p) for ours, theirs in pairs]
                   for p in ("train", "infer")}
            summary[side]["ratio"] = {p: statistics.median(v) for p, v in ratios.items()}
            summary[side]["ratio_range"] = {p: [min(v), max(v)] for p, v in ratios.items()}
            summary[side]["cpu_ratio"] = {p: statistics.median(v) for p, v in cpu.items()}
    return summary


def headline(summary: dict) -> dict:
    """The ratios against the fastest Trainer configuration, per phase."""
    trainers = [s for s in summary if s != "gluebench"]
    out = {}
    for phase in ("train", "infer"):
        fastest = max(trainers, key=lambda s: summary[s][phase])
        out[phase] = {"baseline": fastest, "ratio": summary[fastest]["ratio"][phase]}
    return out


def format_scores(dev: dict) -> str:
    parts = [f"{m} {v:.1f}" for m, v in dev["metrics"].items()]
    text = " / ".join(parts)
    return text if len(parts) == 1 else f"{text} (score {dev['score']:.1f})"


def agreement(dev: dict, reference: dict) -> str:
    """How many dev predictions equal gluebench's (regression: the largest difference)."""
    ours, theirs = np.asarray(reference["predictions"]), np.asarray(dev["predictions"])
    if ours.dtype.kind == "f":
        return f"max |diff| from gluebench's {np.abs(ours - theirs).max():.3f}"
    return f"same predictions as gluebench {int((ours == theirs).sum())}/{len(ours)}"


def print_report(args, config: dict, env: dict, summary: dict, best: dict) -> None:
    first = summary["gluebench"]
    infer_set = (f"{config['infer_examples']} training examples" if config["infer_examples"]
                 else f"the dev set ({config['n_dev']} examples)")
    print(f"{config['task']} on {args.device} ({env.get('gpu') or env['cpu']}, "
          f"{env['torch_threads']} threads): {config['n_train']} training examples x "
          f"{args.epochs:g} epoch(s), batch {args.batch_size}, lr {args.learning_rate:g}, "
          f"seed {args.seed}; inference over {infer_set}; {args.rounds} alternating round(s) "
          f"({', '.join(REFERENCE_SIDES)}: {config['reference_rounds']}), medians; "
          f"load average {config['load_average'][0]:.1f} at the start")
    print(f"model: {config['model']}")
    header = (f"{'side':17} {'train ex/s':>10} {'infer ex/s':>10} {'x train':>8} {'x infer':>8} "
              f"{'%peak tr/inf':>12} {'wall s':>7} {'MiB':>6}  dev {config['entry']} (x100)")
    print(header)
    print("-" * len(header))
    for side, s in summary.items():
        ratio = s.get("ratio", {"train": 1.0, "infer": 1.0})
        peak = f"{100 * s['of_ceiling']['train']:.0f}/{100 * s['of_ceiling']['infer']:.0f}"
        print(f"{side:17} {s['train']:10.1f} {s['infer']:10.1f} {ratio['train']:8.2f} "
              f"{ratio['infer']:8.2f} {peak:>12} {s['wall_seconds']:7.1f} {s['peak_mib']:6.0f}  "
              f"{format_scores(s['dev'])}; {agreement(s['dev'], first['dev'])}")
    memory = "GPU memory allocated by torch" if args.device == "cuda" else "peak RSS"
    print(f"(x = gluebench / that side, median of per-round ratios; %peak = useful GFLOP/s over "
          f"the fp32 matmul ceiling measured in the same process, median "
          f"{first['ceiling_gflops']:.0f} GFLOP/s; MiB = {memory}; Trainer sides use run_glue's "
          "no warmup / no weight decay)")
    print(f"gluebench against the fastest Trainer: train {best['train']['ratio']:.2f}x "
          f"({best['train']['baseline']}), inference {best['infer']['ratio']:.2f}x "
          f"({best['infer']['baseline']})")
    cpu = {p: summary[best[p]["baseline"]]["cpu_ratio"][p] for p in ("train", "infer")}
    print(f"the same by CPU time (the work each did, steadier than wall time on a busy machine, "
          f"with --threads 1): train {cpu['train']:.2f}x, inference {cpu['infer']:.2f}x")


def baseline_name(best: dict) -> str:
    train, infer = best["train"]["baseline"], best["infer"]["baseline"]
    return train if train == infer else f"train:{train},infer:{infer}"


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
              "rounds": args.rounds, "reference_rounds": min(args.reference_rounds, args.rounds),
              "sides": args.sides, "load_average": os.getloadavg(),
              "data_dir": str(Path(args.data_dir).resolve())}
    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        runs = run_rounds(args, Path(tmp))
    config["load_average_end"] = os.getloadavg()
    summary = summarise(runs)
    best = headline(summary)
    env = runs["gluebench"][0]["environment"]
    for results in runs.values():
        for r in results:
            r.pop("environment")
    out = Path(args.out) / f"{args.device}-{task.name}.json"
    write_json(out, {"config": config, "environment": env, "summary": summary,
                     "headline": best, "runs": runs, "command": " ".join(sys.argv),
                     "date": time.strftime("%Y-%m-%d")})
    print_report(args, config, env, summary, best)
    print(f"wrote {out}")
    print(f"speedup_train={best['train']['ratio']:.2f} speedup_infer={best['infer']['ratio']:.2f} "
          f"baseline={baseline_name(best)}")


if __name__ == "__main__":
    main()
