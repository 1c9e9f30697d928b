"""Snapshot what gluebench writes, to show that a refactoring changes nothing for users.

    python scripts/behaviour_snapshot.py OUT [--data-dir DIR] [--inputs BEFORE/runs] [--quick]

Runs a fine-tuning run, a probe run and a prompted run (small, seeded, the embedded models) into
``OUT/runs``, then derives from the run folders (``--inputs``: another snapshot's runs, so that
derived files are compared on identical inputs) the score JSON and Markdown, the HTML and
Markdown reports and submission zips into ``OUT/derived``. Every JSON file is also written
masked (``*.masked.json``): timings, dates, versions of the environment and paths replaced by a
placeholder. Compare two snapshots with ``diff -r``, e.g.::

    PYTHONPATH=old/src python scripts/behaviour_snapshot.py /tmp/before
    python scripts/behaviour_snapshot.py /tmp/after --inputs /tmp/before/runs
    diff -r -x '*.json' -x '*.npz' -x '*.safetensors' /tmp/before /tmp/after  # files as written
    diff <(cd /tmp/before && find . -name '*.masked.json' | sort | xargs cat) \
         <(cd /tmp/after && find . -name '*.masked.json' | sort | xargs cat)   # JSON, masked
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

MASKED = "<masked>"
# Keys whose values legitimately change from one run to the next.
VOLATILE = re.compile(r"(second|per_sec|time|date|started|finished|elapsed|when|host|pid|memory|"
                      r"peak|version|python|platform|torch|cpu|threads|path|dir|output|created|"
                      r"checksum|sha256|fingerprint|hash|_at$|duration|ms$|latency|throughput)",
                      re.IGNORECASE)
# Values that embed this machine's paths or dates, inside otherwise stable strings.
TEMP = re.compile(r"(/tmp/[^\s\"']*|\d{4}-\d\d-\d\dT[\d:.+]+Z?)")


def gluebench(*args: str) -> None:
    cmd = [sys.executable, "-m", "gluebench", *args]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def make_runs(runs: Path, data: str, quick: bool) -> None:
    common = ["--data-dir", data, "--splits", "dev", "--no-progress"]
    gluebench("finetune", *common, "--tasks", "RTE,STS-B", "--max-train-examples", "64",
              "--epochs", "1", "--seeds", "1,2",
              "-o", str(runs / "finetune"))
    gluebench("finetune", *common, "--method", "probe", "--tasks", "RTE,MRPC,STS-B",
              "--max-train-examples", "200",
              "-o", str(runs / "probe"))
    if not quick:
        gluebench("prompt", *common, "--tasks", "RTE", "--max-eval-examples", "12",
                  "-o", str(runs / "prompt"))


def derive(runs: Path, derived: Path, data: str) -> None:
    derived.mkdir(parents=True, exist_ok=True)
    for run in sorted(p for p in runs.iterdir() if (p / "results.json").is_file()):
        name = run.name
        if name != "prompt":   # a prompted run here scores a dev subsample: not `score`-able
            gluebench("score", "--data-dir", data, "--split", "dev",
                      "--predictions", str(run / "predictions" / "dev"),
                      "--json", str(derived / f"score-{name}.json"),
                      "--markdown", str(derived / f"score-{name}.md"))
        gluebench("report", str(run), "-o", str(derived / f"report-{name}.html"),
                  "-o", str(derived / f"report-{name}.md"))
    gluebench("baseline", "majority", "--data-dir", data, "--split", "test",
              "-o", str(derived / "majority-test"))
    gluebench("submission", "--predictions", str(derived / "majority-test"),
              "-o", str(derived / "submission-majority.zip"), "--fill-missing")


def mask(value):
    if isinstance(value, dict):
        return {k: MASKED if VOLATILE.search(k) else mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    if isinstance(value, str):
        return TEMP.sub(MASKED, value)
    return value


def mask_all(root: Path) -> None:
    for path in sorted(root.rglob("*.json")):
        if path.name.endswith(".masked.json"):
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        out = path.with_name(path.stem + ".masked.json")
        out.write_text(json.dumps(mask(doc), indent=1, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2]
                                                  / "shared" / "data" / "glue"))
    parser.add_argument("--inputs", type=Path, help="derive from these runs (another snapshot)")
    parser.add_argument("--quick", action="store_true", help="no prompted run (no SmolLM2)")
    args = parser.parse_args()
    make_runs(args.out / "runs", args.data_dir, args.quick)
    derive(args.inputs or args.out / "runs", args.out / "derived", args.data_dir)
    mask_all(args.out)


if __name__ == "__main__":
    main()
