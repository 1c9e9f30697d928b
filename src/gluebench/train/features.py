"""Tokenise once, cache, and cut batches with little padding.

A split is tokenised in one call of the fast tokenizer and kept as flat token arrays
(``Encoded``), cached on disk by a hash of the tokenizer, the length limit and the
texts, so that seeds, methods and re-runs never tokenise again. Batches are padded
only to their longest member: training batches group similar lengths (shuffled in
megabatches, as Hugging Face's ``group_by_length`` does); inference batches are
length-sorted and sized by a token budget.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.sources import Examples
from gluebench.runs.cache import cache_root, load_verified, save_verified

MEGABATCH_FACTOR = 50  # as transformers' LengthGroupedSampler
CACHE_FORMAT = 3       # the key's version: entries carry a content hash (cache.py) since 3
_FINGERPRINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cache_dir() -> Path:
    return cache_root() / "features"


@dataclass
class Encoded:
    """Token ids of n examples, flat: example i is ``ids[offsets[i]:offsets[i+1]]``."""

    ids: np.ndarray                  # (total_tokens,) int32
    offsets: np.ndarray              # (n + 1,) int64
    token_types: np.ndarray | None   # (total_tokens,) int8, for models that use them
    pad_id: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def batch(self, rows: np.ndarray, pad_to: int | None = None) -> dict[str, np.ndarray]:
        """``rows`` padded on the right to their longest (or ``pad_to``): (batch, seq) arrays."""
        lengths = self.lengths[rows]
        width = max(int(lengths.max()), pad_to or 0)
        mask = np.arange(width)[None, :] < lengths[:, None]          # (batch, seq)
        flat = (self.offsets[rows][:, None] + np.arange(width)[None, :])[mask]
        input_ids = np.full(mask.shape, self.pad_id, dtype=np.int64)
        input_ids[mask] = self.ids[flat]
        out = {"input_ids": input_ids, "attention_mask": mask.astype(np.int64)}
        if self.token_types is not None:
            token_types = np.zeros(mask.shape, dtype=np.int64)
            token_types[mask] = self.token_types[flat]
            out["token_type_ids"] = token_types
        return out


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of what the tokenizer does (not of its current truncation/padding state).

    Computed once per tokenizer object: hashing its full definition takes a moment, and
    every split of every task is encoded with the same tokenizer.
    """
    try:
        return _FINGERPRINTS[tokenizer]
    except (KeyError, TypeError):
        pass
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        spec = json.loads(backend.to_str())
        spec.pop("truncation", None)  # set by each call: not part of the tokenizer
        spec.pop("padding", None)
        body = json.dumps(spec, sort_keys=True)
    else:
        body = repr(sorted(tokenizer.get_vocab().items()))
    fingerprint = hashlib.sha256(f"{type(tokenizer).__name__}\n{body}".encode()).hexdigest()[:16]
    try:
        _FINGERPRINTS[tokenizer] = fingerprint
    except TypeError:  # not weak-referenceable: compute again next time
        pass
    return fingerprint


def texts_of(examples: Examples) -> list[list[str]]:
    return [examples.inputs[f] for f in examples.task.input_fields]


def encode(tokenizer, examples: Examples, max_length: int) -> Encoded:
    """Tokenise every example (pairs as the model's pair template), truncated to ``max_length``."""
    return encode_texts(tokenizer, texts_of(examples), max_length)


def encode_texts(tokenizer, columns: list[list[str]], max_length: int) -> Encoded:
    """Tokenise one column of texts, or two as pairs; cached and verified (``cache``)."""
    key = hashlib.sha256()
    key.update(f"v{CACHE_FORMAT}|{tokenizer_fingerprint(tokenizer)}|{max_length}|".encode())
    for column in columns:
        key.update("\x1f".join(column).encode("utf-8"))
        key.update(b"\x1e")
    path = cache_dir() / f"{key.hexdigest()[:32]}.npz"
    cached = load_verified(path)
    if cached is not None:
        types = cached["token_types"] if cached["has_types"] else None
        return Encoded(cached["ids"], cached["offsets"], types, int(cached["pad_id"]))
    encoding = tokenizer(*columns, truncation=True, max_length=max_length, padding=False,
                         return_attention_mask=False)
    ids = encoding["input_ids"]
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in ids])]).astype(np.int64)
    flat = np.fromiter((t for x in ids for t in x), dtype=np.int32, count=int(offsets[-1]))
    types = None
    if "token_type_ids" in encoding and any(any(t) for t in encoding["token_type_ids"]):
        types = np.fromiter((t for x in encoding["token_type_ids"] for t in x), dtype=np.int8,
                            count=int(offsets[-1]))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    encoded = Encoded(flat, offsets, types, pad_id)
    save_verified(path, {"ids": flat, "offsets": offsets, "pad_id": np.array(pad_id),
                         "has_types": np.array(types is not None),
                         "token_types": types if types is not None else np.zeros(0, np.int8)})
    return encoded


def train_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, *,
                  group_by_length: bool = True) -> list[np.ndarray]:
    """One epoch of training batches (row indices), shuffled.

    With length grouping, a shuffled order is cut into megabatches of 50 batches, each
    sorted by length, so a batch holds similar lengths but the epoch stays random.
    """
    order = rng.permutation(len(lengths))
    if group_by_length:
        size = batch_size * MEGABATCH_FACTOR
        order = np.concatenate([m[np.argsort(-lengths[m], kind="stable")]
                                for m in np.array_split(order, range(size, len(order), size))])
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if group_by_length and len(batches) > 1:
        # Keep the longest batch first (an out-of-memory error shows at once), shuffle the rest.
        longest = int(np.argmax([lengths[b].max() for b in batches]))
        rest = [b for i, b in enumerate(batches) if i != longest]
        batches = [batches[longest]] + [rest[i] for i in rng.permutation(len(rest))]
    return batches


def inference_batches(lengths: np.ndarray, max_batch: int, max_tokens: int) -> list[np.ndarray]:
    """Row indices sorted by length (longest first), cut so batch x longest <= ``max_tokens``."""
    order = np.argsort(-lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = int(lengths[order[start]])
        size = max(1, min(max_batch, max_tokens // max(longest, 1)))
        batches.append(order[start:start + size])
        start += size
    return batches
