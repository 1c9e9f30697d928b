"""The analysis commands: ``robustness``, ``profile``, ``calibration``, ``power``, ``report``.

Each reads a run directory written by ``finetune``/``evaluate``, writes its JSON under
``RUN_DIR/analysis/`` (what ``report`` reads) and, with ``--json OUT``, a copy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gluebench.benchmark.sources import default_source, open_source
from gluebench.benchmark.suite_loader import load_suite
from gluebench.benchmark.tasks import BENCHMARKS, get_task
from gluebench.cli.common import DATA_HELP, console, int_in, positive_int, stats_flags
from gluebench.console import analysis_tables as tables
from gluebench.console.score_tables import seed_spread
from gluebench.efficiency.tables import profile_tables
from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write, write_json
from gluebench.models.device import resolve_device
from gluebench.models.hf import parse_label_map
from gluebench.report.collect import load_run, load_study, load_sweep
from gluebench.report.screenshot import screenshot
from gluebench.report.suite_view import report_suite, suite_record
from gluebench.run_models import RunModels
from gluebench.runs.progress import RunProgress
from gluebench.runs.readers import read_results
from gluebench.studies.design import is_study_dir
from gluebench.sweep.sweepdir import is_sweep_dir

MAX_BINS = 1000          # calibration bins: 10-20 is usual; more are empty on any dev set


def baseline_points(text: str) -> float:
    """``--baseline``: an accuracy in points, 0 < value < 100, finite."""
    from gluebench.analysis.power import check_baseline  # deferred: loads scipy

    try:
        return check_baseline(float(text) if text.strip().isascii() else float("nan"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an accuracy in points strictly between 0 and 100 (e.g. 80), "
            f"got '{text[:80]}'") from None


def _save(doc: dict, run_dir: str | Path | None, name: str, extra: str | None) -> None:
    targets = [Path(run_dir) / "analysis" / name] if run_dir else []
    targets += [Path(extra)] if extra else []
    for target in targets:
        write_json(target, doc)
    if targets:
        console().print("wrote " + ", ".join(map(str, targets)))


def cmd_robustness(args) -> int:
    from gluebench.robustness.suite import run_robustness  # deferred: loads scipy

    source = open_source(args.data_dir)
    with RunProgress(args.progress) as bars:
        doc = run_robustness(args.run_dir, source, tasks_spec=args.tasks,
                             perturbations=args.perturbations, advglue=args.advglue,
                             extras=args.extra, max_examples=args.max_examples, seed=args.seed,
                             n_resamples=args.resamples, device=args.device, progress=bars)
    out = console()
    for table in (tables.advglue(doc), tables.perturbations(doc), tables.ood(doc)):
        if table is not None:
            out.print(table)
    _save(doc, None, "robustness.json", args.json)
    out.print(f"wrote {Path(args.run_dir) / 'analysis' / 'robustness.json'}")
    return 0


def _profile_target(args):
    """(model folder, task name or None, trainable count or None, run dir or None)."""
    if not (Path(args.target) / "run.json").is_file():
        return args.target, args.task, None, None
    models = RunModels(args.target, device="cpu")
    task = args.task or (models.tasks[0] if models.tasks else None)
    if task is None:
        raise UsageError(f"{args.target}: no fine-tuned model in this run to profile")
    if models.is_probe(get_task(task)):
        raise UsageError(f"{args.target}: profile does not support probe runs yet (a frozen "
                         "encoder with a scikit-learn head); profile the encoder itself: "
                         "gluebench profile MODEL_FOLDER")
    predictor = models.predictor(task)
    trainable = models.results["training"][predictor.task.name].get("parameters", {})
    return predictor.checkpoint, predictor.task.name, trainable.get("trainable"), args.target


def cmd_profile(args) -> int:
    from gluebench.benchmark.scoring import evaluation_examples  # deferred: loads scipy
    from gluebench.efficiency.profile import profile_model  # deferred: loads scipy
    from gluebench.runs.rundir import entries_of  # deferred: loads scipy

    model_path, task_name, trainable, run_dir = _profile_target(args)
    device = resolve_device(args.device)   # before any work: one line if there is no GPU
    task = examples = None
    if task_name:
        task = get_task(task_name)
        source, why = default_source(args.data_dir)
        entry = BENCHMARKS[entries_of(task)[0]]
        examples = evaluation_examples(source, entry, "dev").subsample(args.max_examples,
                                                                       args.seed)
        print(f"profiling {model_path} on {len(examples)} {entry.name} dev examples from "
              f"{source.description} ({why})", file=sys.stderr)
    with RunProgress(args.progress) as bars:
        doc = profile_model(model_path, device=device, examples=examples, task=task,
                            trainable=trainable, repeats=args.repeats, int8=args.int8,
                            label_map=parse_label_map(args.label_map),
                            onnx=args.onnx, progress=bars.log)
    for table in profile_tables(doc):
        console().print(table)
    _save(doc, run_dir, "profile.json", args.json)
    return 0


def _quality(run_dir: str, bins: int, resamples: int, seed: int) -> dict:
    from gluebench.analysis.quality import analyze_run  # deferred: loads scipy

    doc = analyze_run(run_dir, n_bins=bins, n_resamples=resamples, seed=seed)
    write_json(Path(run_dir) / "analysis" / "quality.json", doc)
    return doc


def cmd_calibration(args) -> int:
    doc = _quality(args.run_dir, args.bins, args.resamples, args.seed)
    console().print(tables.calibration(doc))
    _save(doc, args.run_dir, "quality.json", args.json)
    return 0


def cmd_power(args) -> int:
    from gluebench.analysis.power import official_sizes_power  # deferred: loads scipy
    if (args.run_dir is None) == (args.baseline is None):
        raise UsageError("power needs a RUN_DIR, or --baseline ACCURACY for the official "
                         "dev-set sizes (one of the two)")
    if args.run_dir is None:
        doc = official_sizes_power(args.baseline)
    else:
        doc = _quality(args.run_dir, 10, args.resamples, args.seed)
    out = console()
    out.print(tables.power(doc))
    for line in tables.power_sentences(doc):
        out.print(line)
    if args.run_dir is not None:
        spread = seed_spread(read_results(args.run_dir))
        if spread is not None:
            out.print(spread)
    _save(doc, None, "quality.json", args.json)
    return 0


def cmd_report(args) -> int:
    from gluebench.report.html import render_html  # deferred: loads matplotlib
    from gluebench.report.markdown import render_markdown  # deferred: loads matplotlib
    runs, sweeps, studies = [], [], []
    for run_dir in args.runs:
        if is_study_dir(run_dir):
            studies.append(load_study(run_dir, n_resamples=args.resamples, seed=args.seed))
            continue
        if is_sweep_dir(run_dir):
            sweeps.append(load_sweep(run_dir, n_resamples=args.resamples, seed=args.seed))
            continue
        run = load_run(run_dir)
        if suite_record(run) is None and run.quality is None and \
                (Path(run_dir) / "outputs").is_dir():  # calibration: GLUE runs' outputs
            _quality(run_dir, 10, args.resamples, args.seed)
            run = load_run(run_dir)
        runs.append(run)
    suite = report_suite(runs, load_suite(args.suite) if args.suite else None)
    for out in args.output:
        if out.endswith((".md", ".markdown")):
            atomic_write(out, render_markdown(runs, sweeps, studies, suite=suite))
        else:
            atomic_write(out, render_html(runs, sweeps, studies, suite=suite))
        print(f"wrote {out}")
    if args.screenshot:
        html = next((o for o in args.output if o.endswith((".html", ".htm"))), None)
        if html is None:
            raise UsageError("--screenshot needs an HTML output (-o report.html)")
        print(f"wrote {screenshot(html, args.screenshot)}")
    return 0


def register(sub) -> None:
    data_help = DATA_HELP
    p = sub.add_parser("robustness", help="AdvGLUE, perturbations and out-of-distribution "
                                          "scores of a run's models")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--data-dir", help=data_help + " (default: $GLUE_DIR)")
    p.add_argument("--tasks", help="comma-separated tasks (default: every task with a model)")
    p.add_argument("--perturbations", default="all",
                   help="comma-separated transformations (default: all available)")
    p.add_argument("--advglue", metavar="DEV_JSON",
                   help="AdvGLUE dev.json (default: advglue/dev.json beside the data)")
    p.add_argument("--extra", action="append", metavar="[TASK:]NAME=PATH",
                   help="an out-of-distribution file in the task's dev format (repeatable)")
    p.add_argument("--max-examples", type=positive_int, default=500,
                   help="dev examples per task for the perturbations (default 500)")
    _device_and_output(p)
    stats_flags(p)
    p.set_defaults(func=cmd_robustness)

    p = sub.add_parser("profile", help="parameters, FLOPs, latency, throughput and memory")
    p.add_argument("target", metavar="RUN_DIR_OR_MODEL")
    p.add_argument("--task", help="the run's task to profile, and score variants on")
    p.add_argument("--data-dir", help=data_help + " (default: $GLUE_DIR, else the sample)")
    p.add_argument("--max-examples", type=positive_int, default=256,
                   help="dev examples (default 256)")
    p.add_argument("--repeats", type=positive_int, default=50, help="batch-1 latency repeats")
    p.add_argument("--label-map", metavar="MAP",
                   help="what a foreign model's labels mean, e.g. LABEL_0=entailment,...")
    p.add_argument("--int8", action="store_true", help="also int8 dynamic quantisation")
    p.add_argument("--onnx", action="store_true", help="also ONNX Runtime")
    _device_and_output(p)
    stats_flags(p)
    p.set_defaults(func=cmd_profile)

    p = sub.add_parser("calibration", help="ECE, Brier, reliability, confusion matrices")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--bins", type=int_in(1, MAX_BINS), default=10,
                   help=f"confidence bins, 1..{MAX_BINS} (default 10)")
    p.add_argument("--json", metavar="OUT")
    stats_flags(p)
    p.set_defaults(func=cmd_calibration)

    p = sub.add_parser("power", help="the smallest difference each dev set can resolve")
    p.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    p.add_argument("--baseline", type=baseline_points, metavar="ACCURACY",
                   help="without a run: an accuracy in points (0 < ACCURACY < 100) for the "
                        "official dev-set sizes")
    p.add_argument("--json", metavar="OUT")
    stats_flags(p)
    p.set_defaults(func=cmd_power)

    p = sub.add_parser("report", help="one self-contained HTML (or Markdown) report of runs, "
                                      "sweeps and studies")
    p.add_argument("runs", metavar="RUN_SWEEP_OR_STUDY_DIR", nargs="+",
                   help="run, sweep or study folders, or results documents (score --json OUT)")
    p.add_argument("-o", "--output", action="append", required=True, metavar="FILE",
                   help="report.html or report.md (repeatable)")
    p.add_argument("--screenshot", metavar="PNG", help="render the HTML in headless Chromium")
    p.add_argument("--suite", metavar="NAME|PATH",
                   help="the definition of the suite the results were scored on (default: "
                        "the one they record, when built in; GLUE results need none)")
    stats_flags(p)
    p.set_defaults(func=cmd_report, output_is_file=True)


def _device_and_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--json", metavar="OUT", help="also write the results here")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: when stderr is a terminal)")
