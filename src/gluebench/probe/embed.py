"""Sentence embeddings of a frozen encoder: each distinct sentence once, cached on disk.

GLUE pair tasks share sentences across tasks and splits (STS-B and MRPC repeat theirs),
so a run collects every sentence it needs, encodes each distinct one once in
length-sorted batches (each padded only to its longest member), and looks rows up by
text. The embeddings are cached under ``$GLUEBENCH_CACHE/embeddings`` by a hash of the
encoder (weights, tokenizer, pooling, length limit, precision) and the texts, and
verified on read (``gluebench.runs.cache``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gluebench.benchmark.sources import Examples
from gluebench.errors import UsageError
from gluebench.models.hf import ModelRef, load_tokenizer, quiet_transformers
from gluebench.models.quantize import quantize_int8
from gluebench.probe.heads import pair_features
from gluebench.probe.pooling import Pooling, pool, read_pooling
from gluebench.runs.cache import cache_root, load_verified, save_verified
from gluebench.train.config import EVAL_BATCH
from gluebench.train.features import (
    encode_texts,
    inference_batches,
    texts_of,
    tokenizer_fingerprint,
)

HASH_CHUNK = 1 << 20


@dataclass
class EmbedStats:
    sentences: int        # distinct sentences asked for
    tokens: int
    seconds: float        # encoding time (0 on a cache hit)
    cached: bool

    def describe(self) -> dict:
        rate = self.sentences / self.seconds if self.seconds else None
        return {"sentences": self.sentences, "tokens": self.tokens, "seconds": self.seconds,
                "sentences_per_second": rate, "cached": self.cached}


class SentenceEncoder:
    """A frozen encoder with its pooling: ``embed(texts) -> (n, dim)`` float32."""

    def __init__(self, ref: ModelRef, *, max_length: int, device: str = "cpu",
                 int8: bool = False, bf16: bool = False):
        import torch
        from transformers import AutoModel

        if int8 and device != "cpu":
            raise UsageError("--int8 (dynamic quantisation) runs on the CPU only; "
                             "use --device cpu")
        start = time.perf_counter()
        quiet_transformers()
        self.ref, self.max_length, self.device, self.int8 = ref, max_length, device, int8
        self.bf16 = bf16 and device == "cuda"
        self.tokenizer = load_tokenizer(ref)
        self.pooling: Pooling = read_pooling(ref.path) if Path(ref.path).is_dir() \
            else read_pooling("")
        model = AutoModel.from_pretrained(ref.path, attn_implementation="sdpa").eval()
        self.parameters = sum(p.numel() for p in model.parameters())
        if int8:
            model = quantize_int8(model)
        model.to(device)
        if self.bf16:
            model.to(torch.bfloat16)
        self.model = model
        self.dim = model.config.hidden_size * len(self.pooling.modes)
        self.load_seconds = time.perf_counter() - start
        self._fingerprint: str | None = None

    def describe(self) -> dict:
        return {"model": self.ref.description, "pooling": self.pooling.describe(),
                "max_seq_length": self.max_length, "int8": self.int8,
                "dtype": "bf16" if self.bf16 else "fp32", "device": self.device,
                "dim": self.dim, "parameters": self.parameters,
                "load_seconds": self.load_seconds}

    def fingerprint(self) -> str:
        """What decides the embeddings: weights, tokenizer, pooling, length, precision."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            digest.update(f"{tokenizer_fingerprint(self.tokenizer)}|{self.pooling}|"
                          f"{self.max_length}|int8={self.int8}|bf16={self.bf16}|".encode())
            root = Path(self.ref.path)
            files = sorted(p for p in root.glob("*") if p.suffix in (".json", ".safetensors",
                                                                     ".bin")) \
                if root.is_dir() else []
            for path in files:
                digest.update(path.name.encode())
                with path.open("rb") as f:
                    while chunk := f.read(HASH_CHUNK):
                        digest.update(chunk)
            if not files:
                digest.update(self.ref.path.encode())
            self._fingerprint = digest.hexdigest()[:24]
        return self._fingerprint

    def embed(self, texts: list[str], progress=None) -> tuple[np.ndarray, EmbedStats]:
        """One vector per text, in order; from the cache when these texts were seen before."""
        key = hashlib.sha256(self.fingerprint().encode())
        key.update("\x1f".join(texts).encode("utf-8"))
        path = cache_root() / "embeddings" / f"{key.hexdigest()[:32]}.npz"
        cached = load_verified(path)
        if cached is not None and cached["vectors"].shape == (len(texts), self.dim):
            return cached["vectors"], EmbedStats(len(texts), int(cached["tokens"]), 0.0, True)
        encoded = encode_texts(self.tokenizer, [texts], self.max_length)
        start = time.perf_counter()
        vectors = self._forward(encoded, progress)
        stats = EmbedStats(len(texts), int(encoded.lengths.sum()),
                           time.perf_counter() - start, False)
        save_verified(path, {"vectors": vectors, "tokens": np.array(stats.tokens)})
        return vectors, stats

    def _forward(self, encoded, progress) -> np.ndarray:
        import torch

        max_batch, max_tokens = EVAL_BATCH[self.device]
        out = np.empty((len(encoded), self.dim), dtype=np.float32)
        if progress is not None:
            progress.start_inference(len(encoded))
        with torch.inference_mode():
            for rows in inference_batches(encoded.lengths, max_batch, max_tokens):
                batch = {k: torch.from_numpy(v).to(self.device)
                         for k, v in encoded.batch(rows).items()}
                hidden = self.model(**batch).last_hidden_state        # (batch, seq, hidden)
                pooled = pool(hidden.float(), batch["attention_mask"], self.pooling)
                out[rows] = pooled.cpu().numpy()
                if progress is not None:
                    progress.advance_inference(len(rows))
        return out


class SentenceTable:
    """Sentence vectors looked up by text: the inputs of a head."""

    def __init__(self, texts: list[str], vectors: np.ndarray, stats: EmbedStats):
        self.row = {t: i for i, t in enumerate(texts)}
        self.vectors, self.stats = vectors, stats

    def columns(self, examples: Examples) -> list[np.ndarray]:
        """One (n, dim) array per input field."""
        return [self.vectors[[self.row[t] for t in column]] for column in texts_of(examples)]

    def features(self, examples: Examples) -> np.ndarray:
        """u for single sentences, [u, v, |u - v|, u * v] for pairs."""
        columns = self.columns(examples)
        return columns[0] if len(columns) == 1 else pair_features(*columns)


def embed_examples(encoder: SentenceEncoder, examples: list[Examples],
                   progress=None) -> SentenceTable:
    """Every distinct sentence of ``examples`` (all fields, all splits) embedded once."""
    texts = list(dict.fromkeys(t for ex in examples for column in texts_of(ex)
                               for t in column))
    if progress is not None:
        progress.unit(f"embedding {len(texts):,} distinct sentences")
    vectors, stats = encoder.embed(texts, progress)
    return SentenceTable(texts, vectors, stats)
