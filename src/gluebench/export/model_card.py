"""``gluebench export model-card``: a run's dev results as a Hugging Face model card.

The card's ``model-index`` (``huggingface_hub``'s ``EvalResult``) lists every metric of every
entry the run scored: the suite's hub dataset (``nyu-mll/glue``, ``aps/super_glue``) and the
task's config and split, all read from the suite's definition, so a SuperGLUE run's card needs
nothing here. An existing card keeps its prose and its other metadata (license, tags, ...);
only the model name and the ``model-index`` are replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

from gluebench import __version__
from gluebench.benchmark.suite import Suite
from gluebench.benchmark.suite_loader import load_suite
from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write
from gluebench.runs.readers import read_results

# Our metric names -> the Hugging Face metric ids (hub cards and `evaluate` use these).
HF_METRICS = {"accuracy": "accuracy", "f1": "f1", "f1_macro": "f1", "mcc": "matthews_correlation",
              "r3": "matthews_correlation", "pearson": "pearsonr", "spearman": "spearmanr",
              "f1a": "f1", "em_question": "exact_match", "record_f1": "f1",
              "record_em": "exact_match", "gender_parity": "gender_parity"}
TASK_TYPE = "text-classification"


def build_card(run_dir: str | os.PathLike, *, existing: str | os.PathLike | None = None,
              model_name: str | None = None):
    """The card (a ``huggingface_hub.ModelCard``) for the run, updating ``existing`` if given."""
    from huggingface_hub import ModelCard, ModelCardData  # deferred: the hub client

    results = read_results(run_dir)
    suite = load_suite((results.get("suite") or {}).get("name", "glue"))
    name = model_name or Path(str(results.get("model") or run_dir)).name
    evals = eval_results(suite, results)
    if existing is not None and Path(existing).is_file():
        card = _load(ModelCard, existing)
        card.data.model_name, card.data.eval_results = name, evals
        return card
    data = ModelCardData(model_name=name, eval_results=evals, library_name="transformers",
                         datasets=[suite.hub] if suite.hub else None)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{_body(name, suite, results)}")


def eval_results(suite: Suite, results: dict) -> list:
    """One ``EvalResult`` per metric of every entry the run scored, in the suite's order."""
    from huggingface_hub import EvalResult  # deferred: the hub client

    scored = results.get("tasks") or {}
    out = []
    for entry in suite.entries.values():
        if entry.name not in scored:
            continue
        task = suite.tasks[entry.task]
        split = task.files[entry.dev].hf_split if results.get("split", "dev") == "dev" else None
        for metric in entry.metrics:
            out.append(EvalResult(
                task_type=TASK_TYPE, dataset_type=suite.hub or suite.name,
                dataset_name=f"{suite.title} {entry.name}", dataset_config=task.hf_config,
                dataset_split=split or None, dataset_args=scored[entry.name].get("subsample"),
                metric_type=HF_METRICS.get(metric, metric),
                metric_name=f"{entry.name} {metric}", metric_value=_value(scored, entry, metric)))
    if not out:
        raise UsageError("the run has no scored entries for a model card (dev scores are "
                         "needed; was it run with --splits test only?)")
    return out


def write_card(card, output: str | os.PathLike | None, push: str | None) -> None:
    """Upload first (the step that fails offline), then write ``output`` atomically."""
    text = str(card)
    if push:
        _push(card, push)
    if output is not None:
        atomic_write(output, text if text.endswith("\n") else text + "\n")


def _value(scored: dict, entry, metric: str) -> float:
    value = scored[entry.name].get(metric)
    if not isinstance(value, (int, float)):
        raise UsageError(f"results.json: {entry.name} has no value for {metric}; expected "
                         f"the run's dev scores ({', '.join(entry.metrics)})")
    return float(value)


def _load(model_card, path):
    try:
        return model_card.load(path)
    except (ValueError, TypeError, KeyError) as exc:   # bad YAML front matter, bad model-index
        raise UsageError(f"{path}: not a model card we can update ({exc}); expected Markdown "
                         "with YAML metadata between --- lines") from None


def _push(card, repo: str) -> None:
    try:
        card.push_to_hub(repo)
    except Exception as exc:  # noqa: BLE001 - offline, no token, no such repo: all one line
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"could not push the model card to {repo} ({reason}); nothing was "
                         "written; check the network and `huggingface-cli login`") from None


def _body(name: str, suite: Suite, results: dict) -> str:
    rows = [f"| {e} | {', '.join(f'{k} {v[k]:.4f}' for k in suite.entries[e].metrics if k in v)} |"
            for e, v in (results.get("tasks") or {}).items() if e in suite.entries]
    return "\n".join([
        f"# {name}", "",
        f"{results.get('model', name)}, evaluated with gluebench {__version__} on the "
        f"{suite.title} {results.get('split', 'dev')} sets"
        f" ({results.get('kind', 'finetune')} run).", "",
        "| Entry | Metrics |", "|---|---|", *rows, ""])
