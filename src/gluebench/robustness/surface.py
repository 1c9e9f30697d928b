"""Surface changes a reader would not notice: case, punctuation, contractions.

The invariance tests of Ribeiro et al. 2020 (CheckList). All are deterministic and work on raw
(``don't``) as well as GLUE-tokenised (``do n't``) text.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import numpy as np

from gluebench.robustness.words import Context, match_case

# Apostrophes and hyphens inside words ("don't", "n't", "well-made") and the apostrophe of
# tokenised clitics ("it 's", "you 're") belong to the words, not to the punctuation.
_WORD_MARKS = re.compile(r"(?<=\w)['’-](?=\w)|(?<!\w)['’](?=(?:s|re|ve|ll|d|m)\b)", re.IGNORECASE)


def _is_punctuation(char: str) -> bool:
    # The backtick is a symbol in Unicode, but PTB-tokenised GLUE uses `` as an opening quote.
    return char == "`" or unicodedata.category(char).startswith("P")


def remove_punctuation(text: str, rng: np.random.Generator | None, context: Context) -> str:
    kept = {m.start() for m in _WORD_MARKS.finditer(text)}
    stripped = "".join(c for i, c in enumerate(text) if i in kept or not _is_punctuation(c))
    return " ".join(stripped.split())  # tokenised text leaves gaps where punctuation was


def lowercase(text: str, rng: np.random.Generator | None, context: Context) -> str:
    return text.lower()


def uppercase(text: str, rng: np.random.Generator | None, context: Context) -> str:
    return text.upper()


_APOSTROPHE = "['’]"
# Subjects whose "'s" is "is" (it's, that's); after other words "'s" is usually a possessive.
_IS_SUBJECTS = ("it", "that", "there", "here", "he", "she", "what", "where", "who", "how")
# (pattern, expansion). ``{stem}`` is the word before the clitic. "\s?" accepts both the raw
# ("don't") and the GLUE-tokenised ("do n't") spelling. Ambiguous clitics take their most
# frequent reading: 's -> is (not has), 'd -> would (not had). "ain't" is left alone.
_CONTRACTION_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), expansion)
    for pattern, expansion in (
        (rf"\bca\s?n{_APOSTROPHE}t\b", "cannot"),
        (rf"\bwo\s?n{_APOSTROPHE}t\b", "will not"),
        (rf"\bsha\s?n{_APOSTROPHE}t\b", "shall not"),
        (rf"\b(?!ai\s?n{_APOSTROPHE}t\b)(\w+?)\s?n{_APOSTROPHE}t\b", "{stem} not"),
        (rf"\b(let)\s?{_APOSTROPHE}s\b", "{stem} us"),
        (rf"\b({'|'.join(_IS_SUBJECTS)})\s?{_APOSTROPHE}s\b", "{stem} is"),
        (rf"\b(\w+)\s?{_APOSTROPHE}re\b", "{stem} are"),
        (rf"\b(\w+)\s?{_APOSTROPHE}ve\b", "{stem} have"),
        (rf"\b(\w+)\s?{_APOSTROPHE}ll\b", "{stem} will"),
        (rf"\b(\w+)\s?{_APOSTROPHE}d\b", "{stem} would"),
        (rf"\b(i)\s?{_APOSTROPHE}m\b", "{stem} am"),
    )
)


def _expand(match: re.Match[str], expansion: str) -> str:
    stem = match.group(1) if match.re.groups else ""
    return match_case(match.group(0), expansion.format(stem=stem))


def contractions(text: str, rng: np.random.Generator | None, context: Context) -> str:
    for pattern, expansion in _CONTRACTION_RULES:
        text = pattern.sub(functools.partial(_expand, expansion=expansion), text)
    return text
