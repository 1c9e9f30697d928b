"""Multiple choice through the fine-tuning loop: COPA's alternatives, ReCoRD's entities.

A row has a varying number of options (COPA: 2; ReCoRD: one per distinct candidate entity,
2 to 50+). Every option is one (first, second) text pair scored by transformers'
``AutoModelForMultipleChoice`` head (pooled first token -> dropout -> Linear(hidden, 1)), and
a softmax over the row's options is the row's distribution: choosing option ``k`` of a row is
its class ``k``.

**Batching.** The loop cuts batches of *rows* (``ChoiceData`` is a drop-in for
``features.Encoded``: ``len``, ``lengths``, ``batch``). A batch's options are flattened,
``(options, seq)``, padded to the batch's longest option only, and scored in one forward pass
as ``(options, 1, seq)`` choices of one; ``option_index`` ``(rows, width)`` then gathers each
row's option scores into ``(rows, width)`` logits, padded slots at ``-1e9``. ``width`` is the
data's largest option count, so every batch has the same logit width. No padding option is
ever encoded: a ReCoRD row with 3 candidates costs 3 sequences, not ``width``. The loop's
cross-entropy over these logits is the softmax over the row's own options, and its length
grouping and token-budget inference batches see a row's length as its options' tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gluebench.shapes.framing import Framed
from gluebench.train.features import Encoded, encode_texts

MISSING = -1e9   # the logit of a padded option slot: softmax weight exp(-1e9) = 0


@dataclass
class ChoiceData:
    """The options of n rows: row r's options are ``options[bounds[r]:bounds[r+1]]``."""

    options: Encoded
    bounds: np.ndarray    # (n + 1,) int64
    width: int            # the largest option count of a row

    def __len__(self) -> int:
        return len(self.bounds) - 1

    @property
    def lengths(self) -> np.ndarray:
        """A row's cost in tokens: its option count x its longest option (padded)."""
        per_option = self.options.lengths
        return np.array([max(1, b - a) * int(per_option[a:b].max(initial=1))
                         for a, b in zip(self.bounds[:-1], self.bounds[1:], strict=True)],
                        dtype=np.int64)

    def batch(self, rows: np.ndarray, pad_to: int | None = None) -> dict[str, np.ndarray]:
        """The rows' options flattened, ``(options, seq)``, and ``option_index`` (rows, width)."""
        starts, ends = self.bounds[rows], self.bounds[np.asarray(rows) + 1]
        flat = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)])
        out = self.options.batch(flat, pad_to)
        index = np.full((len(rows), self.width), -1, dtype=np.int64)
        position = 0
        for r, (a, b) in enumerate(zip(starts, ends, strict=True)):
            index[r, :b - a] = np.arange(position, position + b - a)
            position += b - a
        out["option_index"] = index
        return out


def choice_data(tokenizer, framed: Framed, max_length: int) -> ChoiceData:
    """A ``choose`` framing's options, tokenised (and cached) as pairs."""
    bounds = framed.bounds()
    width = int(np.diff(bounds).max(initial=1))
    return ChoiceData(encode_texts(tokenizer, framed.columns(), max_length), bounds, width)


def choice_targets(framed: Framed) -> tuple[np.ndarray, np.ndarray]:
    """(rows that can be learned from, each one's target option within its row).

    The target is the row's first correct option; a row none of whose options is correct
    (a ReCoRD answer missing from the candidate list) teaches nothing and is left out.
    """
    bounds = framed.bounds()
    keep, target = [], []
    for r in range(framed.n_rows):
        hits = np.flatnonzero(framed.correct[bounds[r]:bounds[r + 1]])
        if len(hits):
            keep.append(r)
            target.append(int(hits[0]))
    return np.array(keep, dtype=np.int64), np.array(target, dtype=np.int64)


def subset(data: ChoiceData, rows: np.ndarray) -> ChoiceData:
    """The options of ``rows`` only (in that order)."""
    counts = np.diff(data.bounds)[rows]
    flat = np.concatenate([np.arange(data.bounds[r], data.bounds[r + 1]) for r in rows])
    starts = data.options.offsets[flat]
    lengths = data.options.lengths[flat]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    take = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths, strict=True)])
    options = Encoded(data.options.ids[take], offsets,
                      None if data.options.token_types is None
                      else data.options.token_types[take], data.options.pad_id)
    bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ChoiceData(options, bounds, int(counts.max(initial=1)))


def row_scores(logits: np.ndarray, data: ChoiceData) -> np.ndarray:
    """The loop's ``(rows, width)`` logits back to one score per option, in option order."""
    counts = np.diff(data.bounds)
    return np.concatenate([logits[r, :c] for r, c in enumerate(counts)]) if len(counts) \
        else np.zeros(0, np.float32)


def row_probabilities(logits: np.ndarray, data: ChoiceData) -> np.ndarray:
    """Softmax over each row's options: (rows, width), padded slots 0."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=1, keepdims=True)


def option_scorer(model):
    """Wrap a multiple-choice model: ``forward(input_ids, attention_mask, option_index, ...)``
    returns ``.logits`` (rows, width), each option scored alone as a choice of one."""
    import torch  # deferred: torch and transformers load only when training
    from transformers.modeling_outputs import MultipleChoiceModelOutput

    class _Scorer(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner
            self.config = inner.config

        def forward(self, input_ids, attention_mask, option_index, token_type_ids=None,
                    **kwargs):
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids[:, None]}
            out = self.inner(input_ids=input_ids[:, None], attention_mask=attention_mask[:, None],
                             **extra, **kwargs)
            scores = out.logits.float().reshape(-1)                     # (options,)
            gathered = scores[option_index.clamp(min=0)]                # (rows, width)
            logits = gathered.masked_fill(option_index < 0, MISSING)
            return MultipleChoiceModelOutput(logits=logits, hidden_states=out.hidden_states)

        def save_pretrained(self, path, **kwargs):
            self.inner.save_pretrained(path, **kwargs)

    return _Scorer(model)
