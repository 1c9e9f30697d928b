"""What is known about a language model's training data and GLUE (one note per model family).

Only documented facts: a model whose training mixture is published says what it has and
whether GLUE (or its source texts) is among it; an undisclosed mixture says so. The note
travels with every prompted run's results and is shown in the report.
"""

from __future__ import annotations

import re

# (pattern on the model's name or path, level, note). First match wins.
NOTES: tuple[tuple[str, str, str], ...] = (
    (r"flan|\bt0\b|t0pp|tk-instruct", "known",
     "instruction-tuned on a mixture that contains GLUE training sets (FLAN / P3 / "
     "Super-NaturalInstructions include CoLA, SST-2, MRPC, QQP, STS-B, MNLI, QNLI, RTE, WNLI): "
     "GLUE dev/test scores are not zero-shot"),
    (r"smollm2", "possible",
     "SmolLM2 (Allal et al., 2025): pre-trained on public web and synthetic corpora "
     "(FineWeb-Edu, DCLM, The Stack v2, FineMath, Cosmopedia); the -Instruct models are "
     "fine-tuned on SmolTalk (new synthetic data plus public instruction sets such as "
     "MetaMathQA and NuminaMath-CoT). GLUE is not listed in these mixtures and no "
     "decontamination against GLUE is reported; web text can contain GLUE's source sentences "
     "(movie reviews, news, Wikipedia, Quora), and public instruction sets may carry "
     "FLAN-style prompts built from GLUE — treat scores as possibly contaminated"),
    (r"smollm", "possible",
     "SmolLM: pre-trained on SmolLM-Corpus (FineWeb-Edu, Cosmopedia, Python-Edu); GLUE is not "
     "listed and no decontamination against GLUE is reported"),
    (r"qwen|llama|mistral|gemma|phi", "unknown",
     "training data not fully disclosed: GLUE-like data cannot be ruled out"),
)
UNKNOWN = ("unknown", "no documentation of this model's training data is known to gluebench")


def contamination_note(model: str) -> dict:
    """{"level": known|possible|unknown, "note": ...} for a model name, path or description."""
    for pattern, level, note in NOTES:
        if re.search(pattern, model, flags=re.IGNORECASE):
            return {"level": level, "note": note}
    return {"level": UNKNOWN[0], "note": UNKNOWN[1]}
