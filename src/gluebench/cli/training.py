"""Training and evaluation: ``finetune``, ``evaluate`` and the main job ``run``."""

from __future__ import annotations

import sys

from gluebench.cli.common import DATA_HELP, config_flags, print_run, run_flags, train_config


def cmd_finetune(args) -> int:
    from gluebench.data import open_source
    from gluebench.train.runner import finetune

    config = train_config(args)
    results = finetune(open_source(args.data_dir), config, args.output, args.tasks,
                       overwrite=args.overwrite, progress=args.progress,
                       n_resamples=args.resamples, stats_seed=args.seed)
    print_run(results, args.output, "Fine-tuned, dev (x100)")
    return 0


def cmd_evaluate(args) -> int:
    from gluebench.data import open_source
    from gluebench.models.hf import parse_label_map
    from gluebench.train.runner import evaluate

    config = train_config(args, model=None)
    results = evaluate(open_source(args.data_dir), args.model, config, args.output, args.tasks,
                       label_map=parse_label_map(args.label_map), overwrite=args.overwrite,
                       progress=args.progress, n_resamples=args.resamples,
                       stats_seed=args.seed)
    print_run(results, args.output, "Evaluated, dev (x100)")
    return 0


# `gluebench run` on 2 CPU cores in under 5 minutes: a subsample of each task, dev only
# (capped for the very large dev sets of QQP, MNLI and QNLI). About 40 optimizer steps per
# task is all the time allows; such short runs need a larger step than the full recipe's
# (measured on CoLA, STS-B, MRPC dev: 200 examples x 6 epochs at 3e-4 gave MCC 7.7 / r 50.0 /
# 73.6, 400 x 3 at 1e-4 gave 0.0 (collapsed) / 12.2 / 74.8 (collapsed)).
RUN_DEFAULTS = {"max_train_examples": 240, "epochs": 5, "learning_rate": 3e-4, "splits": "dev",
                "max_eval_examples": 2000}


def cmd_run(args) -> int:
    """The main job: fine-tune the (default) model on every available task, score dev."""
    from gluebench.baselines import score_baseline
    from gluebench.data import default_source
    from gluebench.train.runner import finetune

    source, why = default_source(args.data_dir)
    config = train_config(args, **RUN_DEFAULTS)
    print(f"data: {source.description} ({why}); training on a seeded subsample of "
          f"{config.max_train_examples or 'all'} examples per task, {config.epochs:g} epochs at "
          f"learning rate {config.learning_rate:g}; dev capped at {config.max_eval_examples} "
          "examples", file=sys.stderr)
    results = finetune(source, config, args.output, args.tasks, overwrite=args.overwrite,
                       progress=args.progress, n_resamples=args.resamples,
                       stats_seed=args.seed)
    majority = score_baseline("majority", source, results["tasks"],
                              max_eval_examples=config.max_eval_examples,
                              data_seed=config.data_seed, n_resamples=args.resamples,
                              seed=args.seed)
    print_run(results, args.output, "gluebench run, dev (x100)", reference=majority)
    return 0


# Settings that matter when predicting with an already fine-tuned model.
EVALUATE_FIELDS = ("max_seq_length", "max_eval_examples", "data_seed", "splits",
                   "eval_batch_size", "eval_batch_tokens", "pad_to_max_length", "precision",
                   "compile", "device")


def register(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a Hugging Face encoder on GLUE tasks")
    run_flags(p, DATA_HELP, tasks_default="all")
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR")
    config_flags(p)
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("evaluate", help="predict and score with already fine-tuned models")
    p.add_argument("--model", action="append", metavar="PATH_OR_NAME",
                   help="a fine-tuned model folder or hub name, TASK=PATH (repeatable), or a "
                        "gluebench run directory")
    p.add_argument("--label-map", metavar="MAP",
                   help="what the model's labels mean, e.g. LABEL_0=entailment,LABEL_1=neutral")
    run_flags(p, DATA_HELP, tasks_default="all")
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR")
    config_flags(p, only=EVALUATE_FIELDS)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("run", help="the main job: fine-tune the default model on every "
                                   "available task (subsampled), score dev")
    run_flags(p, DATA_HELP + " (default: $GLUE_DIR, the hub, else the bundled sample)",
              tasks_default="all")
    p.add_argument("-o", "--output", default="runs/latest", metavar="RUN_DIR")
    config_flags(p)
    p.set_defaults(func=cmd_run)
