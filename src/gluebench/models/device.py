"""Which device a model runs on: ``auto``, ``cpu`` or ``cuda`` resolved once, before any work."""

from __future__ import annotations

from gluebench.errors import GlueBenchError


def resolve_device(name: str) -> str:
    """``auto``: the GPU when torch sees one, else the CPU; ``cuda`` without a GPU: an error."""
    import torch

    if name == "cuda" and not torch.cuda.is_available():
        raise GlueBenchError("--device cuda: no CUDA GPU is visible to torch "
                             f"(torch {torch.__version__})")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name
