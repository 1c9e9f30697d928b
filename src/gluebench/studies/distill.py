"""Task-specific distillation of a fine-tuned teacher run into a smaller student.

The teacher is a ``gluebench finetune`` run directory: for each task its selected
checkpoint (``run_models.RunModels``) predicts the student's training examples
once, and its logits (and, with hidden-state matching, its pooled hidden states at the
layers of the stated layer map) are cached in ``STUDY_DIR/teacher/<task>-<hash>.npz``;
the hash covers the teacher's weights, the tokenised examples, the layer map and the
pooling, so a changed teacher or subsample gets a new file. Variants per task: the student
without KD (the control: same data, same steps), with soft-target KD, and with KD plus
hidden-state matching (``--hidden-loss``).
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

from gluebench.formats.atomic import atomic_write
from gluebench.models.hf import resolve_model
from gluebench.run_models import RunModels
from gluebench.studies.design import Study, Variant
from gluebench.train import features
from gluebench.train.distillation import layer_map, pool
from gluebench.train.features import inference_batches

POOLING = ("mean", "cls")


def teacher_outputs(model, encoded, pairs, pooling: str, batch_size: int = 64):
    """Logits (n, k) and pooled hidden states (n, pairs, d) at the teacher layers of ``pairs``."""
    import torch

    model.eval()
    logits, hidden = None, None
    with torch.inference_mode():
        for rows in inference_batches(encoded.lengths, batch_size, batch_size * 128):
            batch = {k: torch.from_numpy(v) for k, v in encoded.batch(rows).items()}
            out = model(**batch, output_hidden_states=bool(pairs))
            part = out.logits.float().numpy()
            if logits is None:
                logits = np.empty((len(encoded), part.shape[1]), np.float32)
            logits[rows] = part
            if pairs:
                states = np.stack([pool(out.hidden_states[t].float(), batch["attention_mask"],
                                        pooling).numpy() for _, t in pairs], axis=1)
                if hidden is None:
                    hidden = np.empty((len(encoded), *states.shape[1:]), np.float32)
                hidden[rows] = states
    return logits, hidden


def _weights_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin")):
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def teacher_file(study_root: Path, teacher_run: str, task: str, examples, *,
                 student_layers: int, hidden: bool, pooling: str, say=print) -> dict:
    """The cached teacher outputs for ``examples`` (computed once); returns its facts."""
    models = RunModels(teacher_run, device="cpu")
    predictor = models.predictor(task)
    model, tokenizer = predictor.load()
    teacher_layers = int(model.config.num_hidden_layers)
    pairs = layer_map(student_layers, teacher_layers) if hidden else []
    encoded = features.encode(tokenizer, examples, models.config.max_seq_length)
    key = hashlib.sha256()
    for part in (_weights_digest(Path(resolve_model(predictor.checkpoint).path)),
                 repr(pairs), pooling, str(hidden)):
        key.update(part.encode())
    for array in (encoded.ids, encoded.offsets, examples.index):
        key.update(np.ascontiguousarray(array).tobytes())
    path = study_root / "teacher" / f"{task}-{key.hexdigest()[:16]}.npz"
    facts = {"path": str(path.resolve()), "checkpoint": predictor.checkpoint,
             "teacher_layers": teacher_layers, "layer_map": pairs, "pooling": pooling,
             "examples": len(examples)}
    if path.is_file():
        return facts
    say(f"{task}: teacher outputs on {len(examples)} training examples")
    logits, states = teacher_outputs(model, encoded, pairs, pooling)
    if predictor.permutation is not None:   # the teacher's outputs in our label order
        ours = np.empty_like(logits)
        ours[:, predictor.permutation] = logits
        logits = ours
    buffer = io.BytesIO()
    np.savez(buffer, index=examples.index, logits=logits, pooling=pooling,
             layer_map=np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
             **({"hidden": states} if hidden else {}))
    atomic_write(path, buffer.getvalue())
    return facts


def build(*, student, tasks: list[str], seeds: list[int], base: dict, teachers: dict,
          temperature: float, alpha: float, hidden: bool, student_parameters: int,
          facts: dict) -> Study:
    """The control (no KD) and the KD variants of each task, plus the teacher's facts."""
    variants = []
    for task in tasks:
        teacher = teachers[task]
        size = float(student_parameters)
        variants.append(Variant("no-kd", task, "control", {}, size, "student",
                                facts={"kd": False}))
        kd = {"teacher_logits": teacher["path"], "kd_temperature": temperature,
              "kd_alpha": alpha}
        variants.append(Variant("kd", task, "variant", kd, size, "kd", ["no-kd"],
                                {"kd": True}))
        if hidden:
            variants.append(Variant("kd+hidden", task, "variant", {**kd, "hidden_loss": True},
                                    size, "kd+hidden", ["no-kd", "kd"],
                                    {"kd": True, "layer_map": teacher["layer_map"],
                                     "pooling": teacher["pooling"]}))
    return Study("distill", student, tasks, seeds, base, variants, "parameters",
                 facts={**facts, "teachers": teachers, "temperature": temperature,
                        "alpha": alpha, "hidden_loss": hidden})
