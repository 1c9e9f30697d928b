"""The local causal-LM backend on real prompts: scores are exact, fast paths change nothing.

The plumbing (shared-prefix KV cache, batching, padding, first-token top-k, generation) is
checked on ``tiny_lm``, a random-weight 2-layer Llama with SmolLM2's tokenizer; one slow test
checks the real embedded SmolLM2-135M against lm-evaluation-harness itself."""

from __future__ import annotations

import numpy as np
import pytest

from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import TASKS
from gluebench.lm import fewshot
from gluebench.lm.predictor import PromptPredictor
from gluebench.lm.requests import Request
from gluebench.lm.templates import get_template


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
        logits = model(torch.tensor([(ctx + cont)[:-1]])).logits[0, len(ctx) - 1:]
    logprobs = torch.log_softmax(logits.double(), dim=-1)      # (len(cont), vocabulary)
    return float(sum(logprobs[i, t] for i, t in enumerate(cont)))


def _requests(glue_dir, task_name, shots, n, template="lm-eval"):
    source = open_source(glue_dir)
    task = TASKS[task_name]
    examples = source.load(task, "dev").subsample(n, 0)
    examples.index = np.arange(len(examples))
    predictor = PromptPredictor(task, None, get_template(task, template),
                                fewshot.draw(source, task, shots, 1))
    return predictor.requests(examples)


def test_the_tiny_model_notices_a_dropped_context_token_or_a_position_gap(tiny_lm):
    """Its outputs move far beyond the equivalence tolerance (2e-4) when the forward pass
    loses one context token or shifts the positions after a cached prefix."""
    import torch

    ids = torch.tensor([tiny_lm.encode(["The cat sat on the mat. Is the cat sitting? Answer:"])[0]])
    n = ids.shape[1]
    mask = torch.ones_like(ids)
    mask[0, 3] = 0
    gap = torch.arange(n)[None].clone()
    gap[0, n // 2:] += 1
    with torch.no_grad():
        outs = [torch.log_softmax(tiny_lm.model(ids, **kw).logits[0, -1].double(), -1)
                for kw in ({}, {"attention_mask": mask}, {"position_ids": gap})]
    assert (outs[0] - outs[1]).abs().max() > 0.05
    assert (outs[0] - outs[2]).abs().max() > 0.05


@pytest.mark.parametrize(("task", "shots", "template"), [
    ("RTE", 0, "lm-eval"),        # one token per choice: one pass per example
    ("SST-2", 3, "lm-eval"),      # few-shot: the shared prefix comes from the KV cache
    ("STS-B", 2, "lm-eval"),      # " 0".." 5": shared space token, then one digit each
    ("MNLI", 0, "relation"),      # multi-token choices: one row per choice
])
def test_ll_equals_a_direct_forward_pass(tiny_lm, glue_dir, task, shots, template):
    requests = _requests(glue_dir, task, shots, 6, template)
    ours = tiny_lm.loglikelihoods(requests)
    if shots:
        assert tiny_lm.shared_prefix_tokens > 16
    direct = np.array([[direct_loglikelihood(tiny_lm, r.context, c) for c in r.continuations]
                       for r in requests])
    assert np.allclose(ours, direct, atol=2e-4, rtol=0), np.abs(ours - direct).max()


def test_small_batches_give_the_same_scores(tiny_lm, glue_dir):
    requests = _requests(glue_dir, "MRPC", 2, 8)
    full = tiny_lm.loglikelihoods(requests)
    saved = tiny_lm.batch_tokens
    tiny_lm.batch_tokens = 1     # one row per forward pass
    try:
        single = tiny_lm.loglikelihoods(requests)
    finally:
        tiny_lm.batch_tokens = saved
    assert np.allclose(full, single, atol=2e-4)


def test_first_token_is_ll_restricted_to_the_top_k(tiny_lm, glue_dir):
    requests = _requests(glue_dir, "RTE", 0, 6)
    ll = tiny_lm.loglikelihoods(requests)
    # Random weights rank the answer tokens anywhere: the top half of the vocabulary holds
    # some of them and misses others.
    top = tiny_lm.first_token(requests, top_k=len(tiny_lm.tokenizer) // 2)
    seen = np.isfinite(top)
    assert seen.any() and not seen.all()
    assert np.allclose(top[seen], ll[seen], atol=2e-4)
    assert np.isneginf(tiny_lm.first_token(requests, top_k=1)).sum() >= len(requests)


def test_generate_is_greedy_and_deterministic(tiny_lm):
    context = "Question: Is the sky blue? Answer yes or no.\nAnswer:"
    first = tiny_lm.generate([context, context + " Yes\n\n" + context], 4)
    assert first == tiny_lm.generate([context, context + " Yes\n\n" + context], 4)
    assert all("\n" not in t for t in first)


def test_empty_prompt_is_refused(tiny_lm):
    from gluebench.errors import UsageError

    with pytest.raises(UsageError, match="empty prompt"):
        tiny_lm.loglikelihoods([Request("", (" a", " b"))])


@pytest.mark.slow
def test_the_real_smollm2_scores_as_lm_evaluation_harness_does(smollm2, glue_dir):
    """The embedded SmolLM2-135M (its GGUF file) through every fast path at once — one pass per
    example, the few-shot KV cache, STS-B's shared space token, multi-token choices — against
    lm-eval's own HFLM.loglikelihood on the same loaded weights and the same prompts."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    groups = [_requests(glue_dir, task, shots, 3, template)
              for task, shots, template in [("RTE", 0, "lm-eval"), ("SST-2", 3, "lm-eval"),
                                            ("STS-B", 2, "lm-eval"), ("MNLI", 0, "relation")]]
    ours = np.concatenate([smollm2.loglikelihoods(g).ravel() for g in groups])
    lm = HFLM(pretrained=smollm2.model, tokenizer=smollm2.tokenizer, device="cpu", batch_size=1)
    pairs = [(r.context, c) for g in groups for r in g for c in r.continuations]
    theirs = np.array([ll for ll, _ in lm.loglikelihood(
        [Instance("loglikelihood", {}, pair, i) for i, pair in enumerate(pairs)],
        disable_tqdm=True)])
    assert len(ours) == len(theirs) == 3 * (2 + 2 + 6 + 3)
    assert np.allclose(ours, theirs, atol=2e-4, rtol=0), np.abs(ours - theirs).max()
