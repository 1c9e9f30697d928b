"""Adversarial GLUE (Wang et al. 2021): its dev set, and scoring by its official rules.

``dev.json`` maps ``sst2, qqp, mnli, mnli-mm, qnli, rte`` to lists of
``{"idx", "label", <the GLUE task's input fields>}``; labels use the GLUE (and our)
label order. The official ``evaluate.py`` (AI-secure/adversarial-glue) scores each
task with its GLUE metrics, averaged when there are two (QQP: accuracy and F1),
scores ``mnli-mm`` with the MNLI metric, replaces ``mnli`` by the mean of ``mnli`` and
``mnli-mm``, and reports the mean over tasks as the AdvGLUE score.

The annotated copy (``dev_ann.json``, same items) adds ``original_<field>``: the
benign sentence each attack started from. Where present we also score the model on
those originals, a paired clean-versus-attacked comparison on the same items.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gluebench.benchmark.sources import Examples
from gluebench.benchmark.tasks import get_task
from gluebench.errors import DataError
from gluebench.formats.atomic import read_json

# AdvGLUE key -> (GLUE task whose model answers it, GLUE entry whose metrics score it)
ADV_TASKS = {"sst2": ("SST-2", "SST-2"), "qqp": ("QQP", "QQP"), "mnli": ("MNLI", "MNLI-m"),
             "mnli-mm": ("MNLI", "MNLI-mm"), "qnli": ("QNLI", "QNLI"), "rte": ("RTE", "RTE")}


def read_advglue(path: str | Path) -> dict[str, list[dict]]:
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "AdvGLUE file not found (the dev set is dev.json from "
                        "https://adversarialglue.github.io)")
    raw = read_json(path)
    unknown = [k for k in raw if k not in ADV_TASKS]
    if unknown:
        raise DataError(path, f"expected an object with keys {', '.join(ADV_TASKS)}; "
                        f"found {', '.join(map(str, unknown))}")
    return raw


def _examples(key: str, items: list[dict], path: Path, *, original: bool) -> Examples:
    task = get_task(ADV_TASKS[key][0])
    inputs: dict[str, list[str]] = {f: [] for f in task.input_fields}
    labels, index = [], []
    for position, item in enumerate(items):
        try:
            for f in task.input_fields:
                text = item.get(f"original_{f}", item[f]) if original else item[f]
                inputs[f].append(str(text))
            label = int(item["label"])
            index.append(int(item["idx"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(path, f"{key} item {position}: expected idx, label and "
                            f"{', '.join(task.input_fields)} ({exc!r})") from None
        if not 0 <= label < len(task.labels):
            raise DataError(path, f"{key} item {position}: label {label} is not one of "
                            f"0..{len(task.labels) - 1} ({', '.join(task.label_names)})")
        labels.append(label)
    split = "advglue-original" if original else "advglue"
    return Examples(task, split, str(path), np.asarray(index, np.int64), inputs,
                    np.asarray(labels, np.int64))


def load_advglue(path: str | Path) -> dict[str, tuple[Examples, Examples | None]]:
    """Per AdvGLUE key: the adversarial examples, and the benign originals where annotated.

    The originals come from the file itself or from ``dev_ann.json`` beside it, and
    cover only the items with an ``original_*`` field (the rest were written by hand).
    """
    path = Path(path)
    raw = read_advglue(path)
    annotated = path.with_name("dev_ann.json")
    notes = read_advglue(annotated) if annotated.is_file() and annotated != path else raw
    out = {}
    for key, items in raw.items():
        adversarial = _examples(key, items, path, original=False)
        ann = notes.get(key, [])
        rows = [i for i, item in enumerate(ann)
                if any(k.startswith("original_") for k in item)]
        originals = None
        if rows and len(ann) == len(items):
            originals = _examples(key, [ann[i] for i in rows], annotated, original=True)
            originals.meta["rows"] = [str(r) for r in rows]
        out[key] = (adversarial, originals)
    return out


def advglue_score(entry_scores: dict[str, float]) -> float | None:
    """The official aggregate: MNLI is the mean of mnli and mnli-mm, then the task mean."""
    scores = dict(entry_scores)
    if "mnli" in scores and "mnli-mm" in scores:
        scores["mnli"] = (scores["mnli"] + scores.pop("mnli-mm")) / 2
    return float(np.mean(list(scores.values()))) if scores else None
