"""The last encoder layer computed for the first token only: all a sequence classifier reads.

A BERT or RoBERTa classifier reads one position of the last layer's output, the first token
([CLS] / <s>): BERT through its pooler, RoBERTa through its head. Every other position's query,
attention output, feed-forward block and LayerNorms in that layer are computed and thrown away:
5/6 of the layer's work, about 14% of a 6-layer model's forward and backward pass. Inside
``first_token_only(model)`` that layer computes the first token alone (keys and values still
over every token) and the encoder's last hidden state is (batch, 1, hidden).

Training stays the same run: each dropout in that layer draws its mask at the full shape, as
the full layer does, and keeps the first token's part, so the random stream, and with it every
later dropout mask, is unchanged. Logits, losses and gradients agree with the full layer to
float rounding (tests/test_first_token.py). Where that cannot be promised (another model
family, transformers 4's layer outputs, fused SDPA dropout kernels on a GPU, a caller that
wants every hidden state) the model runs unchanged.
"""

from __future__ import annotations

import types
from contextlib import contextmanager

# Models whose head reads only position 0 of the last layer, with BERT's layer structure.
SUPPORTED = ("BertForSequenceClassification", "RobertaForSequenceClassification",
             "XLMRobertaForSequenceClassification")


@contextmanager
def first_token_only(model, enabled: bool = True):
    """Within the block, ``model``'s last layer computes only the first token; yields whether
    it does (False: the model is not one this applies to, and runs unchanged)."""
    layer = last_layer(model) if enabled else None
    if layer is None:
        yield False
        return
    previous = layer.__dict__.get("forward")
    layer.forward = types.MethodType(_first_token_forward, layer)
    try:
        yield True
    finally:
        if previous is None:
            del layer.forward
        else:
            layer.forward = previous


def last_layer(model):
    """The encoder's last layer when the shortcut applies to ``model`` as it is now, else None."""
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:
        return None  # transformers 4's layers return tuples, read by index by the encoder
    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft
    if type(base).__name__ not in SUPPORTED:
        return None
    config = base.config
    if (config.is_decoder or getattr(config, "add_cross_attention", False)
            or getattr(config, "chunk_size_feed_forward", 0)
            or config._attn_implementation not in ("sdpa", "eager")):
        return None
    layers = getattr(getattr(base.base_model, "encoder", None), "layer", None)
    if not layers:
        return None
    layer = layers[-1]
    if not _bert_shaped(layer):
        return None
    attention = layer.attention.self
    if (layer.training and attention.dropout.p > 0 and config._attn_implementation == "sdpa"
            and attention.query.weight.device.type != "cpu"):
        return None  # a GPU's fused SDPA dropout draws its own masks: those cannot be matched
    return layer


def _bert_shaped(layer) -> bool:
    parts = ("attention.self.query", "attention.self.key", "attention.self.value",
             "attention.self.dropout", "attention.output.dense", "attention.output.dropout",
             "attention.output.LayerNorm", "intermediate.dense", "output.dense",
             "output.dropout", "output.LayerNorm")
    for path in parts:
        node = layer
        for name in path.split("."):
            node = getattr(node, name, None)
        if node is None:
            return False
    return hasattr(layer.intermediate, "intermediate_act_fn")


def _dropout_first(x, full_shape, dropout):
    """``dropout`` of a tensor shaped ``full_shape`` (the mask the full layer draws), first
    token's part applied to ``x``: the same random draws, the same product."""
    import torch.nn.functional as F

    if not dropout.training or dropout.p == 0:
        return x
    keep = F.dropout(x.new_ones(full_shape), dropout.p, training=True)  # 0 or 1/(1-p)
    return x * keep[tuple(slice(0, n) for n in x.shape)]


def _first_token_forward(layer, hidden_states, attention_mask=None, *args, **kwargs):
    """BertLayer.forward for the first token: (batch, seq, hidden) -> (batch, 1, hidden)."""
    import torch
    import torch.nn.functional as F

    attention = layer.attention.self
    batch, seq, _ = hidden_states.shape
    heads, size = attention.num_attention_heads, attention.attention_head_size
    first = hidden_states[:, :1]                                          # (batch, 1, hidden)
    if type(attention.query) is torch.nn.Linear:
        query = attention.query(first)
    else:  # an adapter (LoRA) may draw dropout over its whole input: give it all of it
        query = attention.query(hidden_states)[:, :1]
    query = query.view(batch, 1, heads, size).transpose(1, 2)            # (batch, heads, 1, d)
    key = attention.key(hidden_states).view(batch, seq, heads, size).transpose(1, 2)
    value = attention.value(hidden_states).view(batch, seq, heads, size).transpose(1, 2)
    mask = None if attention_mask is None else attention_mask[:, :, :1]  # (batch, 1, 1, seq)
    if attention.dropout.training and attention.dropout.p > 0:
        # torch's math attention (what SDPA runs with dropout on a CPU), one query row
        root = attention.scaling ** 0.5
        scores = torch.matmul(query * root, key.transpose(-2, -1) * root)  # (batch, heads, 1, seq)
        if mask is not None:
            scores = (scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool
                      else scores + mask)
        probs = _dropout_first(torch.softmax(scores, dim=-1), (batch, heads, seq, seq),
                               attention.dropout)
        context = torch.matmul(probs, value)                              # (batch, heads, 1, d)
    else:
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask,
                                                 scale=attention.scaling)
    context = context.transpose(1, 2).reshape(batch, 1, heads * size)    # (batch, 1, hidden)
    out = layer.attention.output
    full = (batch, seq, out.dense.out_features)
    attended = out.LayerNorm(_dropout_first(out.dense(context), full, out.dropout) + first)
    inner = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(attended))
    ffn = layer.output
    return ffn.LayerNorm(_dropout_first(ffn.dense(inner), full, ffn.dropout) + attended)
