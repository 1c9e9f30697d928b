"""Parsed predictions as one compact blob (numpy ``.npz``, no pickles), stored at upload so
that workers score without parsing the zip again."""

from __future__ import annotations

import io

import numpy as np

from gluebench.benchmark.predictions import Predictions


def pack(predictions: dict[str, Predictions]) -> bytes:
    arrays = {}
    for name, p in predictions.items():
        arrays[f"{name}.index"], arrays[f"{name}.values"] = p.index, p.values
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def unpack(blob: bytes, label: str = "stored") -> dict[str, Predictions]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        names = {key.rsplit(".", 1)[0] for key in arrays.files}
        return {name: Predictions(f"{label}:{name}", arrays[f"{name}.index"],
                                  arrays[f"{name}.values"]) for name in names}
