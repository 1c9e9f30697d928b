"""Prompted causal language models on GLUE: templates as data, scoring, backends, runs.

``templates`` (prompts and answer choices per task, from ``templates.toml``), ``fewshot``
(seeded demonstrations), ``scoring`` (log-likelihoods to labels, length normalisation,
STS-B's expected value, contextual calibration, parsing generations), ``hf_backend`` (a
local transformers model, fast), ``endpoint`` (an OpenAI-compatible server), ``runner``
(``gluebench prompt``: a run directory like ``finetune``'s) and ``predictor`` (a prompted
run as a predictor, for ``robustness``).
"""
