"""TEMPORARY stand-in for gluebench.submission.inspect_submission (branch zipparse)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from gluebench.predictions import Predictions, check_predictions
from gluebench.tasks import BENCHMARKS, get_task


@dataclass
class SubmissionCheck:
    problems: list[str] = field(default_factory=list)
    predictions: dict[str, Predictions] = field(default_factory=dict)


def inspect_submission(source, *, split="test", label=None):
    label = label or "upload"
    out = SubmissionCheck()
    try:
        zf = zipfile.ZipFile(io.BytesIO(source))
    except zipfile.BadZipFile:
        return SubmissionCheck([f"{label}: not a zip file"])
    names = zf.namelist()
    for n in names:
        if n not in {b.submission_file for b in BENCHMARKS.values()}:
            out.problems.append(f"{label}: unexpected file {n[:80]}")
    for name, b in BENCHMARKS.items():
        if b.submission_file not in names:
            out.problems.append(f"{label}: missing {b.submission_file}")
            continue
        size = get_task(b.task).files[b.file_key(split)].size
        info = zf.getinfo(b.submission_file)
        if info.file_size > 64 * size + 1000:
            out.problems.append(f"{label}:{b.submission_file}: too large")
            continue
        preds, problems = check_predictions(f"{label}:{b.submission_file}", b, size,
                                            raw=zf.read(b.submission_file))
        out.problems.extend(str(p) for p in problems)
        if preds is not None:
            out.predictions[name] = preds
    return out
