"""WordNet synonym replacement (the lexical family), as in Wei & Zou 2019, "EDA".

Needs nltk and its WordNet data, both optional: :func:`wordnet_problem` says why it cannot run.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from gluebench.robustness.words import Context, map_cores, match_case

#: Probability that a content word is replaced by a WordNet synonym (when one exists).
SYNONYM_RATE = 0.2

# Replacing these with "synonyms" (be -> exist, the -> ...) would change the sentence, not
# paraphrase it.
_STOP_WORDS = frozenset(
    """a an the and or but if then than so of in on at to for from by with about as into onto
    over under up down out off not no nor is are was were be been being am have has had do does
    did can could will would shall should may might must this that these those it its he she
    they them their his her him we us our you your i me my there here what which who whom whose
    when where why how very too also just only all any some each more most such own same""".split()
)


def _wordnet():  # -> the nltk WordNet corpus reader; imported lazily, it is optional
    from nltk.corpus import wordnet

    return wordnet


def wordnet_problem() -> str | None:
    """None when WordNet can be used, else a one-line reason naming the fix."""
    if importlib.util.find_spec("nltk") is None:
        return (
            "WordNet data not found: nltk is not installed "
            "(pip install nltk, then nltk.download('wordnet'))"
        )
    try:
        _wordnet().synsets("film")
    except LookupError:
        return "WordNet data not found (nltk.download('wordnet'))"
    return None


def _synonyms(wordnet, word: str) -> list[str]:
    lemmas = {lemma.name().replace("_", " ") for s in wordnet.synsets(word) for lemma in s.lemmas()}
    return sorted(n for n in lemmas if n.lower() != word)  # sorted: set order is not seeded


def synonym_wordnet(text: str, rng: np.random.Generator | None, context: Context) -> str:
    assert rng is not None
    wordnet = _wordnet()

    def on_core(core: str) -> str:
        if len(core) < 3 or not core.isalpha() or core.lower() in _STOP_WORDS:
            return core
        if rng.random() >= SYNONYM_RATE:
            return core
        options = _synonyms(wordnet, core.lower())
        return match_case(core, options[int(rng.integers(len(options)))]) if options else core

    return map_cores(text, on_core)
