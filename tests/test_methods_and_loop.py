"""Parameter-efficient methods, the padded-to-128 comparison, and out-of-memory retries."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from gluebench.benchmark.sources import load
from gluebench.errors import GlueBenchWarning
from gluebench.models import hf
from gluebench.train import features, loop
from gluebench.train.config import build_config
from gluebench.train.methods import apply_method, count_parameters, exportable

RTE = load("RTE", "train", "sample")


def _setup(model_path, method="full", **settings):
    config = build_config(model=str(model_path), method=method, batch_size=16,
                          max_seq_length=64, **settings)
    ref = hf.resolve_model(config.model)
    torch.manual_seed(0)
    model, new = hf.load_classifier(ref, 2, task=RTE.task)
    encoded = features.encode(hf.load_tokenizer(ref), RTE, 64)
    return config, apply_method(model, method, new, config), new, encoded


def _no_dropout(model):
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0


@pytest.mark.parametrize("method", ["full", "bitfit", "layernorm", "head", "lora"])
def test_only_the_methods_parameters_change(tiny_model, method):
    config, model, new, encoded = _setup(tiny_model, method)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    loop.train(model, encoded, RTE.labels, config, loop.Engine("cpu", False, False), seed=0,
               learning_rate=1e-2, epochs=1)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and changed <= trainable
    assert any("classifier" in n for n in changed)        # the new head always trains
    if method == "bitfit":
        assert all(n.endswith(".bias") or "classifier" in n for n in trainable)
    if method == "layernorm":
        assert all("LayerNorm" in n or "classifier" in n for n in trainable)
    if method == "head":
        assert all("classifier" in n for n in trainable)
    if method == "lora":
        assert any("lora_" in n for n in changed)
        merged = exportable(model)                         # adapters folded into the weights
        assert not any("lora_" in n for n, _ in merged.named_parameters())


def test_trainable_parameter_counts_are_ordered(tiny_model):
    counts = {m: count_parameters(_setup(tiny_model, m)[1]) for m in
              ("full", "lora", "bitfit", "layernorm", "head")}
    full = counts["full"]["trainable"]
    assert full == counts["full"]["total"]
    assert counts["head"]["trainable"] == 32 * 2 + 2       # classifier weight and bias
    assert counts["head"]["trainable"] < counts["layernorm"]["trainable"] < full
    assert counts["head"]["trainable"] < counts["bitfit"]["trainable"] < full
    assert counts["head"]["trainable"] < counts["lora"]["trainable"] < full


@pytest.mark.slow
def test_out_of_memory_retries_with_micro_batches_and_same_gradients(tiny_model, monkeypatch):
    config, model, _, encoded = _setup(tiny_model)
    _no_dropout(model)
    reference = {n: p.detach().clone() for n, p in model.named_parameters()}
    engine = loop.Engine("cpu", False, False)
    loop.train(model, encoded, RTE.labels, config, engine, seed=3, learning_rate=1e-3, epochs=1)
    expected = {n: p.detach().clone() for n, p in model.named_parameters()}

    with torch.no_grad():  # start again from the same weights, now with a "small GPU"
        for n, p in model.named_parameters():
            p.copy_(reference[n])
    forward = type(model).forward

    def small_memory(self, input_ids=None, **kwargs):
        if input_ids is not None and input_ids.shape[0] > 4:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return forward(self, input_ids=input_ids, **kwargs)

    monkeypatch.setattr(type(model), "forward", small_memory)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GlueBenchWarning)
        stats = loop.train(model, encoded, RTE.labels, config, engine, seed=3,
                           learning_rate=1e-3, epochs=1)
    assert stats.micro_batch == 4
    messages = [str(w.message) for w in caught]
    assert any("out of memory at batch size 16; retrying with micro-batches of 8" in m
               for m in messages)
    for n, p in model.named_parameters():   # accumulated micro-batches = the same step
        torch.testing.assert_close(p, expected[n], rtol=1e-4, atol=1e-5)

    logits = loop.predict(model, encoded, config, engine)
    monkeypatch.setattr(type(model), "forward", forward)
    np.testing.assert_allclose(logits, loop.predict(model, encoded, config, engine), atol=1e-5)


@pytest.mark.slow
def test_padding_to_128_gives_the_same_logits(minilm_path):
    """Inference: padding each batch to its longest example changes nothing but speed."""
    ref = hf.resolve_model(None)
    tokenizer = hf.load_tokenizer(ref)
    torch.manual_seed(0)
    model, _ = hf.load_classifier(ref, 2, task=RTE.task)
    encoded = features.encode(tokenizer, load("RTE", "dev", "sample"), 128)
    engine = loop.Engine("cpu", False, False)
    dynamic = loop.predict(model, encoded, build_config(), engine)
    padded = loop.predict(model, encoded, build_config(pad_to_max_length=True), engine)
    np.testing.assert_allclose(dynamic, padded, atol=1e-4)


@pytest.mark.slow
def test_padding_to_128_gives_the_same_model(minilm_path, glue_dir):
    """Training: same seed, same batches, padded or not: the same trained model.

    Dropout is switched off for this comparison: its random masks have the batch's
    padded shape, so with dropout the two paths draw different noise (seed-to-seed
    variation, not a difference of the engine). Four optimizer steps at a high learning
    rate move the logits far more than the tolerance, so a padding leak (attention or
    the loss reading padded positions) fails here; the logits are compared on
    256 rows of the real SST-2 dev set.
    """
    dev = load("SST-2", "dev", glue_dir).take(np.arange(256))
    train = load("SST-2", "train", "sample")
    ref = hf.resolve_model(None)
    tokenizer = hf.load_tokenizer(ref)
    engine = loop.Engine("cpu", False, False)
    dev_features = features.encode(tokenizer, dev, 128)
    train_features = features.encode_texts(
        tokenizer, [column[:64] for column in features.texts_of(train)], 128)
    torch.manual_seed(1)
    initial, _ = hf.load_classifier(ref, 2, task=train.task)
    before = loop.predict(initial, dev_features, build_config(), engine)
    logits = []
    for pad in (False, True):
        config = build_config(pad_to_max_length=pad, max_seq_length=128, batch_size=16)
        torch.manual_seed(1)
        model, _ = hf.load_classifier(ref, 2, task=train.task)
        _no_dropout(model)
        loop.train(model, train_features, train.labels[:64], config, engine,
                   seed=1, learning_rate=3e-4, epochs=1)
        logits.append(loop.predict(model, dev_features, build_config(), engine))
    moved = np.abs(logits[0] - before).max()
    assert moved > 0.1, moved                              # training changed the model
    np.testing.assert_allclose(logits[0], logits[1], atol=max(1e-3, moved / 100))
    assert (logits[0].argmax(1) == logits[1].argmax(1)).mean() >= 0.99
