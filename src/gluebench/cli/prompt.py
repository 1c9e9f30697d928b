"""Prompted language models: ``gluebench prompt``."""

from __future__ import annotations

import argparse

from gluebench.benchmark.sources import open_source
from gluebench.cli.common import (
    DATA_HELP,
    console,
    positive_int,
    print_run,
    run_flags,
    seed_int,
)
from gluebench.console.prompt_tables import prompt_tables
from gluebench.lm.config import PromptConfig


def _seeds(text: str) -> tuple[int, ...]:
    seeds = tuple(seed_int(s) for s in text.split(",") if s.strip())
    if not seeds:
        raise argparse.ArgumentTypeError("expected at least one seed, e.g. 1,2,3")
    if len(set(seeds)) != len(seeds):   # the same draw twice would shrink the sd
        raise argparse.ArgumentTypeError(f"'{text[:80]}' repeats a seed")
    return seeds


def _splits(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _shots(text: str) -> int:
    return 0 if text.strip() == "0" else positive_int(text)


def cmd_prompt(args) -> int:
    from gluebench.lm.runner import run_prompt  # deferred: loads scipy

    config = PromptConfig(
        model=args.model, gguf_file=args.gguf_file, endpoint=args.endpoint,
        api_key_env=args.api_key_env, template=args.template, shots=args.shots,
        seeds=args.seeds, balanced=args.balanced, scoring=args.scoring,
        calibrate=args.calibrate, top_k=args.top_k, max_new_tokens=args.max_new_tokens,
        max_eval_examples=args.max_eval_examples, data_seed=args.data_seed,
        splits=args.splits, device=args.device, eval_batch_tokens=args.eval_batch_tokens,
        concurrency=args.concurrency)
    if args.suite not in (None, "glue"):
        return _prompt_suite(args, config)
    results = run_prompt(open_source(args.data_dir), config, args.output, args.tasks,
                         overwrite=args.overwrite, progress=args.progress,
                         n_resamples=args.resamples, stats_seed=args.seed)
    print_run(results, args.output, f"Prompted ({config.shots}-shot, {config.scoring}), "
                                    "dev (x100)")
    out = console()
    for table in prompt_tables(results):
        out.print(table)
    return 0


def _prompt_suite(args, config: PromptConfig) -> int:
    """``prompt --suite NAME|PATH``: the suite's run directory, scored with its metrics."""
    from gluebench.benchmark.suite_loader import load_suite
    from gluebench.cli.common import suite_data_dir
    from gluebench.console import suite_tables
    from gluebench.lm.suite_runner import run_suite_prompt  # deferred: loads scipy

    suite = load_suite(args.suite)
    results = run_suite_prompt(suite, suite_data_dir(args, suite), config, args.output, args.tasks,
                               overwrite=args.overwrite, progress=args.progress,
                               n_resamples=args.resamples, stats_seed=args.seed)
    console().print(suite_tables.leaderboard(suite, [(f"prompted, {config.shots}-shot",
                                                      results)]))
    print(f"wrote {args.output} (predictions: {args.output}/predictions/dev)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("prompt", help="evaluate a prompted causal language model "
                                      "(0/few-shot) on GLUE tasks")
    p.add_argument("--model", metavar="NAME_OR_PATH",
                   help="a causal LM folder, hub name or .gguf file (default: the embedded "
                        "SmolLM2-135M-Instruct); with --endpoint, the served model's name")
    p.add_argument("--gguf-file", metavar="F", help="the GGUF file inside --model")
    p.add_argument("--endpoint", metavar="URL",
                   help="an OpenAI-compatible server (…/v1/completions) instead of a local "
                        "model; ll needs a server that echoes prompt logprobs (vLLM)")
    p.add_argument("--api-key-env", metavar="VAR",
                   help="environment variable holding the endpoint's API key")
    run_flags(p, DATA_HELP, tasks_default="all")
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR")
    p.add_argument("--shots", type=_shots, default=0, metavar="K",
                   help="demonstrations per prompt, drawn from train (default 0)")
    p.add_argument("--seeds", type=_seeds, default=(1,), metavar="S,S,...",
                   help="one demonstration draw per seed; mean +- sd reported (default 1)")
    p.add_argument("--balanced", action="store_true",
                   help="label-balanced demonstrations (each class in turn)")
    p.add_argument("--template", default="lm-eval",
                   help="template name(s), comma-separated, or 'all' (default lm-eval: "
                        "lm-evaluation-harness's prompt)")
    p.add_argument("--scoring", choices=("ll", "first_token", "generate"), default="ll",
                   help="ll: choice log-likelihoods (default); first_token: top-k log-probs "
                        "of one answer token; generate: parse a greedy answer")
    p.add_argument("--calibrate", action="store_true",
                   help="also report contextual calibration (Zhao et al. 2021)")
    p.add_argument("--top-k", type=positive_int, default=20, metavar="K",
                   help="first_token: how many top log-probabilities are seen (default 20)")
    p.add_argument("--max-new-tokens", type=positive_int, default=8, metavar="N",
                   help="generate: answer length limit (default 8)")
    p.add_argument("--max-eval-examples", type=positive_int, metavar="N",
                   help="score a seeded subsample of N dev examples per entry")
    p.add_argument("--data-seed", type=seed_int, default=0, help="seed of that subsample")
    p.add_argument("--splits", type=_splits, default=("dev", "test"), metavar="dev,test",
                   help="splits to predict (default dev,test)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--eval-batch-tokens", type=positive_int, metavar="N",
                   help="padded tokens per forward pass (default 4096 on CPU, 32768 on GPU)")
    p.add_argument("--concurrency", type=positive_int, default=8, metavar="N",
                   help="endpoint requests in flight (default 8)")
    p.add_argument("--suite", default="glue", metavar="NAME|PATH",
                   help="superglue or fewglue: their tasks with lm-eval's super_glue prompts "
                        "(demonstrations from train: FewGLUE's); default glue")
    p.set_defaults(func=cmd_prompt)
