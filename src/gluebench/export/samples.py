"""``gluebench export samples``: one JSONL per entry with every dev example's id, inputs, gold
label, prediction and scores, so a run can be audited and compared in other tools.

A classifier run's line holds the class probabilities (``outputs/<Entry>.npz``); a prompted
run's line has the shape of lm-evaluation-harness's ``--log_samples`` (``prompted_samples``).
Every file is built before the first one is written, and each is written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gluebench.errors import UsageError
from gluebench.export.prompted_samples import PromptRebuilder, prompted_records
from gluebench.export.run_data import (
    EntryOutputs,
    dev_entries,
    entry_outputs,
    read_run,
    run_source,
)
from gluebench.formats.atomic import atomic_write

SAMPLES_DIR = "samples"      # the default output folder, inside the run


def export_samples(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
                   data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Write ``<Entry>.jsonl`` per dev entry of the run into ``out_dir``; return the paths."""
    results = read_run(run_dir)
    source = run_source(results, data_dir)
    entries = dev_entries(results)
    if not entries:
        raise UsageError(f"{run_dir}: the run has no dev outputs to export (was it run with "
                         "--splits test only?)")
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / SAMPLES_DIR
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: is a file; expected a folder to write the samples into")
    prompts = PromptRebuilder(results) if results.get("kind") == "prompt" else None
    texts = {entry: _jsonl(_records(entry_outputs(run_dir, results, entry, source), prompts))
             for entry in entries}
    return [atomic_write(out / f"{entry}.jsonl", text) for entry, text in texts.items()]


def _records(entry: EntryOutputs, prompts: PromptRebuilder | None) -> list[dict]:
    if prompts is not None and entry.loglikelihoods is not None:
        return prompted_records(entry, prompts)
    return classifier_records(entry)


def classifier_records(entry: EntryOutputs) -> list[dict]:
    """One line per example: id, inputs, gold, prediction, probabilities (or STS-B's score)."""
    task, ex = entry.examples.task, entry.examples
    records = []
    for i in range(len(ex)):
        record = {"id": int(ex.index[i]), "entry": entry.benchmark.name,
                  "inputs": {f: ex.inputs[f][i] for f in task.input_fields}}
        if task.labels is None:
            gold, pred = float(ex.labels[i]), float(entry.predictions[i])
            record.update(gold=gold, prediction=pred, output=float(entry.outputs[i]),
                          abs_error=abs(pred - gold))
        else:
            gold, pred = int(ex.labels[i]), int(entry.predictions[i])
            record.update(gold=task.labels[gold], prediction=task.labels[pred],
                          probabilities=dict(zip(task.labels, map(float, entry.outputs[i]),
                                                 strict=True)),
                          correct=gold == pred)
        records.append(record)
    return records


def _jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
