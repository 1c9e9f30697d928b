"""A prompted model on one suite task: an ``ExampleTable`` in, predictions out.

Each row is one request: its context (demonstrations, then the row) and one continuation
per answer choice (``suite_templates``). The prediction is the choice with the highest
log-likelihood (lm-eval's ``acc``), read through the template's ``predicts``: a class id,
or ReCoRD's entity text. Rows may have different numbers of choices (ReCoRD's entities),
so requests are scored in groups of equal width and the scores kept per row.

Calibration (Zhao et al., 2021, as ``choices.calibrate_log``) needs the same answer texts
on every row; where a template's choices hold the row's text (COPA, MultiRC's lm-eval
template, ReCoRD) the content-free distribution is undefined and the reason is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gluebench.benchmark.suite import TaskDef
from gluebench.benchmark.table import ExampleTable
from gluebench.errors import UsageError
from gluebench.lm import choices as lm_scoring
from gluebench.lm.requests import Request
from gluebench.lm.suite_inputs import prompt_fields
from gluebench.lm.suite_templates import FIELD, SuiteTemplate, few_shot_context


@dataclass
class SuitePrediction:
    values: list | np.ndarray            # (n,) class ids, or entity texts (ReCoRD)
    chosen: np.ndarray                   # (n,) the index of the chosen continuation
    scores: list[np.ndarray]             # per row: each choice's log-likelihood
    probabilities: np.ndarray | None     # (n, k) in label order (fixed-choice tasks)
    normalised: list | np.ndarray | None = None   # acc_norm predictions
    calibrated: np.ndarray | None = None
    calibration_undefined: str | None = None


def row_fields(table: ExampleTable, i: int) -> dict:
    return prompt_fields(table.task.name, {f: table.inputs[f][i] for f in table.inputs})


@dataclass
class SuitePromptPredictor:
    task: TaskDef
    backend: object                      # HFBackend or EndpointBackend (loglikelihoods)
    template: SuiteTemplate
    demos: list[dict] = field(default_factory=list)   # {"index", "inputs", "choice"}
    calibrate: bool = False

    def context(self, fields: dict) -> str:
        shown = [(prompt_fields(self.task.name, d["inputs"]), d["choice"]) for d in self.demos]
        return few_shot_context(self.template, shown, fields)

    def requests(self, table: ExampleTable) -> list[Request]:
        out = []
        for i in range(len(table)):
            fields = row_fields(table, i)
            conts = self.template.continuations(fields)
            if not conts:
                raise UsageError(f"{table.source}: row {i} (idx {table.ids[i]}) has no answer "
                                 "choices (a ReCoRD passage without entities?)")
            out.append(Request(self.context(fields), conts,
                               f"{self.task.name} {table.split} example {table.ids[i]}"))
        return out

    def demonstrations(self, pool: ExampleTable, shots: int, seed: int) -> None:
        """Draw ``shots`` demonstrations from ``pool`` (the task's train rows), seeded."""
        self.demos = draw_demos(pool, self.template, shots, seed)

    def choice_scores(self, requests: list[Request], progress=None) -> list[np.ndarray]:
        """Per request, each continuation's log-likelihood; equal widths scored together.

        ReCoRD's choices (the query with each entity) differ from their first tokens, so
        each is a forward pass of its own: one request at a time, its passage is a prefix
        they all share and the backend computes it once (instead of once per entity)."""
        out: list = [None] * len(requests)
        if self.template.entity_choice is not None:
            calls = [[i] for i in range(len(requests))]
        else:
            calls = [[i for i, r in enumerate(requests) if len(r.continuations) == width]
                     for width in sorted({len(r.continuations) for r in requests})]
        for rows in calls:
            group = [requests[i] for i in rows]
            scores = self.backend.loglikelihoods(group, progress)
            lm_scoring.check_scores(group, scores, unseen_ok=False)
            for i, row_scores in zip(rows, scores, strict=True):
                out[i] = np.asarray(row_scores, dtype=np.float64)
        return out

    def predict(self, table: ExampleTable, progress=None) -> SuitePrediction:
        requests = self.requests(table)
        if progress is not None:
            progress.start_inference(len(requests))
        scores = self.choice_scores(requests, progress)
        fields = [row_fields(table, i) for i in range(len(table))]
        chosen = np.array([int(np.argmax(s)) for s in scores], dtype=np.int64)
        norm = [int(np.argmax(s / [max(1, len(c.strip())) for c in r.continuations]))
                for s, r in zip(scores, requests, strict=True)]
        out = SuitePrediction(self._values(fields, chosen), chosen, scores,
                              self._probabilities(scores), self._values(fields, norm))
        if self.calibrate:
            self._calibrated(out)
        return out

    def _values(self, fields: list[dict], chosen) -> list | np.ndarray:
        values = [self.template.prediction(self.task, f, int(j))
                  for f, j in zip(fields, chosen, strict=True)]
        return values if self.template.entity_choice is not None else np.asarray(values)

    def _probabilities(self, scores: list[np.ndarray]) -> np.ndarray | None:
        """(n, k) choice probabilities in the task's label order (fixed-choice tasks)."""
        if self.template.entity_choice is not None:
            return None
        order = [self.template.predicts.index(label) for label in self.task.labels]
        return lm_scoring.probabilities(np.stack(scores))[:, order]

    def content_free_log(self) -> np.ndarray:
        """log p_cf over the content-free inputs, in the template's choice order."""
        requests = [Request(self.context(inputs), self.template.continuations({}),
                            f"{self.task.name} content-free input {text!r}")
                    for text, inputs in zip(lm_scoring.CONTENT_FREE,
                                            self._content_free_inputs(), strict=True)]
        return lm_scoring.content_free_log(np.stack(self.choice_scores(requests)))

    def _content_free_inputs(self) -> list[dict]:
        fields = {m.group(1) for m in FIELD.finditer(self.template.text)}
        return [{f: text for f in fields} for text in lm_scoring.CONTENT_FREE]

    def _calibrated(self, out: SuitePrediction) -> None:
        if not self.template.fixed_choices or not _plain_text(self.template):
            out.calibration_undefined = (
                f"{self.task.name}/{self.template.name}: the answer choices (or the fields the "
                "prompt derives) depend on each example, so there is no content-free "
                "distribution over them to divide by")
            return
        log_cf = self.content_free_log()
        log_probs = lm_scoring.log_probabilities(np.stack(out.scores))
        chosen = lm_scoring.calibrate_log(log_probs, log_cf).argmax(axis=1)
        out.calibrated = np.asarray([self.task.labels.index(self.template.predicts[j])
                                     for j in chosen])


def draw_demos(pool: ExampleTable, template: SuiteTemplate, shots: int, seed: int
               ) -> list[dict]:
    """``shots`` rows of ``pool`` with gold labels, each with the choice its gold shows; plain
    JSON (saved in a run). The pool is a train split, so no evaluated row is among them."""
    if shots == 0:
        return []
    rows = np.flatnonzero(pool.scored())
    if len(rows) < shots:
        raise UsageError(f"{pool.source} has {len(rows)} labelled examples; --shots {shots} "
                         f"needs at least that many")
    picked = np.random.default_rng([seed, shots]).permutation(rows)[:shots]
    out = []
    for i in picked:
        inputs = {f: _plain(pool.inputs[f][i]) for f in pool.inputs}
        gold = pool.answers[i] if pool.answers is not None else pool.labels[i]
        out.append({"index": int(pool.ids[i]), "inputs": inputs, "choice": template.gold_choice(
            pool.task, prompt_fields(pool.task.name, inputs), gold)})
    return out


def _plain(value):
    """A table cell as JSON: numpy numbers as Python ones, lists as lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def _plain_text(template: SuiteTemplate) -> bool:
    """Whether the prompt uses input fields only (no field derived from several inputs)."""
    derived = {"connector", "word1", "marked_passage", "highlights"}
    return not any(m.group(1) in derived for m in FIELD.finditer(template.text))
