"""Fine-tuning speed on SuperGLUE's long inputs: BoolQ passages and MultiRC paragraphs.

The same model, rows, steps, seed and recipe through gluebench's engine (``train.loop.train``)
in two configurations, alternating in one process:

* ``bucketed``: the engine's defaults: each batch padded to its own longest example, training
  batches grouped by length (megabatches of 50 batches sorted by length, as transformers'
  ``LengthGroupedSampler``);
* ``padded``: every batch padded to ``--max-seq-length`` in a shuffled order (run_glue.py's
  ``pad_to_max_length``), the usual setup of a script that does not bucket.

Rows are framed as ``finetune --suite`` frames them (``shapes.framing``: BoolQ as
(question, passage), MultiRC as (paragraph, question + answer), one row per answer option):
FewGLUE's 32 training rows, plus the first ``--extra-val`` rows of SuperGLUE val as extra
training data so that a measurement has enough steps to be stable (speed only: no score is
reported). The work is quoted as a fraction of this CPU's fp32 matmul ceiling, measured just
before each training run at the model's feed-forward shape (``bench_finetune.gemm_ceiling``):
useful FLOPs only (Kaplan's forward formula on the real, unpadded tokens; training = 3 x
forward), so padding counts as waste.

    python benchmarks/bench_suite_finetune.py --data-dir ../shared/data --threads 1

A busy machine moves wall times (and the ceiling) from one run to the next; with ``--threads
1`` the ratio by this process's CPU time measures the work each setup did and is steadier.

The last line printed is ``BoolQ=<ratio> MultiRC=<ratio>``: bucketed over padded examples/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_finetune import TRAIN_FLOPS_PER_FORWARD, gemm_ceiling, useful_gflop  # noqa: E402

from gluebench.benchmark.split_reader import load_split  # noqa: E402
from gluebench.benchmark.suite_loader import load_suite  # noqa: E402
from gluebench.benchmark.table import ExampleTable  # noqa: E402
from gluebench.models import hf  # noqa: E402
from gluebench.shapes.framing import frame  # noqa: E402
from gluebench.train import loop  # noqa: E402
from gluebench.train.config import build_config  # noqa: E402
from gluebench.train.features import encode_texts  # noqa: E402

TASKS = ("BoolQ", "MultiRC")
SETUPS = {"bucketed": {"length_grouping": True, "pad_to_max_length": False},
          "padded": {"length_grouping": False, "pad_to_max_length": True}}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--model", default=None, help="default: the embedded all-MiniLM-L6-v2")
    p.add_argument("--max-seq-length", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--extra-val", type=int, default=96,
                   help="rows of SuperGLUE val added to FewGLUE's 32 training rows")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=None)
    return p.parse_args(argv)


def training_rows(data_dir: str, task: str, extra: int) -> ExampleTable:
    """FewGLUE's training rows, then the first ``extra`` rows of SuperGLUE val."""
    suite = load_suite("fewglue")
    train = load_split(suite, suite.task(task), "train", data_dir)
    val = load_split(suite, suite.task(task), "dev", data_dir).take(np.arange(extra))
    return replace(train, ids=np.concatenate([train.ids, val.ids]),
                   inputs={k: list(train.inputs[k]) + list(val.inputs[k]) for k in train.inputs},
                   labels=np.concatenate([train.labels, val.labels]), answers=None,
                   groups={k: np.concatenate([train.groups[k], val.groups[k]])
                           for k in train.groups}, meta={})


def one_run(ref, encoded, labels, n_labels: int, setup: str, args) -> dict:
    from transformers import set_seed

    config = build_config(model=args.model, epochs=1, batch_size=args.batch_size,
                          max_seq_length=args.max_seq_length, learning_rate=1e-4, device="cpu",
                          **SETUPS[setup])
    engine = loop.Engine.choose(config)
    set_seed(1)
    model, _ = hf.load_classifier(ref, n_labels)
    ceiling = gemm_ceiling(model, "cpu")
    lengths = encoded.lengths
    cpu = time.process_time()
    stats = loop.train(model, encoded, labels, config, engine, seed=1, learning_rate=1e-4,
                       epochs=1)
    cpu = time.process_time() - cpu
    work = useful_gflop(model, lengths, TRAIN_FLOPS_PER_FORWARD)
    return {"examples_per_s": stats.examples_per_second, "seconds": stats.seconds,
            "steps": stats.steps, "gflops": work / stats.seconds, "ceiling_gflops": ceiling,
            "of_ceiling": work / stats.seconds / ceiling,
            "cpu_examples_per_s": stats.examples_seen / cpu}


def main(argv=None) -> None:
    import torch

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ref = hf.resolve_model(args.model)
    tokenizer = hf.load_tokenizer(ref)
    ratios = {}
    for task in args.tasks.split(","):
        table = training_rows(args.data_dir, task, args.extra_val)
        framed = frame(table)
        encoded = encode_texts(tokenizer, framed.columns(), args.max_seq_length)
        lengths = encoded.lengths
        print(f"{task}: {len(table)} rows, tokens mean {lengths.mean():.0f}, median "
              f"{np.median(lengths):.0f}, max {lengths.max()} (cut at {args.max_seq_length})",
              flush=True)
        runs = {s: [] for s in SETUPS}
        for r in range(args.rounds):
            order = list(SETUPS) if r % 2 == 0 else list(reversed(SETUPS))
            for setup in order:
                runs[setup].append(one_run(ref, encoded, table.labels, table.task.n_classes,
                                           setup, args))
        for setup, results in runs.items():
            med = {k: statistics.median(r[k] for r in results) for k in results[0]}
            print(f"  {setup:9s} {med['examples_per_s']:7.1f} ex/s  {med['steps']:.0f} steps  "
                  f"{med['gflops']:6.1f} useful GFLOP/s = {100 * med['of_ceiling']:.0f}% of the "
                  f"fp32 ceiling ({med['ceiling_gflops']:.0f} GFLOP/s)", flush=True)
        ratio = statistics.median(b["examples_per_s"] / p["examples_per_s"]
                                  for b, p in zip(runs["bucketed"], runs["padded"], strict=True))
        by_cpu = statistics.median(
            b["cpu_examples_per_s"] / p["cpu_examples_per_s"]
            for b, p in zip(runs["bucketed"], runs["padded"], strict=True))
        ratios[task] = ratio
        print(f"  bucketed / padded: {ratio:.2f}x by wall time, {by_cpu:.2f}x by CPU time "
              "(median of per-round ratios)", flush=True)
    print(f"time {time.strftime('%Y-%m-%d %H:%M')}, torch threads {torch.get_num_threads()}")
    print(" ".join(f"{t}={r:.2f}" for t, r in ratios.items()))


if __name__ == "__main__":
    main()
