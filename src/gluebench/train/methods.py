"""What is trained: all weights, or a parameter-efficient subset.

* ``full``      every weight.
* ``lora``      low-rank adapters on the attention projections, through ``peft``.
* ``bitfit``    bias terms only (Ben Zaken et al., 2022).
* ``layernorm`` LayerNorm weights and biases only.
* ``head``      nothing of the encoder: a frozen encoder with a trained classifier.

Parameters that start untrained (the new classification head) are always trained.
"""

from __future__ import annotations

from gluebench.errors import UsageError

# Attention projections LoRA adapts, by their module names across encoder families.
LORA_TARGETS = ("query", "value", "q_lin", "v_lin", "q_proj", "v_proj", "q", "v")


def _is_layernorm(name: str) -> bool:
    lowered = name.lower()
    return "layernorm" in lowered or "layer_norm" in lowered or ".ln" in lowered


def apply_method(model, method: str, new_params: list[str], config) -> object:
    """Set ``requires_grad`` for ``method`` (LoRA: wrap in peft); return the model to train."""
    if method == "lora":
        return _lora(model, new_params, config)
    head = set(new_params) | set(_head_names(model))
    for name, param in model.named_parameters():
        if method == "full":
            train = True
        elif method == "bitfit":
            train = name.endswith(".bias") or name in head
        elif method == "layernorm":
            train = _is_layernorm(name) or name in head
        elif method == "head":
            train = name in head
        else:
            raise UsageError(f"unknown method '{method}'; expected full, lora, bitfit, "
                             "layernorm or head")
        param.requires_grad_(train)
    return model


def _head_names(model) -> list[str]:
    """The classification head's parameters (BERT: ``classifier.*``; RoBERTa: ``classifier.*.``)."""
    return [n for n, _ in model.named_parameters() if n.split(".")[0] in ("classifier", "score")]


def _lora(model, new_params: list[str], config):
    from peft import LoraConfig, TaskType, get_peft_model

    modules = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [t for t in LORA_TARGETS if t in modules]
    if not targets:
        raise UsageError("LoRA: found no attention projections (query/value) to adapt in this "
                         "model; use --method full, bitfit, layernorm or head")
    saved = sorted({n.split(".")[0] for n in [*new_params, *_head_names(model)]})
    lora = LoraConfig(task_type=TaskType.SEQ_CLS, r=config.lora_r, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout, target_modules=targets,
                      modules_to_save=saved or None)
    return get_peft_model(model, lora)


def count_parameters(model) -> dict[str, int]:
    """Total and trainable parameters (LoRA: the base model's plus the adapters)."""
    params = list(model.parameters())
    return {"total": sum(p.numel() for p in params),
            "trainable": sum(p.numel() for p in params if p.requires_grad)}


def exportable(model):
    """The plain ``transformers`` model to save: LoRA adapters merged into the weights."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model
