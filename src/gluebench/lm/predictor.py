"""A prompted model for one task as a predictor: examples in, labels and probabilities out.

The same object predicts in ``gluebench prompt`` and, rebuilt from a run's
``results.json`` (``training.<Task>.prompt``), in ``gluebench robustness``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gluebench.benchmark.logits import Prediction
from gluebench.benchmark.predictions import as_written
from gluebench.benchmark.sources import Examples
from gluebench.benchmark.tasks import Task
from gluebench.errors import UsageError
from gluebench.lm import choices as lm_scoring
from gluebench.lm import fewshot
from gluebench.lm.backends import backend_for_run
from gluebench.lm.requests import Request
from gluebench.lm.templates import Template, few_shot_prompt, get_template


@dataclass
class PromptedPrediction(Prediction):
    scores: np.ndarray | None = None          # (n, k) per-choice log-likelihoods (log-probs)
    normalised: np.ndarray | None = None      # acc_norm predictions (ll only)
    calibrated: np.ndarray | None = None      # values after contextual calibration
    calibration_undefined: str | None = None  # why there are none (first_token: see scoring)
    parsed: np.ndarray | None = None          # generate: which answers parsed


@dataclass
class PromptPredictor:
    task: Task
    backend: object               # HFBackend or EndpointBackend
    template: Template
    demos: dict | None            # fewshot.draw's JSON, or None for 0-shot
    scoring: str = "ll"
    calibrate: bool = False
    top_k: int = 20
    max_new_tokens: int = 8
    content_free: list | None = field(default=None)   # p_cf, computed on first use
    _log_content_free: np.ndarray | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_setup(cls, task: Task, backend, setup: dict) -> PromptPredictor:
        """Rebuild from the ``prompt`` facts a run records per task."""
        return cls(task, backend, get_template(task, setup["template"]), setup.get("demos"),
                   setup["scoring"], setup["calibrate"], setup["top_k"],
                   setup["max_new_tokens"], setup.get("content_free"))

    def setup(self) -> dict:
        return {"template": self.template.name, "template_text": self.template.text,
                "choices": list(self.template.choices), "source": self.template.source,
                "shots": len(self.demos["shots"]) if self.demos else 0, "demos": self.demos,
                "scoring": self.scoring, "calibrate": self.calibrate, "top_k": self.top_k,
                "max_new_tokens": self.max_new_tokens, "content_free": self.content_free}

    def prompt(self, inputs: dict[str, str], task: Task, split: str, index: int) -> str:
        """Demonstrations (the spare in place of the example itself), then the example."""
        shots = [] if self.demos is None else fewshot.for_example(self.demos, task, split, index)
        return few_shot_prompt(self.template, [(d["inputs"], d["choice"]) for d in shots],
                               inputs)

    def requests(self, examples: Examples) -> list[Request]:
        split = examples.split.partition("+")[0]   # robustness names perturbed splits dev+x
        fields = list(examples.inputs)
        conts = tuple(self.template.continuations())
        return [Request(self.prompt({f: examples.inputs[f][i] for f in fields}, examples.task,
                                    split, int(examples.index[i])), conts,
                        f"{examples.task.name} {examples.split} example {examples.index[i]}")
                for i in range(len(examples))]

    def choice_scores(self, requests: list[Request], progress=None) -> np.ndarray:
        """(n, k) log-probabilities, checked: NaN or +inf from a backend is an error."""
        if self.scoring == "first_token":
            scores = self.backend.first_token(requests, self.top_k, progress)
        else:
            scores = self.backend.loglikelihoods(requests, progress)
        lm_scoring.check_scores(requests, scores, unseen_ok=self.scoring == "first_token")
        return scores

    def content_free_log(self) -> np.ndarray:
        """Zhao et al.'s log p_cf: the mean choice distribution over content-free inputs."""
        if self._log_content_free is None and self.content_free is None:
            requests = [Request(self.prompt(inputs, self.task, "content-free", -1),
                                tuple(self.template.continuations()),
                                f"{self.task.name} content-free input {text!r}")
                        for text, inputs in zip(lm_scoring.CONTENT_FREE,
                                                lm_scoring.content_free_inputs(self.task),
                                                strict=True)]
            self._log_content_free = lm_scoring.content_free_log(self.choice_scores(requests))
            self.content_free = np.exp(self._log_content_free).tolist()
        elif self._log_content_free is None:     # rebuilt from a run's record
            with np.errstate(divide="ignore"):
                self._log_content_free = np.log(np.asarray(self.content_free, dtype=float))
        return self._log_content_free

    def _calibrated(self, out: PromptedPrediction, log_probs: np.ndarray) -> None:
        log_cf = self.content_free_log()
        unseen = [self.template.choices[j] for j in np.flatnonzero(~np.isfinite(log_cf))]
        if unseen:
            out.calibration_undefined = (
                f"{', '.join(map(repr, unseen))} in none of the content-free inputs' top-"
                f"{self.top_k}, so p_cf is unknown and calibration would divide by zero; "
                "raise --top-k or use --scoring ll")
            return
        calibrated = np.exp(lm_scoring.calibrate_log(log_probs, log_cf))
        out.calibrated = as_written(self.task, lm_scoring.values_from_probabilities(
            self.task, calibrated))

    def predict(self, examples: Examples, progress=None) -> PromptedPrediction:
        requests = self.requests(examples)
        if progress is not None:
            progress.start_inference(len(requests))
        if self.scoring == "generate":
            return self._generated(requests, progress)
        scores = self.choice_scores(requests, progress)
        log_probs = lm_scoring.log_probabilities(scores)
        probs = np.exp(log_probs)
        values = as_written(self.task, lm_scoring.values_from_probabilities(self.task, probs))
        out = PromptedPrediction(values, _outputs(self.task, values, probs), scores=scores)
        if not self.task.is_regression and self.scoring == "ll":
            out.normalised = lm_scoring.length_normalised(self.template, scores)
        if self.calibrate:
            self._calibrated(out, log_probs)
        return out

    def _generated(self, requests: list[Request], progress) -> PromptedPrediction:
        texts = self.backend.generate([r.context for r in requests], self.max_new_tokens,
                                      progress)
        answers = [lm_scoring.parse_answer(self.task, self.template, t) for t in texts]
        values, outputs, parsed = lm_scoring.parsed_outputs(self.task, answers)
        return PromptedPrediction(as_written(self.task, values), outputs, parsed=parsed)


def _outputs(task: Task, values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """What ``outputs/*.npz`` holds: class probabilities, or STS-B's (expected) scores."""
    return values.astype(np.float64) if task.is_regression else probs


def prompted_run_predictor(run_dir, results: dict, task: Task, device: str = "auto"
                           ) -> PromptPredictor:
    """The predictor a ``gluebench prompt`` run used for ``task`` (for ``robustness``)."""
    setup = (results.get("training", {}).get(task.name) or {}).get("prompt")
    if setup is None:
        have = [t for t, v in results.get("training", {}).items() if v.get("prompt")]
        raise UsageError(f"{run_dir}: no prompted {task.name} model in this run "
                         f"(it has: {', '.join(have) or 'none'})")
    return PromptPredictor.from_setup(task, backend_for_run(results, run_dir, device), setup)
