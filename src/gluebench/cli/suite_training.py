"""``finetune --suite NAME|PATH``: fine-tuning on a suite other than GLUE (GLUE keeps
``training.cmd_finetune``'s path, byte for byte)."""

from __future__ import annotations

from pathlib import Path

from gluebench.benchmark.suite_loader import load_suite
from gluebench.cli.common import console, suite_data_dir, train_config
from gluebench.console import suite_tables
from gluebench.errors import UsageError


def finetune_suite_cmd(args) -> int:
    from gluebench.recipes import finetune_suite  # deferred: loads torch, scipy

    suite = load_suite(args.suite)
    data_dir = suite_data_dir(args, suite)
    config = train_config(args)
    results = finetune_suite(suite, data_dir, config, args.output, args.tasks,
                             overwrite=args.overwrite, progress=args.progress,
                             n_resamples=args.resamples, stats_seed=args.seed)
    out = console()
    out.print(suite_tables.details(suite, results))
    out.print(suite_tables.leaderboard(suite, [(Path(args.output).name, results)]))
    for task, chosen in results.get("selection", {}).items():
        seeds = ", ".join(f"{k}: {v:.1f}" for k, v in chosen["per_seed"].items())
        out.print(f"{task}: seed {chosen['selected']} chosen ({chosen['rule']} on "
                  f"{chosen['split']}; {seeds})")
    out.print(f"results: {Path(args.output) / 'results.json'}; predictions: "
              f"{Path(args.output) / 'predictions'}")
    return 0


def evaluate_suite_cmd(args) -> int:
    from gluebench.train.suite_runner import evaluate_suite  # deferred: loads torch, scipy

    if args.label_map:
        raise UsageError("--label-map is for GLUE models; a suite's model is read with the "
                         "head its task's shape needs (its labels in the suite's order)")
    suite = load_suite(args.suite)
    data_dir = suite_data_dir(args, suite)
    config = train_config(args, model=None)
    results = evaluate_suite(suite, data_dir, args.model, config, args.output, args.tasks,
                             overwrite=args.overwrite, progress=args.progress,
                             n_resamples=args.resamples, stats_seed=args.seed)
    out = console()
    out.print(suite_tables.details(suite, results))
    out.print(suite_tables.leaderboard(suite, [(Path(args.output).name, results)]))
    out.print(f"results: {Path(args.output) / 'results.json'}; predictions: "
              f"{Path(args.output) / 'predictions'}")
    return 0
