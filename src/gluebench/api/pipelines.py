"""A ``transformers`` text-classification pipeline as a predictor.

The pipeline's label for an example (``LABEL_1``, ``entailment``, ``POSITIVE``) becomes a
label of the task's vocabulary by the model config's label order: the label's id in
``config.label2id`` (else the ``LABEL_<i>`` suffix) is the position in the task's official
label list (``gluebench tasks``: RTE 0 = entailment; CoLA, SST-2 0 = "0"), which is how a
model fine-tuned on that task's ids numbers its outputs. A label that already is a word of
the task's vocabulary is kept as it is. Regression tasks (STS-B) take the raw output
(``function_to_apply="none"``). Pairs go in as ``{"text": a, "text_pair": b}``.
"""

from __future__ import annotations

import re
import sys

from gluebench.benchmark.suite import Suite
from gluebench.benchmark.tasks import get_task
from gluebench.errors import UsageError


def is_pipeline(model) -> bool:
    """Whether ``model`` is a ``transformers.Pipeline`` (without importing transformers)."""
    transformers = sys.modules.get("transformers")
    return transformers is not None and isinstance(model, transformers.Pipeline)


class PipelinePredictor:
    """``predict(task, inputs)`` through a text-classification pipeline (see the module doc)."""

    def __init__(self, pipeline, suite: Suite | None = None):
        self.pipeline = pipeline
        self.suite = suite
        config = pipeline.model.config
        self.label2id = {str(k): int(v) for k, v in (config.label2id or {}).items()}

    def vocabulary(self, task: str) -> tuple[str, ...] | None:
        """The task's labels in the official order (``None``: a score task)."""
        if self.suite is None:
            return get_task(task).labels
        definition = self.suite.task(task)
        if definition.target == "entity":
            raise UsageError(f"{task}: a text-classification pipeline cannot pick entities; "
                             "wrap the model in an object with predict(task, inputs)")
        return None if definition.target == "score" else definition.labels

    def predict(self, task: str, inputs: list[dict[str, str]]) -> list:
        labels = self.vocabulary(task)
        if inputs and len(inputs[0]) > 2:
            raise UsageError(f"{task}: a text-classification pipeline takes one text or a pair; "
                             f"{task} has {len(inputs[0])} input fields ({', '.join(inputs[0])}); "
                             "wrap the model in an object with predict(task, inputs)")
        texts = [_pipeline_input(row) for row in inputs]
        if labels is None:
            outputs = self.pipeline(texts, function_to_apply="none")
            return [float(o["score"]) for o in _flat(outputs)]
        return [self.label(task, labels, o["label"]) for o in _flat(self.pipeline(texts))]

    def label(self, task: str, labels: tuple[str, ...], name: str) -> str:
        """The pipeline's label as a word of the task's vocabulary (by the config's ids)."""
        if name in labels:
            return name
        found = re.fullmatch(r"LABEL_(\d+)", name)
        ident = self.label2id.get(name, int(found.group(1)) if found else None)
        if ident is None or not 0 <= ident < len(labels):
            raise UsageError(f"{task}: the pipeline's label {name!r} has no place in the task's "
                             f"labels ({', '.join(labels)}); expected LABEL_<i> or a label2id "
                             f"entry with 0 <= i < {len(labels)}")
        return labels[ident]


def _pipeline_input(row: dict[str, str]):
    """One example: one text, or its two fields as a pair (premise, hypothesis)."""
    values = list(row.values())
    if len(values) == 1:
        return values[0]
    return {"text": values[0], "text_pair": values[1]}


def _flat(outputs) -> list[dict]:
    """A pipeline's outputs, one dict per example (top_k=1 may nest them in lists)."""
    return [o[0] if isinstance(o, list) else o for o in outputs]
