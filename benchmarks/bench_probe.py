"""How fast does the probe embed a run's sentences? gluebench vs sentence-transformers' encode().

The sentences a CPU `gluebench run` embeds for a few tasks (seeded train subsamples and
dev, every input field): gluebench encodes each distinct sentence once, in length-sorted
batches padded per batch; the usual way calls ``SentenceTransformer.encode`` on each
task's columns (it length-sorts within the call, but encodes repeats again). Both
produce the same vectors (checked). Then int8: the same run with the dynamically
quantised encoder, with its vectors' cosine to fp32.

    python benchmarks/bench_probe.py --data-dir ../shared/data/glue --train 1000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data/glue")
    ap.add_argument("--tasks", default="SST-2,MRPC,STS-B,RTE")
    ap.add_argument("--train", type=int, default=1000, help="training examples per task")
    ap.add_argument("--out", default="benchmarks/results/cpu-probe-embedding.json")
    args = ap.parse_args()
    os.environ["GLUEBENCH_CACHE"] = tempfile.mkdtemp()   # measure encoding, not the cache

    from sentence_transformers import SentenceTransformer

    from gluebench.benchmark.sources import open_source
    from gluebench.benchmark.tasks import get_task
    from gluebench.models.hf import resolve_model
    from gluebench.probe.embed import SentenceEncoder, embed_examples
    from gluebench.train.features import texts_of

    source = open_source(args.data_dir)
    examples = []
    for name in args.tasks.split(","):
        task = get_task(name)
        examples += [source.load(task, "train").subsample(args.train, 0),
                     source.load(task, "dev")]
    columns = [column for ex in examples for column in texts_of(ex)]
    total = sum(len(c) for c in columns)
    ref = resolve_model(None)

    timings, tables = {}, {}
    for int8 in (False, True):
        encoder = SentenceEncoder(ref, max_length=128, int8=int8)
        start = time.perf_counter()
        tables[int8] = embed_examples(encoder, examples)
        timings["gluebench int8" if int8 else "gluebench"] = time.perf_counter() - start
    st = SentenceTransformer(ref.path, device="cpu")
    st.max_seq_length = 128
    start = time.perf_counter()
    usual = [st.encode(column, batch_size=64, convert_to_numpy=True) for column in columns]
    timings["sentence-transformers encode"] = time.perf_counter() - start

    ours = np.vstack([tables[False].vectors[[tables[False].row[t] for t in c]] for c in columns])
    int8 = np.vstack([tables[True].vectors[[tables[True].row[t] for t in c]] for c in columns])
    doc = {"tasks": args.tasks, "train_per_task": args.train, "sentences": total,
           "distinct": len(tables[False].row), "seconds": timings,
           "max_abs_difference_vs_sentence_transformers": float(np.abs(ours - np.vstack(usual))
                                                                .max()),
           "int8_mean_cosine_to_fp32": float((ours * int8).sum(axis=1).mean()),
           "load": os.getloadavg()}
    ratio = timings["sentence-transformers encode"] / timings["gluebench"]
    for name, seconds in timings.items():
        print(f"{name:30} {seconds:7.1f} s  {total / seconds:6.0f} sentences/s")
    print(f"sentences {total} (distinct {doc['distinct']}); max |diff| "
          f"{doc['max_abs_difference_vs_sentence_transformers']:.1e}; int8 cosine to fp32 "
          f"{doc['int8_mean_cosine_to_fp32']:.4f}; load {doc['load'][0]:.1f}")
    print(f"speedup_vs_sentence_transformers={ratio:.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
