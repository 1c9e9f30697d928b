"""A prompted run's samples in the shape of lm-evaluation-harness's ``--log_samples``.

Fields mirrored from lm-eval 0.4.13 (``evaluator.py``, one line per doc): ``doc_id``, ``doc``
(the Hugging Face row: its column names, ``label``, ``idx``), ``target`` (the gold label id, as
GLUE's ``doc_to_target: label``; STS-B: the gold score), ``arguments`` (one ``[context,
continuation]`` per choice), ``resps`` and ``filtered_resps`` (per choice ``[loglikelihood,
is_greedy]``; ``is_greedy`` is ``null``: a run does not record it), ``filter`` (``none``),
``metrics``, the metric values (``acc``; STS-B: ``abs_error``), and ``doc_hash``,
``prompt_hash``, ``target_hash`` (sha256 as lm-eval computes them). Added: ``prediction``.

The prompts are rebuilt from what the run recorded (the template's text and choices, the drawn
demonstrations), the same way ``lm.predictor`` built them.
"""

from __future__ import annotations

import hashlib
import json

from gluebench.benchmark.tasks import Task
from gluebench.errors import UsageError
from gluebench.export.run_data import EntryOutputs
from gluebench.lm import fewshot
from gluebench.lm.templates import Template, few_shot_prompt, template_task

FILTER = "none"    # lm-eval's name for the unfiltered responses


class PromptRebuilder:
    """The prompt each example of a prompted run was given, from the run's ``training`` record."""

    def __init__(self, results: dict):
        self.training = results.get("training", {})

    def template(self, task: Task) -> tuple[Template, dict | None]:
        recorded = self.training.get(task.name) or self.training.get(template_task(task), {})
        prompt = recorded.get("prompt")
        if not prompt or "template_text" not in prompt:
            raise UsageError(f"the run records no prompt for {task.name}; expected a "
                             "`gluebench prompt` run's results.json")
        template = Template(template_task(task), prompt["template"], prompt["template_text"],
                            tuple(prompt["choices"]), prompt.get("source", ""))
        return template, prompt.get("demos")

    def context(self, template: Template, demos: dict | None, task: Task,
                inputs: dict[str, str], index: int) -> str:
        shots = [] if demos is None else fewshot.for_example(demos, task, "dev", index)
        return few_shot_prompt(template, [(d["inputs"], d["choice"]) for d in shots], inputs)


def prompted_records(entry: EntryOutputs, prompts: PromptRebuilder) -> list[dict]:
    task, ex = entry.examples.task, entry.examples
    template, demos = prompts.template(task)
    if entry.loglikelihoods.shape[1] != len(template.choices):
        raise UsageError(f"{entry.benchmark.name}: the run saved {entry.loglikelihoods.shape[1]} "
                         f"log-likelihoods per example, but its template has "
                         f"{len(template.choices)} choices")
    records = []
    for i in range(len(ex)):
        inputs = {f: ex.inputs[f][i] for f in task.input_fields}
        context = prompts.context(template, demos, task, inputs, int(ex.index[i]))
        records.append(_record(task, entry, i, inputs, context, template))
    return records


def _record(task: Task, entry: EntryOutputs, i: int, inputs: dict[str, str], context: str,
            template: Template) -> dict:
    doc_id = int(entry.examples.index[i])
    gold = entry.examples.labels[i]
    target = float(gold) if task.labels is None else int(gold)
    doc = {**dict(zip(task.hf_fields, inputs.values(), strict=True)), "label": target,
           "idx": doc_id}
    resps = [[float(ll), None] for ll in entry.loglikelihoods[i]]
    metrics = _metrics(task, target, entry.predictions[i])
    return {"doc_id": doc_id, "doc": doc, "target": target,
            "arguments": [[context, c] for c in template.continuations()],
            "resps": [[r] for r in resps], "filtered_resps": resps, "filter": FILTER,
            "metrics": list(metrics), **metrics,
            "doc_hash": _sha256(json.dumps(doc, indent=2, ensure_ascii=False)),
            "prompt_hash": _sha256(context), "target_hash": _sha256(str(target)),
            "prediction": _prediction(task, entry.predictions[i])}


def _metrics(task: Task, target, predicted) -> dict[str, float]:
    if task.labels is None:
        return {"abs_error": abs(float(predicted) - target)}
    return {"acc": float(int(predicted) == target)}


def _prediction(task: Task, value):
    return float(value) if task.labels is None else task.labels[int(value)]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
