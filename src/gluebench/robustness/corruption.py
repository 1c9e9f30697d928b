"""Corruption probes: remove a word class, shuffle the words, keep first characters only.

They may change the gold label (``label_preserving=False``): they show what information a model
relies on. The part-of-speech drops read spaCy tokens from the :class:`Context` (tagged by
:mod:`gluebench.robustness.transformations`) and rebuild natural text from the kept ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gluebench.robustness.words import SPACE_SPLIT, ApplyFn, Context, Token, map_words

NOUNS = frozenset({"NOUN", "PROPN"})  # the small model tags some sentence-initial nouns PROPN
VERBS = frozenset({"VERB"})
ADJECTIVES = frozenset({"ADJ"})
FUNCTION_WORDS = frozenset({"DET", "ADP", "AUX", "CCONJ", "SCONJ", "PRON", "PART"})


def _rebuild(tokens: Sequence[Token], keep: Sequence[bool]) -> str:
    """Join the kept tokens, with one space wherever the original had whitespace between them.

    Punctuation that was attached to a dropped word attaches to the kept word before it
    (``Reeve, the`` -> ``, the``; ``the actor, has`` -> ``the, has``) rather than floating.
    """
    parts: list[str] = []
    gap = False  # was there whitespace since the last kept token?
    after_attached_drop = False  # is the previous token a dropped one with no space after it?
    for (text, pos, space), kept in zip(tokens, keep, strict=True):
        if kept:
            glue = pos == "PUNCT" and after_attached_drop
            if parts and gap and not glue:
                parts.append(" ")
            parts.append(text)
            gap = bool(space)
        else:
            gap = gap or bool(space)
        after_attached_drop = not kept and not space
    return "".join(parts)


def drop_pos(tags: frozenset[str]) -> ApplyFn:
    """A transformation that removes the tokens whose coarse POS tag is in ``tags``."""

    def apply(text: str, rng: np.random.Generator | None, context: Context) -> str:
        tokens = context.tokens[text]
        return _rebuild(tokens, [pos not in tags for _, pos, _ in tokens])

    return apply


# Reshuffle when the permutation happens to restore the original order: an unchanged text would
# silently weaken the probe. With two distinct words each draw is the identity with p <= 1/2.
_SHUFFLE_TRIES = 10


def shuffle_words(text: str, rng: np.random.Generator | None, context: Context) -> str:
    assert rng is not None
    pieces = SPACE_SPLIT.split(text)
    slots = [i for i, p in enumerate(pieces) if p and not p.isspace()]
    words = [pieces[i] for i in slots]
    if len(set(words)) < 2:
        return text
    shuffled = words
    for _ in range(_SHUFFLE_TRIES):
        shuffled = [words[j] for j in rng.permutation(len(words))]
        if shuffled != words:
            break
    for slot, word in zip(slots, shuffled, strict=True):
        pieces[slot] = word
    return "".join(pieces)


def first_char(text: str, rng: np.random.Generator | None, context: Context) -> str:
    return map_words(text, lambda word: word[0])
