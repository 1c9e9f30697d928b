"""``evaluate(model, ...)`` and ``score(predictions_dir, ...)``: the API's two entry points.

Both end in the scoring functions ``gluebench score`` uses (GLUE: ``scoring.py``; any other
suite: ``suite_scoring.py``), on a folder of prediction files: the user's folder, a run's
``predictions/<split>``, or one written from a predictor's answers. So ``Results.to_json()``
is the CLI's ``score --json`` document for the same files.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gluebench.api.predict import Predictor, write_files
from gluebench.api.prediction_sets import glue_entries, glue_texts, suite_entries, suite_texts
from gluebench.api.results import Results
from gluebench.api.run_seeds import run_folder, seed_results
from gluebench.benchmark.stats import DEFAULT_RESAMPLES
from gluebench.benchmark.suite import Suite
from gluebench.benchmark.suite_loader import DEFAULT_SUITE, load_suite
from gluebench.errors import UsageError
from gluebench.runs.rundir import RunDir

SPLITS = ("dev", "test")


def score(predictions_dir: str | os.PathLike, *, suite: str | os.PathLike = DEFAULT_SUITE,
          split: str = "dev", data_dir: str | os.PathLike | None = None,
          n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Results:
    """Score a folder of prediction files, as ``gluebench score --json`` does.

    Args:
        predictions_dir: A folder of submission-named files (``RTE.tsv``, ``BoolQ.jsonl``).
        suite: ``"glue"`` (default), another built-in suite's name, or a suite file's path.
        split: ``"dev"``, the only split with public labels.
        data_dir: The data folder, ``"sample"`` (GLUE's bundled sample) or ``None``
            for ``$GLUE_DIR``.
        n_resamples: Bootstrap resamples of each CI.
        seed: Seed of the bootstrap.

    Returns:
        The ``Results``.

    Raises:
        UsageError: a bad name, split or option (the CLI's one-line messages).
        DataError: a missing or malformed data or prediction file.
    """
    if split != "dev":
        raise UsageError(f"cannot score split '{split}': test labels are hidden; score 'dev', "
                         "or build a test submission with Results.submission(path)")
    definition = _suite(suite)
    data = _data_dir(definition, data_dir)
    document = _scored(definition, data, predictions_dir, n_resamples, seed)
    return Results(document, Path(predictions_dir), "dev", definition, data)


def evaluate(model: Any, *, suite: str | os.PathLike = DEFAULT_SUITE,
             tasks: str | Sequence[str] | None = None, split: str = "dev",
             data_dir: str | os.PathLike | None = None,
             seeds: int | str | Sequence[int | str] | None = None,
             n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Results:
    """Predict a split with ``model`` and score it (dev), or keep test predictions.

    Args:
        model: One of
            * an object with ``predict(task, inputs) -> list`` (see ``gluebench.api.predict``);
            * a ``transformers`` text-classification pipeline (``gluebench.api.pipelines``);
            * a gluebench run directory (its predictions are read, nothing is run);
            * a fine-tuned sequence classifier: a hub name or local folder (GLUE only;
              predicted by ``gluebench evaluate``'s code).
        suite: ``"glue"`` (default), another built-in suite's name, or a suite file's path.
        tasks: Entries or tasks to evaluate (``"CoLA,RTE"`` or a list); ``None``: every
            entry whose ``split`` file is in the data.
        split: ``"dev"`` (scored) or ``"test"`` (predictions for ``Results.submission``).
        data_dir: The data folder, ``"sample"`` (GLUE's bundled sample) or ``None``
            for ``$GLUE_DIR``.
        seeds: Run directories only: the seeds to report (``None``: all the run has). With
            two or more, ``Results.per_seed`` and ``Results.seed_summary`` are filled. A
            predictor or model is deterministic here, so ``seeds`` is an error for them.
        n_resamples: Bootstrap resamples of each CI.
        seed: Seed of the bootstrap.

    Returns:
        The ``Results`` (its ``predictions`` folder is temporary for a predictor).

    Raises:
        UsageError: a bad option, or a predictor's answer that is not a label of the task
            (one line naming the task and the row).
        DataError: a missing or malformed data or prediction file.
    """
    if split not in SPLITS:
        raise UsageError(f"unknown split '{split}'; expected dev or test")
    definition = _suite(suite)
    data = _data_dir(definition, data_dir)
    if isinstance(model, (str, os.PathLike)):
        if RunDir(model).is_run():
            return _from_run(Path(model), definition, data, split, seeds, n_resamples, seed)
        return _from_model(str(model), definition, data, tasks, split, seeds, n_resamples, seed)
    predictor = _predictor(model, definition)
    if seeds is not None:
        raise UsageError("seeds is for a run directory with several seeds; a predictor is "
                         "called once per task (it is deterministic here): drop seeds=")
    return _from_predictor(predictor, definition, data, tasks, split, n_resamples, seed)


def _suite(suite) -> Suite | None:
    """``None`` for GLUE (scored by ``benchmark/tasks.py``, as the CLI does), else the suite."""
    return None if str(suite) == DEFAULT_SUITE else load_suite(suite)


def _data_dir(suite: Suite | None, data_dir) -> str | None:
    data = data_dir if data_dir is None else str(data_dir)
    if suite is not None and not (data or os.environ.get("GLUE_DIR")):
        raise UsageError(f"data_dir is required for suite {suite.name} (or set GLUE_DIR); "
                         "expected the folder holding the suite's data")
    return data if suite is None else (data or os.environ["GLUE_DIR"])


def _scored(suite: Suite | None, data_dir, folder, n_resamples: int, seed: int) -> dict:
    """The ``score --json`` document of ``folder``, built as the CLI builds it."""
    from gluebench.benchmark.scoring import score_predictions  # deferred: loads scipy
    from gluebench.benchmark.sources import open_source
    from gluebench.benchmark.suite_scoring import score_suite_predictions

    start = time.perf_counter()
    if suite is None:
        document = score_predictions(open_source(data_dir), folder, split="dev",
                                     n_resamples=n_resamples, seed=seed)
    else:
        document = score_suite_predictions(suite, data_dir, folder, split="dev",
                                           n_resamples=n_resamples, seed=seed)
    document["timings"] = {"score_seconds": time.perf_counter() - start}
    return document


def _predictor(model, suite: Suite | None) -> Predictor:
    from gluebench.api.pipelines import PipelinePredictor, is_pipeline

    if is_pipeline(model):
        return PipelinePredictor(model, suite)
    if callable(getattr(model, "predict", None)):
        return model
    raise UsageError(f"cannot evaluate a {type(model).__name__}; expected an object with "
                     "predict(task, inputs) -> list, a transformers pipeline, a run directory, "
                     "or a fine-tuned model's hub name or folder")


def _from_predictor(predictor: Predictor, suite: Suite | None, data_dir, tasks, split: str,
                    n_resamples: int, seed: int) -> Results:
    if suite is None:
        from gluebench.benchmark.sources import open_source

        source = open_source(data_dir)
        texts = glue_texts(predictor, source, glue_entries(source, tasks, split), split)
    else:
        texts = suite_texts(predictor, suite, data_dir,
                            suite_entries(suite, data_dir, tasks, split), split)
    keep = tempfile.TemporaryDirectory(prefix="gluebench-predictions-")
    folder = write_files(Path(keep.name) / split, texts)
    document = _scored(suite, data_dir, folder, n_resamples, seed) if split == "dev" else None
    return Results(document, folder, split, suite, data_dir, keep=keep)


def _from_run(run_dir: Path, suite: Suite | None, data_dir, split: str, seeds,
              n_resamples: int, seed: int) -> Results:
    folder = run_folder(RunDir(run_dir).predictions, split)
    if split == "test":
        if seeds is not None:
            raise UsageError("seeds is for scoring dev predictions; a test submission uses "
                             "the run's selected seed")
        return Results(None, folder, split, suite, data_dir)
    results = Results(_scored(suite, data_dir, folder, n_resamples, seed), folder, split,
                      suite, data_dir)
    if suite is None:
        results.per_seed, results.seed_summary = seed_results(
            run_dir, seeds, lambda f: Results(_scored(None, data_dir, f, n_resamples, seed),
                                              f, split, None, data_dir),
            data_dir, n_resamples, seed)
    elif seeds is not None:
        raise UsageError("seeds is for GLUE runs; a run of another suite is scored from its "
                         "predictions folder")
    return results


def _from_model(model: str, suite: Suite | None, data_dir, tasks, split: str, seeds,
                n_resamples: int, seed: int) -> Results:
    """A fine-tuned classifier (hub name or folder), predicted by ``gluebench evaluate``'s
    code into a temporary run directory, which is then read like any run."""
    if suite is not None:
        raise UsageError(f"a model name or folder is evaluated on GLUE; for {suite.title}, "
                         "wrap the model in an object with predict(task, inputs)")
    if seeds is not None:
        raise UsageError("seeds is for a run directory with several seeds; a fine-tuned model "
                         "predicts deterministically: drop seeds=")
    from gluebench.benchmark.sources import open_source
    from gluebench.train.config import build_config
    from gluebench.train.runner import evaluate as evaluate_models  # deferred: loads torch

    spec = tasks if tasks is None or isinstance(tasks, str) else ",".join(tasks)
    keep = tempfile.TemporaryDirectory(prefix="gluebench-run-")
    evaluate_models(open_source(data_dir), [model], build_config(None, model=None), keep.name,
                    spec or "all", progress=False, n_resamples=n_resamples, stats_seed=seed)
    results = _from_run(Path(keep.name), None, data_dir, split, None, n_resamples, seed)
    results.keep = keep
    return results
