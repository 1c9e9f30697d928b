"""A model's int8 copy (dynamic quantisation of its linear layers), for the CPU."""

from __future__ import annotations

import copy
import warnings


def quantize_int8(model):
    """A dynamically quantised int8 copy of a CPU model (``nn.Linear`` layers only)."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():  # torch.ao.quantization announces its move to torchao
        warnings.simplefilter("ignore")
        return quantize_dynamic(copy.deepcopy(model).cpu().eval(), {torch.nn.Linear},
                                dtype=torch.qint8)
