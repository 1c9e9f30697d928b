"""How a model turns token vectors into one sentence vector: as it declares, else the mean.

sentence-transformers models declare it in ``modules.json`` (a ``Pooling`` module whose
folder has ``config.json`` with ``pooling_mode_*`` flags, optionally followed by a
``Normalize`` module); all-MiniLM-L6-v2 mean-pools and L2-normalises. Several modes
that are on are concatenated in sentence-transformers' order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gluebench.errors import UsageError

# sentence-transformers' Pooling flags, in the order it concatenates them.
MODES = {"pooling_mode_cls_token": "cls", "pooling_mode_max_tokens": "max",
         "pooling_mode_mean_tokens": "mean", "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len"}
UNSUPPORTED = ("pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


@dataclass(frozen=True)
class Pooling:
    modes: tuple[str, ...]   # e.g. ("mean",)
    normalize: bool          # L2-normalise the pooled vector
    declared_by: str         # where this came from, for reports

    def describe(self) -> dict:
        return {"modes": list(self.modes), "normalize": self.normalize,
                "declared_by": self.declared_by}


DEFAULT = Pooling(("mean",), False, "default: mean pooling (the model declares none)")


def read_pooling(model_dir: str | Path) -> Pooling:
    """The pooling a model folder declares (sentence-transformers ``modules.json``), else mean."""
    root = Path(model_dir)
    modules_file = root / "modules.json"
    if not modules_file.is_file():
        return DEFAULT
    modules = json.loads(modules_file.read_text(encoding="utf-8"))
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    pooling = next((m for m, k in zip(modules, kinds, strict=True) if k == "Pooling"), None)
    if pooling is None:
        return DEFAULT
    config = json.loads((root / pooling["path"] / "config.json").read_text(encoding="utf-8"))
    bad = [k for k in UNSUPPORTED if config.get(k)]
    if bad:
        raise UsageError(f"{root}: pooling {bad[0]} is not supported by the probe")
    modes = tuple(mode for flag, mode in MODES.items() if config.get(flag))
    return Pooling(modes or ("mean",), "Normalize" in kinds,
                   f"{modules_file.name} and {pooling['path']}/config.json (sentence-transformers)")


def pool(hidden, mask, pooling: Pooling):
    """(batch, seq, dim) token vectors and a (batch, seq) mask -> (batch, dim x modes)."""
    import torch
    import torch.nn.functional as F

    weights = mask.unsqueeze(-1).to(hidden.dtype)                 # (batch, seq, 1)
    counts = weights.sum(dim=1).clamp(min=1e-9)                    # (batch, 1)
    parts = []
    for mode in pooling.modes:
        if mode == "cls":
            parts.append(hidden[:, 0])
        elif mode == "max":
            parts.append(hidden.masked_fill(weights == 0, -1e9).max(dim=1).values)
        elif mode == "mean":
            parts.append((hidden * weights).sum(dim=1) / counts)
        else:  # mean_sqrt_len
            parts.append((hidden * weights).sum(dim=1) / counts.sqrt())
    out = torch.cat(parts, dim=1)
    return F.normalize(out, p=2, dim=1) if pooling.normalize else out
