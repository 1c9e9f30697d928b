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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gluebench.benchmark.examples import Examples
from gluebench.errors import UsageError

HIDDEN_WEIGHT = 1.0   # weight of the hidden-state term beside the logit loss (TinyBERT: 1)


def kd_loss(student, teacher, gold, *, temperature: float, alpha: float, regression: bool):
    """The distillation loss of one batch: (batch, k) student and teacher logits, gold labels."""
    import torch.nn.functional as F

    if regression:   # (batch, 1) scores: MSE to gold and to the teacher's score
        s = student.squeeze(-1)
        return alpha * F.mse_loss(s, gold) + (1 - alpha) * F.mse_loss(s, teacher.squeeze(-1))
    hard = F.cross_entropy(student, gold)
    soft = F.kl_div(F.log_softmax(student / temperature, dim=-1),
                    F.softmax(teacher / temperature, dim=-1), reduction="batchmean")
    return alpha * hard + (1 - alpha) * temperature**2 * soft


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
    """The training objective with a teacher: ``loss`` per micro-batch, extra parameters."""

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

    def loss(self, logits, gold, rows, outputs, mask):
        """The loss of one micro-batch: ``rows`` index the training examples."""
        import torch.nn.functional as F

        teacher = self.teacher[rows].to(logits.device)
        loss = kd_loss(logits, teacher, gold, temperature=self.temperature, alpha=self.alpha,
                       regression=self.regression)
        if self.needs_hidden:
            target = self.hidden[rows].to(logits.device)           # (micro, pairs, d_t)
            for p, ((student_layer, _), project) in enumerate(zip(self.targets.layer_map,
                                                                  self.projections,
                                                                  strict=True)):
                state = pool(outputs.hidden_states[student_layer].float(), mask,
                             self.targets.pooling)
                loss = loss + HIDDEN_WEIGHT * F.mse_loss(project(state), target[:, p]) / len(
                    self.projections)
        return loss


def objective_for(config, examples: Examples, student_width: int, regression: bool):
    """The distillation objective a config asks for (``teacher_logits``), or None."""
    if not config.teacher_logits:
        return None
    targets = read_teacher(config.teacher_logits, examples, hidden=config.hidden_loss)
    return Distillation(targets, temperature=config.kd_temperature, alpha=config.kd_alpha,
                        student_width=student_width, regression=regression)
