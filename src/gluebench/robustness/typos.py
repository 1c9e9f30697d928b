"""Typo noise on the inner letters of words: swap, drop, insert, QWERTY neighbour.

After Belinkov & Bisk 2018 and Pruthi et al. 2019. Every edit touches inner letters only (never
the first or the last): readers recover such words easily, so the label stays valid.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gluebench.robustness.words import ApplyFn, Context, map_cores

#: Probability that an eligible word gets one typo. 0.3 is mild enough that sentences stay
#: readable, and strong enough that most GLUE sentences receive at least one typo.
TYPO_RATE = 0.3
#: Words shorter than this are left alone (as in Pruthi et al. 2019): they have no inner letters
#: worth changing, and a typo in "the" or "of" reads as a different word, not as noise.
TYPO_MIN_LENGTH = 4

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_ROW_OFFSETS = (0.0, 0.25, 0.75)  # how far each row is shifted right, in key widths


def _qwerty_neighbours() -> dict[str, str]:
    """Keys that touch each letter key: left/right in its row, and overlapping ones above/below."""
    place = {
        key: (row, col + _ROW_OFFSETS[row])
        for row, keys in enumerate(_QWERTY_ROWS)
        for col, key in enumerate(keys)
    }

    def touching(a: str, b: str) -> bool:
        (row_a, x_a), (row_b, x_b) = place[a], place[b]
        return a != b and abs(row_a - row_b) <= 1 and abs(x_a - x_b) <= 1.0

    return {a: "".join(sorted(b for b in place if touching(a, b))) for a in sorted(place)}


#: The letter keys that touch each letter key on a US QWERTY keyboard.
QWERTY_NEIGHBOURS = _qwerty_neighbours()


def typo_swap(word: str, rng: np.random.Generator) -> str:
    spots = [i for i in range(1, len(word) - 2) if word[i] != word[i + 1]]
    if not spots:  # "committee"-like words may have no swap that changes anything
        return word
    i = spots[int(rng.integers(len(spots)))]
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def typo_drop(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))
    return word[:i] + word[i + 1 :]


def typo_insert(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word)))  # between two letters
    letter = _LETTERS[int(rng.integers(len(_LETTERS)))]
    return word[:i] + (letter.upper() if word.isupper() else letter) + word[i:]


def typo_keyboard(word: str, rng: np.random.Generator) -> str:
    spots = [i for i in range(1, len(word) - 1) if word[i].lower() in QWERTY_NEIGHBOURS]
    if not spots:  # no ASCII inner letter (e.g. a word in another script)
        return word
    i = spots[int(rng.integers(len(spots)))]
    options = QWERTY_NEIGHBOURS[word[i].lower()]
    new = options[int(rng.integers(len(options)))]
    return word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1 :]


def typo(edit: Callable[[str, np.random.Generator], str]) -> ApplyFn:
    """Give each alphabetic word of TYPO_MIN_LENGTH+ letters one ``edit`` with TYPO_RATE."""

    def apply(text: str, rng: np.random.Generator | None, context: Context) -> str:
        assert rng is not None

        def on_core(core: str) -> str:
            # Words with digits, hyphens or apostrophes ("n't", "1990s") are left alone.
            if len(core) < TYPO_MIN_LENGTH or not core.isalpha():
                return core
            return edit(core, rng) if rng.random() < TYPO_RATE else core

        return map_cores(text, on_core)

    return apply
