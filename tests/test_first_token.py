"""The last layer computed for the first token only: the same logits, losses, gradients and
random stream as the full layer, less work, and the model unchanged where it does not apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from gluebench.benchmark.sources import load
from gluebench.models import hf
from gluebench.train import features, first_token, loop
from gluebench.train.config import build_config
from gluebench.train.first_token import first_token_only
from gluebench.train.methods import apply_method

RTE = load("RTE", "train", "sample")


def _batch(seed: int = 0, size: int = 6, width: int = 24) -> dict[str, torch.Tensor]:
    """Token ids with right padding of different lengths (one row unpadded)."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, 5000, (size, width), generator=generator)
    mask = torch.ones_like(ids)
    for i in range(1, size):
        mask[i, width - 3 * i:] = 0
    return {"input_ids": ids.masked_fill(mask == 0, 0), "attention_mask": mask}


def _classifier(path, attention: str = "sdpa", num_labels: int = 3):
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=num_labels, attn_implementation=attention)


def _tiny(kind: str, attention: str = "sdpa"):
    """A random 2-layer model of a family (RoBERTa and DistilBERT have no embedded copy)."""
    import transformers

    config_class, model_class = {
        "bert": (transformers.BertConfig, transformers.BertForSequenceClassification),
        "roberta": (transformers.RobertaConfig, transformers.RobertaForSequenceClassification),
        "distilbert": (transformers.DistilBertConfig,
                       transformers.DistilBertForSequenceClassification),
    }[kind]
    sizes = ({"dim": 32, "n_layers": 2, "n_heads": 2, "hidden_dim": 64} if kind == "distilbert"
             else {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                   "intermediate_size": 64})
    config = config_class(vocab_size=6000, num_labels=3, attn_implementation=attention, **sizes)
    torch.manual_seed(0)
    return model_class(config)


def _loss_and_grads(model, batch, labels, *, shortcut: bool, seed: int = 5):
    """One training forward/backward from a fixed random state; the state after it too."""
    model.train()
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    with first_token_only(model, enabled=shortcut) as used:
        loss = torch.nn.functional.cross_entropy(model(**batch).logits, labels)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return used, loss.item(), grads, torch.rand(4)


def _assert_same_training_step(model, batch, atol=1e-6):
    labels = torch.arange(len(batch["input_ids"])) % 3
    full = _loss_and_grads(model, batch, labels, shortcut=False)
    short = _loss_and_grads(model, batch, labels, shortcut=True)
    assert short[0] is True and full[0] is False
    assert short[1] == pytest.approx(full[1], abs=1e-6)
    assert short[2].keys() == full[2].keys()
    for name, grad in full[2].items():
        torch.testing.assert_close(short[2][name], grad, atol=atol, rtol=1e-4, msg=name)
    # dropout drew the same masks in the same order: the random stream is where it was
    assert torch.equal(short[3], full[3])


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_logits_equal_the_full_layer(minilm_path, attention):
    model = _classifier(minilm_path, attention).eval()
    batch = _batch()
    with torch.inference_mode():
        full = model(**batch).logits
        with first_token_only(model) as used:
            short = model(**batch).logits
        again = model(**batch).logits      # the layer is restored on leaving the block
    assert used
    torch.testing.assert_close(short, full, atol=1e-5, rtol=1e-5)
    assert torch.equal(again, full)


@pytest.mark.slow
@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_training_step_is_the_same_with_dropout_on(minilm_path, attention):
    model = _classifier(minilm_path, attention)
    assert model.config.hidden_dropout_prob > 0 and model.config.attention_probs_dropout_prob > 0
    _assert_same_training_step(model, _batch(1))


def test_roberta_and_lora_are_the_same_too(tiny_model):
    _assert_same_training_step(_tiny("roberta"), _batch(2))
    # LoRA adapts the query with its own dropout: the shortcut still gives the same step
    config = build_config(model=str(tiny_model), method="lora", lora_dropout=0.1)
    model, new = hf.load_classifier(hf.resolve_model(str(tiny_model)), 3)
    _assert_same_training_step(apply_method(model, "lora", new, config), _batch(3))


def test_other_models_run_unchanged(minilm_path):
    model = _tiny("distilbert").eval()
    batch = _batch()
    with torch.inference_mode():
        full = model(**batch).logits
        with first_token_only(model) as used:
            short = model(**batch).logits
    assert not used and torch.equal(short, full)
    bert = _classifier(minilm_path)
    with first_token_only(bert, enabled=False) as used:
        assert not used


def test_forward_does_a_seventh_less_work(minilm_path):
    """MiniLM has 6 layers; the last keeps only its key and value projections for all tokens
    (4 of the 24 h^2 FLOPs per token), so the forward pass does ~5/36 = 14% less."""
    model = _classifier(minilm_path).eval()
    batch = _batch(size=8, width=32)
    batch["attention_mask"][:] = 1

    def flops(shortcut: bool) -> int:
        with torch.inference_mode(), FlopCounterMode(display=False) as counter, \
                first_token_only(model, enabled=shortcut):
            model(**batch)
        return counter.get_total_flops()

    saved = 1 - flops(True) / flops(False)
    assert 0.12 < saved < 0.15


def _train(model_path, monkeypatch, shortcut: bool):
    if not shortcut:
        original = first_token.first_token_only
        monkeypatch.setattr(loop, "first_token_only",
                            lambda model, enabled=True: original(model, enabled=False))
    config = build_config(model=str(model_path), batch_size=16, max_seq_length=64)
    ref = hf.resolve_model(config.model)
    torch.manual_seed(0)
    model, new = hf.load_classifier(ref, 2, task=RTE.task)
    encoded = features.encode(hf.load_tokenizer(ref), RTE, 64)
    engine = loop.Engine("cpu", False, False)
    loop.train(model, encoded, RTE.labels, config, engine, seed=0, learning_rate=1e-3, epochs=1)
    logits = loop.predict(model, encoded, config, engine)
    monkeypatch.undo()
    return dict(model.named_parameters()), logits


@pytest.mark.slow
def test_the_loop_trains_the_same_model(tiny_model, monkeypatch):
    """13 optimizer steps with dropout on, through loop.train and loop.predict."""
    full_params, full_logits = _train(tiny_model, monkeypatch, shortcut=False)
    params, logits = _train(tiny_model, monkeypatch, shortcut=True)
    for name, value in full_params.items():
        torch.testing.assert_close(params[name], value, atol=1e-5, rtol=1e-4, msg=name)
    np.testing.assert_allclose(logits, full_logits, atol=1e-5)
