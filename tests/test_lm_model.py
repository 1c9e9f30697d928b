"""The embedded SmolLM2-135M on real prompts: scores are exact, fast paths change nothing."""

from __future__ import annotations

import numpy as np
import pytest

from gluebench.data import open_source
from gluebench.lm import fewshot
from gluebench.lm.predictor import PromptPredictor
from gluebench.lm.requests import Request
from gluebench.lm.templates import get_template
from gluebench.tasks import TASKS


def direct_loglikelihood(backend, context: str, continuation: str) -> float:
    """An independent computation: one plain forward of the model over context+continuation,
    tokenised as lm-eval does, full-vocabulary log-softmax, sum over the continuation."""
    import torch

    tok, model = backend.tokenizer, backend.model
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    ctx = tok.encode(context)
    cont = tok.encode(context + continuation)[len(ctx):]
    with torch.no_grad():
        logits = model(torch.tensor([(ctx + cont)[:-1]])).logits[0]
    logprobs = torch.log_softmax(logits.double(), dim=-1)
    return float(sum(logprobs[len(ctx) - 1 + i, t] for i, t in enumerate(cont)))


def _requests(glue_dir, task_name, shots, n, template="lm-eval"):
    source = open_source(glue_dir)
    task = TASKS[task_name]
    examples = source.load(task, "dev").subsample(n, 0)
    examples.index = np.arange(len(examples))
    predictor = PromptPredictor(task, None, get_template(task, template),
                                fewshot.draw(source, task, shots, 1))
    return predictor.requests(examples)


@pytest.mark.parametrize(("task", "shots", "template"), [
    ("RTE", 0, "lm-eval"),        # one token per choice: one pass per example
    ("SST-2", 3, "lm-eval"),      # few-shot: the shared prefix comes from the KV cache
    ("STS-B", 2, "lm-eval"),      # " 0".." 5": shared space token, then one digit each
    ("MNLI", 0, "relation"),      # multi-token choices: one row per choice
])
def test_ll_equals_a_direct_forward_pass(smollm2, glue_dir, task, shots, template):
    requests = _requests(glue_dir, task, shots, 6, template)
    ours = smollm2.loglikelihoods(requests)
    if shots:
        assert smollm2.shared_prefix_tokens > 16
    direct = np.array([[direct_loglikelihood(smollm2, r.context, c) for c in r.continuations]
                       for r in requests])
    assert np.allclose(ours, direct, atol=2e-4, rtol=0), np.abs(ours - direct).max()


def test_small_batches_give_the_same_scores(smollm2, glue_dir):
    requests = _requests(glue_dir, "MRPC", 2, 8)
    full = smollm2.loglikelihoods(requests)
    saved = smollm2.batch_tokens
    smollm2.batch_tokens = 1     # one row per forward pass
    try:
        single = smollm2.loglikelihoods(requests)
    finally:
        smollm2.batch_tokens = saved
    assert np.allclose(full, single, atol=2e-4)


def test_first_token_is_ll_restricted_to_the_top_k(smollm2, glue_dir):
    requests = _requests(glue_dir, "RTE", 0, 6)
    ll = smollm2.loglikelihoods(requests)
    top = smollm2.first_token(requests, top_k=50)
    seen = np.isfinite(top)
    assert seen.any()
    assert np.allclose(top[seen], ll[seen], atol=2e-4)
    assert np.isneginf(smollm2.first_token(requests, top_k=1)).sum() >= len(requests)


def test_generate_is_greedy_and_deterministic(smollm2):
    context = "Question: Is the sky blue? Answer yes or no.\nAnswer:"
    first = smollm2.generate([context, context + " Yes\n\n" + context], 4)
    assert first == smollm2.generate([context, context + " Yes\n\n" + context], 4)
    assert all("\n" not in t for t in first)


def test_empty_prompt_is_refused(smollm2):
    from gluebench.errors import UsageError

    with pytest.raises(UsageError, match="empty prompt"):
        smollm2.loglikelihoods([Request("", (" a", " b"))])
