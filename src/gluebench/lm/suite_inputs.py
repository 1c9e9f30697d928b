"""The fields a SuperGLUE prompt shows, derived from a row's inputs as lm-eval derives them.

* COPA: ``connector``, "because" for a cause and "therefore" for an effect
  (lm-eval's copa/utils.py).
* WiC: ``word1``, the target word as it appears in sentence 1 (``sentence1[start1:end1]``).
* WSC: the spans as the Hugging Face hub's ``wsc.fixed`` config has them, then
  ``marked_passage``, the text with the pronoun in asterisks (lm-eval's preprocess_wsc.py).
  lm-eval reads ``wsc.fixed``, whose loader (``_fix_wst`` in the hub's super_glue.py)
  rewrites a span text that is not a substring of the text: its first letter takes the case
  of the token at its index, a final "." and newlines go. In the official val file that
  changes ``span1_text`` in 8 rows (a sentence-initial "The ..." becomes "the ...");
  applying the same fix gives both tools the same prompt.
* ReCoRD: ``highlights``, the passage with each "@highlight" as a "  - ...." line
  (lm-eval's record/util.py); the candidates are the sorted distinct entities.
* AX-b: ``premise`` and ``hypothesis`` from ``sentence1`` and ``sentence2``, so RTE's
  templates read it.
"""

from __future__ import annotations

import re

CONNECTORS = {"cause": "because", "effect": "therefore"}
UNFIXABLE_WSC = ("Kamenev and Zinoviev", "Kamenev, Zinoviev, and Stalin")


def prompt_fields(task: str, inputs: dict) -> dict:
    """A row's inputs plus the fields its task's templates use (a new dict)."""
    fields = dict(inputs)
    derive = DERIVED.get(task)
    if derive is not None:
        derive(fields)
    return fields


def _copa(fields: dict) -> None:
    fields["connector"] = CONNECTORS[fields["question"]]


def _wic(fields: dict) -> None:
    fields["word1"] = fields["sentence1"][fields["start1"]:fields["end1"]]


def _wsc(fields: dict) -> None:
    fields.update(wsc_fixed(fields))
    fields["marked_passage"] = marked_passage(fields["text"], fields["span2_index"],
                                              fields["span2_text"])


def _record(fields: dict) -> None:
    fields["highlights"] = highlights(fields["passage"])


def _axb(fields: dict) -> None:
    fields["premise"], fields["hypothesis"] = fields["sentence1"], fields["sentence2"]


DERIVED = {"COPA": _copa, "WiC": _wic, "WSC": _wsc, "ReCoRD": _record, "AX-b": _axb}


def wsc_fixed(row: dict) -> dict:
    """The spans of a WSC row as the hub's ``wsc.fixed`` config gives them (its ``_fix_wst``,
    rewritten: the same rules, in the same order)."""
    out = {k: row[k] for k in ("span1_index", "span1_text", "span2_index", "span2_text")}
    for span in ("span1", "span2"):
        text, index = out[f"{span}_text"], out[f"{span}_index"]
        if text in row["text"] or text in UNFIXABLE_WSC:
            continue
        if "theyscold" in text:       # the hub moves this span's index (its text stays)
            out["span2_index"] = 10
        first_word = row["text"].split()[index]
        text = (text[0].lower() if first_word[0].islower() else text[0].upper()) + text[1:]
        out[f"{span}_text"] = text.rstrip(".").replace("\n", " ")
    return out


def marked_passage(text: str, index: int, pronoun: str) -> str:
    """lm-eval's WSC passage: the words before the pronoun, "*pronoun*", the rest,
    detokenized (its ``general_detokenize``)."""
    pre = " ".join(text.split()[:index])
    post = text[len(pre) + len(pronoun) + 1:]
    return detokenize(pre + f" *{pronoun}*" + post)


def detokenize(text: str) -> str:
    """lm-eval's ``general_detokenize`` (lm_eval/utils.py): spaces before n't, closing
    brackets, quotes and ' . , removed."""
    for before, after in ((" n't", "n't"), (" )", ")"), ("( ", "("), ('" ', '"'), (' "', '"')):
        text = text.replace(before, after)
    return re.sub(r" (['.,])", r"\1", text)


def highlights(passage: str) -> str:
    """lm-eval's ReCoRD context: the passage's text, then each highlight as a bullet."""
    initial, *rest = passage.strip().split("\n@highlight\n")
    return initial + "\n\n" + "".join(f"  - {h}.\n" for h in rest)


def candidates(entities: list[str]) -> list[str]:
    """ReCoRD's answer candidates: the passage's distinct entity texts, sorted (lm-eval's
    process_docs, over the hub's entity list)."""
    return sorted(set(entities))
