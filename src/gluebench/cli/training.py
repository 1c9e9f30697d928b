"""Training and evaluation: ``finetune``, ``evaluate`` and the main job ``run``."""

from __future__ import annotations

import sys

from gluebench.benchmark.sources import default_source, open_source
from gluebench.benchmark.suite_loader import DEFAULT_SUITE
from gluebench.cli.common import (
    DATA_HELP,
    config_flags,
    positive_float,
    print_run,
    run_flags,
    train_config,
)
from gluebench.cli.suite_run import run_suite
from gluebench.cli.suite_training import evaluate_suite_cmd, finetune_suite_cmd
from gluebench.cli.suites import SUITE_HELP
from gluebench.models import hf
from gluebench.models.device import resolve_device
from gluebench.models.hf import parse_label_map
from gluebench.suiterun.job import run_job
from gluebench.suiterun.plan import describe, make_plan, task_costs


def cmd_finetune(args) -> int:
    from gluebench.recipes import finetune  # deferred: loads scipy

    if args.suite != DEFAULT_SUITE:  # any other suite; GLUE keeps the path below unchanged
        return finetune_suite_cmd(args)

    config = train_config(args)
    results = finetune(open_source(args.data_dir), config, args.output, args.tasks,
                       overwrite=args.overwrite, progress=args.progress,
                       n_resamples=args.resamples, stats_seed=args.seed)
    print_run(results, args.output, "Fine-tuned, dev (x100)")
    return 0


def cmd_evaluate(args) -> int:
    from gluebench.train.runner import evaluate  # deferred: loads scipy

    if args.suite != DEFAULT_SUITE:  # any other suite; GLUE keeps the path below unchanged
        return evaluate_suite_cmd(args)
    config = train_config(args, model=None)
    results = evaluate(open_source(args.data_dir), args.model, config, args.output, args.tasks,
                       label_map=parse_label_map(args.label_map), overwrite=args.overwrite,
                       progress=args.progress, n_resamples=args.resamples,
                       stats_seed=args.seed)
    print_run(results, args.output, "Evaluated, dev (x100)")
    return 0


def cmd_run(args) -> int:
    """The main job: what fits this machine (GPU: fine-tuning; CPU: the probe), then a report."""
    if args.suite != DEFAULT_SUITE:  # any other suite; GLUE keeps the path below unchanged
        return run_suite(args)
    from gluebench.runs.recording import tasks_to_run, with_train_data  # deferred: loads scipy
    base = train_config(args)   # every flag checked before any work
    method = args.method or (base.method if args.config else None)
    source, why = default_source(args.data_dir)
    device = resolve_device(base.device)
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    sample = "; a small sample for a first look: pass --data-dir DIR for real GLUE data" \
        if source.description == "bundled sample" else ""
    say(f"data: {source.description} ({why}){sample}")
    tasks = with_train_data(source, tasks_to_run(args.tasks), say)
    costs = []
    if device == "cpu" and method in (None, "probe"):
        costs = task_costs(source, tasks, hf.load_tokenizer(hf.resolve_model(base.model)))
    plan = make_plan(device, method, args.budget, costs)
    config = train_config(args, **plan.settings)
    say(f"plan: {describe(plan, config)}")
    results, majority, report = run_job(plan, source, config, args.output, tasks,
                                        overwrite=args.overwrite, progress=args.progress,
                                        n_resamples=args.resamples, seed=args.seed, log=say)
    print_run(results, args.output, f"gluebench run ({config.method}), dev (x100)",
              reference=majority)
    print(f"report: {report}")
    return 0


# Settings that matter when predicting with an already fine-tuned model.
EVALUATE_FIELDS = ("max_seq_length", "max_eval_examples", "data_seed", "splits",
                   "eval_batch_size", "eval_batch_tokens", "pad_to_max_length", "precision",
                   "compile", "device")


def register(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a Hugging Face encoder on GLUE tasks")
    run_flags(p, DATA_HELP, tasks_default="all")
    p.add_argument("-o", "--output", required=True, metavar="RUN_DIR")
    p.add_argument("--suite", default=DEFAULT_SUITE, metavar="NAME|PATH",
                   help=SUITE_HELP + " (default: glue); --data-dir hf reads the hub")
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
    p.add_argument("--suite", default=DEFAULT_SUITE, metavar="NAME|PATH",
                   help=SUITE_HELP + " (default: glue); --model: a finetune --suite run "
                        "directory, one model, or TASK=PATH pairs")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("run", help="the main job: GPU: fine-tune every available task; CPU: "
                                   "probe the frozen encoder; score dev, write a report")
    run_flags(p, DATA_HELP + " (default: $GLUE_DIR, the hub, else the bundled sample)",
              tasks_default="all")
    p.add_argument("-o", "--output", default="runs/latest", metavar="RUN_DIR")
    p.add_argument("--budget", type=positive_float, metavar="MINUTES",
                   help="time budget (default: 4 on a CPU, 60 on a GPU)")
    p.add_argument("--suite", default=DEFAULT_SUITE, metavar="NAME|PATH",
                   help="a built-in suite (see `gluebench suites`) or a suite file (.toml)")
    config_flags(p)
    p.set_defaults(func=cmd_run)
