"""``gluebench study layer-drop|data-diet`` and ``gluebench distill``: studies as sweeps.

Each command checks everything first (model, tasks, data, teacher), claims STUDY_DIR,
computes what its design needs once (layer similarities, teacher outputs, data scores),
then runs the design's trials through the sweep machinery and profiles each variant.
"""

from __future__ import annotations

import argparse
import os

from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import TASKS
from gluebench.cli.common import DATA_HELP, config_flags, console, positive_int
from gluebench.cli.sweep import _data_spec
from gluebench.errors import UsageError
from gluebench.models import hf
from gluebench.run_models import RunModels
from gluebench.studies import data_diet, distill, layer_drop
from gluebench.studies.design import StudyDir, run_study
from gluebench.studies.layer_drop import contribution_similarity
from gluebench.sweep.executors import EXECUTORS, make_executor
from gluebench.sweep.runner import print_outcome
from gluebench.sweep.spec import Resources
from gluebench.train.config import build_config, coerce
from gluebench.train.pruning import drop_layers

# What a study trains with unless flags say otherwise (the default recipe otherwise).
RECIPE_FLAGS = ("method", "learning_rate", "epochs", "batch_size", "max_seq_length",
                "max_train_examples", "max_eval_examples", "data_seed", "warmup_ratio",
                "report_to")
# --smoke: MiniLM on small subsamples of small tasks, sized for a loaded 2-core CPU.
SMOKE = {
    "layer-drop": {"tasks": "STS-B", "strategy": "top", "drop": "2,4", "seeds": "1,2",
                   "recipe": {"max_train_examples": 128, "max_eval_examples": 150,
                              "epochs": 3.0, "max_seq_length": 64, "learning_rate": 3e-4}},
    "distill": {"tasks": "STS-B", "seeds": "1,2", "drop_layers": "1,3,5",
                "recipe": {"max_train_examples": 128, "max_eval_examples": 150,
                           "epochs": 3.0, "max_seq_length": 64, "learning_rate": 3e-4}},
    "data-diet": {"tasks": "MRPC", "score": "el2n,forgetting,random", "keep": "0.5",
                  "seeds": "1,2", "score_epochs": 2,
                  "recipe": {"max_train_examples": 160, "max_eval_examples": 150,
                             "epochs": 3.0, "max_seq_length": 64, "learning_rate": 3e-4}},
}


def _smoke(args, kind: str) -> None:
    """Fill the flags not given with the study's smoke settings."""
    if not args.smoke:
        return
    smoke = SMOKE[kind]
    for name, value in smoke.items():
        if name != "recipe" and getattr(args, name, None) in (None, ""):
            setattr(args, name, value)
    for name, value in smoke["recipe"].items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def _recipe(args) -> dict:
    given = {n: getattr(args, n) for n in RECIPE_FLAGS if getattr(args, n, None) is not None}
    checked = build_config(**given)   # checked now, before anything is written
    return {k: v for k, v in checked.to_dict().items() if k in given}


def _common(args, kind: str):
    """The checked pieces every study needs: data, tasks, seeds, recipe, study folder."""
    from gluebench.runs.suite_view import suite_view  # deferred: loads scipy
    from gluebench.sweep.worker import check_trainable
    _smoke(args, kind)
    view = suite_view(args.suite)
    check_trainable(view)   # before the data is read or anything written
    if not view.is_glue and kind != "layer-drop":
        # Data diets score and drop GLUE training examples, distillation reads a GLUE teacher's
        # outputs: fine-tuning on another suite runs model transforms (layer dropping) only.
        raise UsageError(f"study {kind} --suite {view.name}: {kind} changes the training "
                         "examples or the loss, which fine-tuning on a suite other than GLUE "
                         "does not support; on a suite: study layer-drop")
    args.suite_ref = view.reference()["ref"]
    data = _data_spec(args.data_dir)
    source = open_source(data)
    tasks = view.task_names((args.tasks or "all").split(","))
    missing = [t for t in tasks if not (source.has(TASKS[t], "train") if view.is_glue
                                        else view.has_train(data, t))]
    if missing:
        raise UsageError(f"{missing[0]}: no training data in {source.description}")
    seeds = list(coerce("seeds", args.seeds or "1", "--seeds"))   # parse_seed'd, UsageError
    study_dir = StudyDir(args.output)
    return data, source, tasks, seeds, _recipe(args), study_dir


def _executor(args):
    name = args.executor or ("ray" if args.ray_address else "inline")
    if args.ray_address and name != "ray":
        raise UsageError(f"--ray-address needs --executor ray, not {name}")
    cpus = args.cpus or ((os.cpu_count() or 1) if name == "inline" else 1)
    parallel = 1 if name == "inline" else (args.max_parallel or
                                           max(1, (os.cpu_count() or 1) // cpus))
    resources = Resources(cpus, float(args.gpus))
    return make_executor(name, resources=resources, max_parallel=parallel,
                         ray_address=args.ray_address), cpus, parallel


def _run(study, study_dir, source, data: str, args, extra_profiles=None) -> int:
    study.suite = args.suite_ref
    # Profiling scores GLUE examples: a suite study reports scores, not latency.
    study.profile = not args.no_profile and study.suite == "glue"
    executor, cpus, parallel = _executor(args)
    outcome = run_study(study_dir, study, source, data, executor, cpus=cpus,
                        retries=args.retries, max_parallel=parallel, resamples=args.resamples,
                        progress=args.progress, extra_profiles=extra_profiles,
                        say=console(stderr=True).print)
    print_outcome(outcome, len(outcome.done) + len(outcome.skipped) + len(outcome.failed))
    _print_summary(study_dir, args)
    return 1 if outcome.failed else 0


def _print_summary(study_dir, args) -> None:
    from gluebench.report.sections.study import terminal_tables  # deferred: loads matplotlib
    from gluebench.studies.analysis import analyse  # deferred: loads scipy

    out = console()
    for table in terminal_tables(analyse(study_dir, n_resamples=args.resamples)):
        out.print(table)
    out.print(f"next: gluebench report {study_dir.root} -o report.html")


def _model_layers(model: str | None) -> tuple[object, int]:
    from transformers import AutoConfig

    ref = hf.resolve_model(model)
    try:
        layers = AutoConfig.from_pretrained(ref.path).num_hidden_layers
    except Exception as exc:  # noqa: BLE001 - any loader failure is one line
        raise UsageError(f"cannot read the configuration of '{ref.path}': "
                         f"{str(exc).splitlines()[0][:200]}") from None
    return ref, int(layers)


def _ints(text: str, flag: str) -> list[int]:
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise UsageError(f"{flag}: expected whole numbers separated by commas, got '{text}'")
    return sorted({int(p) for p in parts})


def _choices(text: str, known, flag: str) -> list[str]:
    out = [p.strip() for p in str(text).split(",") if p.strip()]
    bad = [p for p in out if p not in known]
    if not out or bad:
        raise UsageError(f"{flag}: unknown '{bad[0] if bad else text}'; expected one of: "
                         f"{', '.join(known)}")
    return list(dict.fromkeys(out))


def cmd_layer_drop(args) -> int:
    data, source, tasks, seeds, recipe, study_dir = _common(args, "layer-drop")
    strategies = _choices(args.strategy or "top", layer_drop.STRATEGIES, "--strategy")
    drops = _ints(args.drop or "2", "--drop")
    ref, n_layers = _model_layers(args.model)
    for strategy in strategies:
        for k in drops:
            layer_drop.layers_to_drop(strategy, k, n_layers, [0.0] * n_layers)
    study_dir.claim("layer-drop")
    similarity = {}
    if "contribution" in strategies:
        similarity = _similarities(ref, source, tasks, recipe, console(stderr=True).print)
    study = layer_drop.build(model=args.model, tasks=tasks, seeds=seeds, base=recipe,
                             strategies=strategies, drops=drops, n_layers=n_layers,
                             similarity=similarity)
    return _run(study, study_dir, source, data, args)


def _similarities(ref, source, tasks, recipe, say) -> dict:
    config = build_config(**recipe)
    tokenizer = hf.load_tokenizer(ref)
    out = {}
    for task in tasks:
        examples = source.load(TASKS[task], "train").subsample(config.max_train_examples,
                                                               config.data_seed)
        out[task] = contribution_similarity(ref, tokenizer, examples, config.max_seq_length)
        say(f"{task}: input/output cosine similarity per layer: "
            + ", ".join(f"{i}: {s:.3f}" for i, s in enumerate(out[task])))
    return out


def cmd_data_diet(args) -> int:
    data, source, tasks, seeds, recipe, study_dir = _common(args, "data-diet")
    scores = _choices(args.score or "el2n", data_diet.SCORES, "--score")
    keeps = sorted({float(k) for k in _floats(args.keep or "0.5", "--keep")})
    if not all(0 < k < 1 for k in keeps):
        raise UsageError(f"--keep: fractions must be between 0 and 1, got {args.keep}")
    score_seeds = _ints(args.score_seeds or "1", "--score-seeds")
    _model_layers(args.model)
    study_dir.claim("data-diet")
    scoring = {}
    if set(scores) - {"random"}:
        config = build_config(**recipe, model=args.model)
        for task in tasks:
            scoring[task] = data_diet.score_pool(study_dir.root, source, TASKS[task], config,
                                                 seeds=score_seeds, epochs=args.score_epochs,
                                                 say=console(stderr=True).print)
    study = data_diet.build(model=args.model, tasks=tasks, seeds=seeds, base=recipe,
                            scores=scores, keeps=keeps, scoring=scoring)
    return _run(study, study_dir, source, data, args)


def _floats(text: str, flag: str) -> list[float]:
    try:
        return [float(p) for p in str(text).split(",") if p.strip()]
    except ValueError:
        raise UsageError(f"{flag}: expected numbers separated by commas, got '{text}'") from None


def cmd_distill(args) -> int:
    data, source, tasks, seeds, recipe, study_dir = _common(args, "distill")
    if not 0 <= args.alpha <= 1 or args.temperature <= 0:
        raise UsageError("--alpha must be in [0, 1] and --temperature positive")
    teacher = RunModels(args.teacher, device="cpu")
    for task in tasks:
        teacher.predictor(task)   # one line if the run has no model for a task
    ref, n_layers = _model_layers(args.student)
    drop = _ints(args.drop_layers, "--drop-layers") if args.drop_layers else []
    if drop and (max(drop) >= n_layers or len(drop) >= n_layers):
        raise UsageError(f"--drop-layers {args.drop_layers}: the student has {n_layers} layers")
    if drop:
        recipe["drop_layers"] = tuple(drop)
    study_dir.claim("distill")
    return _distill(args, teacher, ref, n_layers, drop, data, source, tasks, seeds, recipe,
                    study_dir)


def _distill(args, teacher, ref, n_layers, drop, data, source, tasks, seeds, recipe,
             study_dir) -> int:
    config = build_config(**recipe)
    say = console(stderr=True).print
    files = {}
    for task in tasks:
        examples = source.load(TASKS[task], "train").subsample(config.max_train_examples,
                                                               config.data_seed)
        files[task] = distill.teacher_file(study_dir.root, args.teacher, task, examples,
                                           student_layers=n_layers - len(drop),
                                           hidden=args.hidden_loss, pooling=args.pooling,
                                           say=say)
        files[task]["results"] = _teacher_scores(teacher.results, task)
    study = distill.build(student=args.student, tasks=tasks, seeds=seeds, base=recipe,
                          teachers=files, temperature=args.temperature, alpha=args.alpha,
                          hidden=args.hidden_loss, student_parameters=_student_size(
                              ref, drop, TASKS[tasks[0]]),
                          facts={"teacher_run": str(teacher.root.resolve()),
                                 "student_layers": n_layers - len(drop),
                                 "student_dropped": drop})
    extra = {f"teacher-{t}": (t, teacher.predictor(t).checkpoint) for t in tasks}
    return _run(study, study_dir, source, data, args, extra_profiles=extra)


def _teacher_scores(results: dict, task: str) -> dict:
    from gluebench.runs.rundir import entries_of  # deferred: loads scipy

    training = results.get("training", {}).get(task, {})
    scored = results.get("tasks", {})
    return {"entries": {e: scored[e]["score"] for e in entries_of(TASKS[task]) if e in scored},
            "parameters": (training.get("parameters") or {}).get("total"),
            "train_examples": (training.get("train") or {}).get("examples")}


def _student_size(ref, drop, task) -> int:
    model, _ = hf.load_classifier(ref, 1 if task.is_regression else len(task.labels))
    if drop:
        drop_layers(model, drop)
    return sum(p.numel() for p in model.parameters())


# ---- the parsers ---------------------------------------------------------------------

def _flags(p: argparse.ArgumentParser, *, model: bool = True) -> None:
    p.add_argument("--data-dir", help=DATA_HELP + " (default: $GLUE_DIR)")
    p.add_argument("-o", "--output", required=True, metavar="STUDY_DIR",
                   help="where the study's trials, caches and results go (resumable)")
    if model:
        p.add_argument("--model", help="model folder or hub name (default: the embedded "
                                       "all-MiniLM-L6-v2)")
    p.add_argument("--suite", metavar="NAME|PATH", default=None,
                   help="the benchmark whose tasks are studied: glue (default), superglue, "
                        "fewglue or a suite file")
    p.add_argument("--tasks", help="comma-separated tasks (default: all with training data)")
    p.add_argument("--seeds", help="training seeds, comma-separated (default 1)")
    p.add_argument("--smoke", action="store_true",
                   help="MiniLM on small subsamples of small tasks (minutes on a CPU); "
                        "flags given override it")
    p.add_argument("--no-profile", action="store_true",
                   help="skip latency and int8 profiling of each variant")
    g = p.add_argument_group("where trials run (as gluebench sweep)")
    g.add_argument("--executor", choices=EXECUTORS, default=None)
    g.add_argument("--ray-address", metavar="ADDR")
    g.add_argument("--max-parallel", type=positive_int, metavar="N")
    g.add_argument("--cpus", type=positive_int, metavar="N",
                   help="CPUs per trial (default: all for inline, 1 otherwise)")
    g.add_argument("--gpus", type=float, default=0.0, help="GPUs per trial (default 0)")
    g.add_argument("--retries", type=int, default=1, metavar="N")
    g.add_argument("--resamples", type=positive_int, default=1000, metavar="N",
                   help="bootstrap and permutation resamples (default 1000)")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    config_flags(p, only=RECIPE_FLAGS)


def register(sub) -> None:
    p = sub.add_parser("study", help="studies from the literature: layer dropping, data diets")
    studies = p.add_subparsers(dest="study", required=True, metavar="STUDY")
    q = studies.add_parser("layer-drop", help="drop pre-trained layers, fine-tune, compare "
                                              "with the full model (Sajjad et al.)")
    q.add_argument("--strategy", help="top, bottom, alternate, symmetric, contribution "
                                      "(comma-separated; default top)")
    q.add_argument("--drop", help="numbers of layers to drop, comma-separated (default 2)")
    _flags(q)
    q.set_defaults(func=cmd_layer_drop)
    q = studies.add_parser("data-diet", help="train on the highest-scored share of the data "
                                             "(EL2N, forgetting) against random and full")
    q.add_argument("--score", help="el2n, forgetting, random (comma-separated; default el2n)")
    q.add_argument("--keep", help="fractions of the training data kept (default 0.5)")
    q.add_argument("--score-epochs", type=positive_int, default=None,
                   help="epochs of the scoring run (default 2)")
    q.add_argument("--score-seeds", help="seeds of the scoring runs, averaged (default 1)")
    _flags(q)
    q.set_defaults(func=_diet_defaults(cmd_data_diet))

    p = sub.add_parser("distill", help="distil a fine-tuned teacher run into a smaller "
                                       "student, against the student without KD")
    p.add_argument("--teacher", required=True, metavar="RUN_DIR",
                   help="a gluebench finetune run with checkpoints for the tasks")
    p.add_argument("--student", help="student model (default: the embedded MiniLM)")
    p.add_argument("--drop-layers", metavar="LIST",
                   help="build the student by dropping these layers (0-based) of --student")
    p.add_argument("--temperature", type=float, default=2.0, help="softmax temperature T")
    p.add_argument("--alpha", type=float, default=0.5,
                   help="weight of the gold-label loss; 1 - alpha weighs the teacher's")
    p.add_argument("--hidden-loss", action="store_true",
                   help="also match pooled hidden states (TinyBERT's uniform layer map)")
    p.add_argument("--pooling", choices=("mean", "cls"), default="mean",
                   help="how hidden states are pooled for --hidden-loss (default mean)")
    _flags(p, model=False)
    p.set_defaults(func=cmd_distill)


def _diet_defaults(fn):
    def run(args) -> int:
        if args.score_epochs is None:
            args.score_epochs = SMOKE["data-diet"]["score_epochs"] if args.smoke else 2
        return fn(args)
    return run
