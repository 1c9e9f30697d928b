"""How long until the embedded SmolLM2 can score? transformers reading the GGUF file vs
gluebench reading its converted folder (gluebench.lm.gguf_cache).

Each side is a whole process, timed from start to a first log-likelihood, alternately,
``--rounds`` times; the ratio is taken pair by pair and the median printed.

* ``transformers``: the usual way, ``AutoTokenizer`` and ``AutoModelForCausalLM``
  ``.from_pretrained(folder, gguf_file=...)`` (each parses the GGUF metadata; the model
  de-quantises every weight).
* ``gluebench``: ``HFBackend(embedded_model())`` with the folder already converted (the first
  run converts; it is the warm-up and not counted).

    python benchmarks/bench_lm_load.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTEXT, CONTINUATION = "Question: Is the sky blue?\nAnswer:", " yes"


def child(side: str) -> None:
    if side == "transformers":
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from gluebench.lm.hf_backend import embedded_model

        ref = embedded_model()
        tokenizer = AutoTokenizer.from_pretrained(ref.path, gguf_file=ref.gguf_file)
        model = AutoModelForCausalLM.from_pretrained(ref.path, gguf_file=ref.gguf_file,
                                                     dtype=torch.float32).eval()
        ids = tokenizer(CONTEXT + CONTINUATION, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            logits = model(ids).logits
        print(json.dumps({"logit": float(logits[0, -2].max())}))
    else:
        from gluebench.lm.hf_backend import HFBackend, embedded_model
        from gluebench.lm.requests import Request

        backend = HFBackend(embedded_model(), "cpu")
        ll = backend.loglikelihoods([Request(CONTEXT, (CONTINUATION,))])
        print(json.dumps({"ll": float(ll.ravel()[0])}))


def timed(side: str, env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--side", side], env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: the {side} side failed: {done.stderr.strip().splitlines()[-1]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--side", choices=["transformers", "gluebench"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        child(args.side)
        return
    with tempfile.TemporaryDirectory(prefix="gluebench-gguf-") as cache:
        env = {**os.environ, "GLUEBENCH_GGUF_CACHE": cache}
        first = timed("gluebench", env)   # converts: the warm-up
        print(f"gluebench, first load (converts and keeps the folder): {first:.1f} s")
        times: dict[str, list[float]] = {"transformers": [], "gluebench": []}
        for i in range(args.rounds):
            for side in times:
                times[side].append(timed(side, env))
            print(f"round {i + 1}: transformers {times['transformers'][-1]:.1f} s, "
                  f"gluebench {times['gluebench'][-1]:.1f} s")
        size = sum(p.stat().st_size for p in Path(cache).rglob("*") if p.is_file())
    ratios = [t / g for t, g in zip(times["transformers"], times["gluebench"], strict=True)]
    print(f"process start to first log-likelihood, median of {args.rounds}: transformers "
          f"{statistics.median(times['transformers']):.1f} s, gluebench "
          f"{statistics.median(times['gluebench']):.1f} s; converted folder {size / 2**20:.0f} MiB")
    print(f"speedup_load={statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
