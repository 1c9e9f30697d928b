"""Knowledge distillation in the fine-tuning loop: the loss, and the teacher's targets.

``kd_loss`` is task-specific KD as DistilBERT/TinyBERT fine-tune with it (Hinton et al.,
2015): ``alpha * CE(student, gold) + (1 - alpha) * T^2 * KL(teacher_T || student_T)``,
where ``_T`` is a softmax at temperature T; for regression (STS-B) the soft term is the
MSE to the teacher's scores. With hidden-state matching, each (student layer, teacher
layer) pair of the teacher file's layer map adds the MSE between the teacher's pooled
state and a linear projection of the student's (identity when the widths agree).

The teacher's outputs come precomputed (``gluebench distill`` writes them once), keyed by
each training example's official index, so any subsample or seed of the student finds its
targets, and the teacher is never loaded during training.

``DistillSettings`` are the knobs; its hook is a loss term (``train.hooks``): the loop's task
loss (the hard-label CE or MSE above) goes in, the distillation loss comes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from gluebench.benchmark.examples import Examples
from gluebench.errors import UsageError
from gluebench.models.hf import hidden_size
from gluebench.train.hooks import Step, TrainingHooks, Unit

HIDDEN_WEIGHT = 1.0   # weight of the hidden-state term beside the logit loss (TinyBERT: 1)


@dataclass(frozen=True)
class DistillSettings:
    """Knowledge distillation (``gluebench distill``) from a teacher's precomputed outputs."""

    name: ClassVar[str] = "distill"
    record_defaults: ClassVar[bool] = True   # once TrainConfig fields: every run records them

    teacher_logits: str | None = field(default=None, metadata={
        "help": "an .npz of a teacher's outputs on the training examples (gluebench "
                "distill): train with knowledge distillation"})
    kd_temperature: float = field(default=2.0, metadata={
        "help": "distillation temperature of the soft targets"})
    kd_alpha: float = field(default=0.5, metadata={
        "help": "weight of the hard-label loss; 1 - kd_alpha weighs the teacher's"})
    hidden_loss: bool = field(default=False, metadata={
        "help": "also match the teacher's pooled hidden states (layer map in the "
                "teacher_logits file)"})

    def check(self) -> None:
        """The weights are in range; hidden-state matching needs the teacher's file."""
        if not 0 <= self.kd_alpha <= 1:
            raise UsageError(f"'kd_alpha' must be in [0, 1], got {self.kd_alpha}")
        if self.kd_temperature <= 0:
            raise UsageError(f"'kd_temperature' must be positive, got {self.kd_temperature}")
        if self.hidden_loss and not self.teacher_logits:
            raise UsageError("'hidden_loss' needs 'teacher_logits' (the teacher's hidden "
                             "states)")

    def hooks(self) -> TrainingHooks | None:
        return DistillHooks(self) if self.teacher_logits else None


class DistillHooks(TrainingHooks):
    """The loss term: the teacher's targets for the examples the loop trains on."""

    def __init__(self, settings: DistillSettings):
        self.settings = settings

    def loss_term(self, examples: Examples, model, unit: Unit) -> Distillation:
        s = self.settings
        targets = read_teacher(s.teacher_logits, examples, hidden=s.hidden_loss)
        return Distillation(targets, temperature=s.kd_temperature, alpha=s.kd_alpha,
                            student_width=hidden_size(model), regression=unit.regression)


def kd_loss(student, teacher, gold, *, temperature: float, alpha: float, regression: bool):
    """The distillation loss of one batch: (batch, k) student and teacher logits, gold labels."""
    import torch.nn.functional as F

    if regression:   # (batch, 1) scores: MSE to gold
        task = F.mse_loss(student.squeeze(-1), gold)
    else:
        task = F.cross_entropy(student, gold)
    return kd_mix(task, student, teacher, temperature=temperature, alpha=alpha,
                  regression=regression)


def kd_mix(task_loss, student, teacher, *, temperature: float, alpha: float,
           regression: bool):
    """``alpha`` x the task loss + (1 - ``alpha``) x the soft-target loss of one batch."""
    import torch.nn.functional as F

    if regression:   # (batch, 1) scores: MSE to the teacher's score
        return alpha * task_loss + (1 - alpha) * F.mse_loss(student.squeeze(-1),
                                                             teacher.squeeze(-1))
    soft = F.kl_div(F.log_softmax(student / temperature, dim=-1),
                    F.softmax(teacher / temperature, dim=-1), reduction="batchmean")
    return alpha * task_loss + (1 - alpha) * temperature**2 * soft


def pool(hidden, mask, how: str):
    """(batch, seq, d) states -> (batch, d): the first token's ([CLS]) or the masked mean."""
    if how == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


def layer_map(student_layers: int, teacher_layers: int) -> list[tuple[int, int]]:
    """TinyBERT's uniform map: student layer k matches teacher layer k * N / M (1-based)."""
    return [(k, round(k * teacher_layers / student_layers)) for k in range(1, student_layers + 1)]


@dataclass
class TeacherTargets:
    """The teacher's outputs on a student's training examples, in the examples' order."""

    logits: np.ndarray                 # (n, k) float32
    hidden: np.ndarray | None          # (n, pairs, d_teacher) pooled states, or None
    layer_map: list[tuple[int, int]]   # (student layer, teacher layer) per pair
    pooling: str


def read_teacher(path: str, examples: Examples, *, hidden: bool) -> TeacherTargets:
    """The targets of ``examples`` from a teacher file (index, logits[, hidden, layer_map])."""
    try:
        z = np.load(path)
    except OSError as exc:
        raise UsageError(f"teacher_logits {path}: cannot read ({exc})") from None
    with z:
        position = {int(i): p for p, i in enumerate(z["index"])}
        missing = [int(i) for i in examples.index if int(i) not in position]
        if missing:
            raise UsageError(f"teacher_logits {path}: no teacher output for training example "
                             f"{missing[0]} ({len(missing)} missing); recompute with "
                             "gluebench distill")
        rows = np.array([position[int(i)] for i in examples.index], dtype=np.int64)
        if hidden and "hidden" not in z:
            raise UsageError(f"teacher_logits {path}: has no hidden states (written without "
                             "--hidden-loss)")
        return TeacherTargets(
            z["logits"][rows].astype(np.float32),
            z["hidden"][rows].astype(np.float32) if hidden else None,
            [tuple(map(int, p)) for p in z["layer_map"]] if "layer_map" in z else [],
            str(z["pooling"]) if "pooling" in z else "mean")


class Distillation:
    """The distillation loss term (``train.hooks.LossTerm``) with its extra parameters."""

    def __init__(self, targets: TeacherTargets, *, temperature: float, alpha: float,
                 student_width: int, regression: bool):
        import torch

        self.targets, self.temperature, self.alpha = targets, temperature, alpha
        self.regression = regression
        self.needs_hidden = targets.hidden is not None
        width = 0 if targets.hidden is None else targets.hidden.shape[-1]
        self.projections = torch.nn.ModuleList(
            torch.nn.Identity() if width == student_width else torch.nn.Linear(student_width,
                                                                               width)
            for _ in targets.layer_map) if self.needs_hidden else torch.nn.ModuleList()
        self.teacher = torch.from_numpy(targets.logits)
        self.hidden = None if targets.hidden is None else torch.from_numpy(targets.hidden)

    def parameters(self) -> list:
        return list(self.projections.parameters())

    def to(self, device: str) -> Distillation:
        self.projections.to(device)
        return self

    def __call__(self, loss, step: Step):
        """The loss of one micro-batch from its task loss: ``step.rows`` index the examples."""
        import torch.nn.functional as F

        logits = step.logits
        teacher = self.teacher[step.rows].to(logits.device)
        loss = kd_mix(loss, logits, teacher, temperature=self.temperature, alpha=self.alpha,
                      regression=self.regression)
        if self.needs_hidden:
            target = self.hidden[step.rows].to(logits.device)      # (micro, pairs, d_t)
            for p, ((student_layer, _), project) in enumerate(zip(self.targets.layer_map,
                                                                  self.projections,
                                                                  strict=True)):
                state = pool(step.outputs.hidden_states[student_layer].float(), step.mask,
                             self.targets.pooling)
                loss = loss + HIDDEN_WEIGHT * F.mse_loss(project(state), target[:, p]) / len(
                    self.projections)
        return loss
