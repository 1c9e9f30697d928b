"""How long does scoring take? gluebench vs the usual scikit-learn/scipy bootstrap loop.

For every dev set present in the data folder: random predictions are scored with
1000 bootstrap resamples, once by gluebench (vectorised, all metrics per resample
batch) and once the usual way (a Python loop calling scikit-learn/scipy on each
resample). Then the whole `gluebench score` command is timed on all dev sets.

    python benchmarks/bench_score.py --data-dir ../shared/data/glue
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn import metrics as skm

from gluebench.baselines import write_baseline
from gluebench.benchmark.scoring import load_gold, read_aligned, score_entry
from gluebench.benchmark.sources import DirectorySource
from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.cli import main as gluebench

USUAL = {
    "accuracy": skm.accuracy_score, "f1": skm.f1_score, "mcc": skm.matthews_corrcoef,
    "r3": skm.matthews_corrcoef,
    "pearson": lambda t, p: stats.pearsonr(t, p)[0],
    "spearman": lambda t, p: stats.spearmanr(t, p)[0],
}


def usual_bootstrap(metrics, gold, pred, n_resamples=1000, seed=0):
    rng = np.random.default_rng(seed)
    reps = {m: [] for m in metrics}
    for _ in range(n_resamples):
        idx = rng.integers(0, len(gold), len(gold))
        for m in metrics:
            reps[m].append(USUAL[m](gold[idx], pred[idx]))
    return {m: np.quantile(v, [0.025, 0.975]) for m, v in reps.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data/glue")
    ap.add_argument("--out", default="benchmarks/results/cpu-score.json")
    args = ap.parse_args()
    source = DirectorySource(args.data_dir)
    tmp = Path(tempfile.mkdtemp())
    write_baseline("random", source, "dev", tmp, BENCHMARKS.values(), seed=0)
    rows = {}
    print(f"{'entry':8} {'n':>6} {'gluebench s':>12} {'usual s':>9} {'ratio':>7}")
    for name in (n for n in BENCHMARKS if (tmp / BENCHMARKS[n].submission_file).exists()):
        b = BENCHMARKS[name]
        gold = load_gold(source, b, "dev")
        pred = read_aligned(tmp / b.submission_file, b, gold)
        t0 = time.perf_counter()
        score_entry(b, gold, pred)
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        usual_bootstrap(b.metrics, gold.labels, pred)
        usual = time.perf_counter() - t0
        rows[name] = {"n": len(gold), "gluebench_s": ours, "usual_s": usual,
                      "speedup": usual / ours}
        print(f"{name:8} {len(gold):6d} {ours:12.3f} {usual:9.2f} {usual / ours:7.1f}x")
    t0 = time.perf_counter()
    code = gluebench(["score", "--data-dir", args.data_dir, "--predictions", str(tmp),
                      "--json", str(tmp / "r.json")])
    total = time.perf_counter() - t0
    assert code == 0
    print(f"gluebench score on all {len(rows)} available dev sets (1000 resamples, incl. "
          f"loading and AX categories): {total:.2f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"entries": rows, "score_command_s": total}, indent=2))
    speed = sum(r["usual_s"] for r in rows.values()) / sum(r["gluebench_s"] for r in rows.values())
    print(f"speedup_bootstrap={speed:.2f}")


if __name__ == "__main__":
    main()
