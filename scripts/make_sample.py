"""Rebuild the bundled sample (src/gluebench/sample_data/glue) from a full GLUE folder.

A seeded subset of each available file, lines copied verbatim (so the sample
keeps the real files' quirks: BOM, CRLF, no header, reduced columns).

    python scripts/make_sample.py ../shared/data/glue
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from gluebench.benchmark.tasks import TASKS

ROWS = {"train": 200, "dev": 100, "test": 50}
OUT = Path(__file__).resolve().parents[1] / "src" / "gluebench" / "sample_data" / "glue"


def subset(src: Path, dst: Path, k: int, has_header: bool, seed: int) -> None:
    raw = src.read_bytes()
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    lines = raw.split(newline)
    while lines and not lines[-1].strip():
        lines.pop()
    head, body = (lines[:1], lines[1:]) if has_header else ([], lines)
    keep = sorted(random.Random(seed).sample(range(len(body)), min(k, len(body))))
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(newline.join(head + [body[i] for i in keep]) + newline)


def main(glue_dir: str) -> None:
    for task in TASKS.values():
        for key, spec in task.files.items():
            src = Path(glue_dir) / spec.path
            if src.is_file():
                # AX's two files share a seed, so the sample keeps them row-aligned.
                k = ROWS.get(key.split("_")[0], 100) if task.name != "AX" else 300
                subset(src, OUT / spec.path, k, spec.header is None, seed=len(spec.path) * 7
                       if task.name != "AX" else 0)
                print(f"{spec.path}: {k} rows")


if __name__ == "__main__":
    main(sys.argv[1])
