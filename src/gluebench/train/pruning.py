"""Layer dropping: an encoder with some of its pre-trained layers removed.

The kept layers keep their pre-trained weights and their order; the embeddings, the
pooler and everything else are untouched. ``config.num_hidden_layers`` is set to the new
depth, so ``save_pretrained`` writes a model that loads as the smaller architecture.

``LayerDropSettings`` is the study's knob (``drop_layers``); its hook is a model transform
(``train.hooks``) that drops the layers right after the pre-trained model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from gluebench.errors import UsageError
from gluebench.train.hooks import TrainingHooks, Unit


@dataclass(frozen=True)
class LayerDropSettings:
    """Layer dropping (``gluebench study layer-drop``): a shallower pre-trained encoder."""

    name: ClassVar[str] = "layer-drop"
    record_defaults: ClassVar[bool] = True   # once a TrainConfig field: every run records it

    drop_layers: tuple[int, ...] | None = field(default=None, metadata={
        "help": "encoder layers (0-based) removed from the pre-trained model before "
                "fine-tuning, comma-separated (layer dropping)"})

    def check(self) -> None:
        if self.drop_layers is not None:
            if min(self.drop_layers) < 0 or len(set(self.drop_layers)) != len(self.drop_layers):
                raise UsageError(f"'drop_layers' must be distinct layer numbers >= 0, got "
                                 f"{','.join(map(str, self.drop_layers))}")

    def hooks(self) -> TrainingHooks | None:
        return LayerDrop(self.drop_layers) if self.drop_layers else None


class LayerDrop(TrainingHooks):
    """The model transform: the loaded model without layers ``indices``."""

    def __init__(self, indices):
        self.indices = tuple(indices)

    def transform_model(self, model, unit: Unit):
        return drop_layers(model, self.indices)


def encoder_layers(model):
    """The encoder and its ``nn.ModuleList`` of layers (BERT-style: ``encoder.layer``)."""
    base = getattr(model, getattr(model, "base_model_prefix", ""), model)
    encoder = getattr(base, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if layers is None:
        raise UsageError(f"layer dropping: {type(model).__name__} has no encoder.layer list "
                         "(supported: BERT-style encoders)")
    return encoder, layers


def drop_layers(model, indices) -> object:
    """Remove encoder layers ``indices`` (0-based) from ``model`` in place; returns it."""
    import torch

    encoder, layers = encoder_layers(model)
    drop = set(indices)
    bad = sorted(i for i in drop if not 0 <= i < len(layers))
    if bad:
        raise UsageError(f"drop_layers: layer {bad[0]} does not exist; the model has "
                         f"{len(layers)} layers (0-{len(layers) - 1})")
    if len(drop) >= len(layers):
        raise UsageError(f"drop_layers: cannot drop all {len(layers)} layers")
    kept = [layer for i, layer in enumerate(layers) if i not in drop]
    for new_index, layer in enumerate(kept):  # attention layers that cache by position
        attention = getattr(getattr(layer, "attention", None), "self", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = new_index
    encoder.layer = torch.nn.ModuleList(kept)
    model.config.num_hidden_layers = len(kept)
    return model
