"""What every transformation works on: whitespace-separated words, spaCy tokens, a Context.

A transformation is a function ``apply(text, rng, context) -> text`` (:data:`ApplyFn`). The
helpers here change words one at a time while keeping the original whitespace between them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

#: One spaCy token: (text, coarse POS tag, trailing whitespace).
Token = tuple[str, str, str]


@dataclass(frozen=True)
class Context:
    """What a transformation may use besides the text: the spaCy tokens of each text of a call."""

    tokens: Mapping[str, tuple[Token, ...]] = field(default_factory=dict)


#: ``apply(text, rng, context) -> text``; ``rng`` is None for deterministic transformations.
ApplyFn = Callable[[str, "np.random.Generator | None", Context], str]

SPACE_SPLIT = re.compile(r"(\s+)")
# Leading punctuation, the word itself, trailing punctuation: "(film," -> "(", "film", ",".
_AFFIXES = re.compile(r"(\W*)(.*?)(\W*)", re.DOTALL)


def map_words(text: str, fn: Callable[[str], str]) -> str:
    """Apply ``fn`` to each whitespace-separated word, in order, keeping the whitespace."""
    pieces = SPACE_SPLIT.split(text)
    return "".join(fn(p) if p and not p.isspace() else p for p in pieces)


def map_cores(text: str, fn: Callable[[str], str]) -> str:
    """Like :func:`map_words`, but ``fn`` sees the word without surrounding punctuation."""

    def on_word(word: str) -> str:
        match = _AFFIXES.fullmatch(word)
        assert match is not None  # the pattern matches every string
        lead, core, trail = match.groups()
        return lead + (fn(core) if core else core) + trail

    return map_words(text, on_word)


def match_case(template: str, word: str) -> str:
    """Give ``word`` the case pattern of ``template`` (ALL CAPS or Capitalised)."""
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
