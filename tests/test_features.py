"""Tokenise-once features and batching: exact against the tokenizer, little padding."""

from __future__ import annotations

import numpy as np
import pytest

from gluebench.benchmark.sources import load
from gluebench.train import features


@pytest.fixture(scope="module")
def tokenizer(minilm_path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path)


@pytest.mark.parametrize("task", ["RTE", "SST-2"])
def test_batches_equal_the_tokenizers_own_padding(tokenizer, task):
    examples = load(task, "dev", "sample")
    encoded = features.encode(tokenizer, examples, max_length=64)
    rows = np.arange(len(examples))[5:37]
    batch = encoded.batch(rows)
    texts = [[col[i] for i in rows] for col in features.texts_of(examples)]
    expected = tokenizer(*texts, truncation=True, max_length=64, padding=True,
                         return_tensors="np")
    np.testing.assert_array_equal(batch["input_ids"], expected["input_ids"])
    np.testing.assert_array_equal(batch["attention_mask"], expected["attention_mask"])
    if task == "RTE":  # pairs carry segment ids
        np.testing.assert_array_equal(batch["token_type_ids"], expected["token_type_ids"])
    padded = encoded.batch(rows, pad_to=64)
    assert padded["input_ids"].shape == (len(rows), 64)
    np.testing.assert_array_equal(padded["input_ids"][:, :batch["input_ids"].shape[1]],
                                  batch["input_ids"])


def test_cache_is_used_and_keyed_by_length(tokenizer, monkeypatch):
    examples = load("MRPC", "dev", "sample")
    first = features.encode(tokenizer, examples, max_length=48)
    calls = []
    monkeypatch.setattr(type(tokenizer), "__call__",
                        lambda self, *a, **k: calls.append(1) or pytest.fail("re-tokenised"))
    again = features.encode(tokenizer, examples, max_length=48)
    np.testing.assert_array_equal(first.ids, again.ids)
    np.testing.assert_array_equal(first.offsets, again.offsets)
    monkeypatch.undo()
    other = features.encode(tokenizer, examples, max_length=16)
    assert other.lengths.max() <= 16 < first.lengths.max()


def test_train_batches_cover_every_example_once_and_group_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 120, size=1000)
    batches = features.train_batches(lengths, 32, np.random.default_rng(1))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    assert lengths[batches[0]].max() == lengths.max()       # longest batch first
    padded = sum(len(b) * lengths[b].max() for b in batches)
    random_batches = features.train_batches(lengths, 32, np.random.default_rng(1),
                                            group_by_length=False)
    padded_random = sum(len(b) * lengths[b].max() for b in random_batches)
    assert padded < 0.75 * padded_random
    again = features.train_batches(lengths, 32, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    other_epoch = features.train_batches(lengths, 32, np.random.default_rng(2))
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other_epoch, strict=True))


def test_inference_batches_respect_the_token_budget():
    lengths = np.random.default_rng(0).integers(1, 128, size=777)
    batches = features.inference_batches(lengths, max_batch=64, max_tokens=2048)
    assert sorted(np.concatenate(batches).tolist()) == list(range(777))
    for b in batches:
        assert len(b) <= 64 and len(b) * lengths[b].max() <= 2048
    firsts = [lengths[b].max() for b in batches]
    assert firsts == sorted(firsts, reverse=True)
