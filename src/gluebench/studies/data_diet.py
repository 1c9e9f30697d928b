"""Data diets (Attendu & Corbeil 2023): score the training examples, train on the top share.

Scoring fine-tunes the model on the whole training pool for a few epochs (``epochs``, at
least 1, as the papers score "early in training"), once per scoring seed, and reads the
model after every epoch:

* EL2N (Paul et al. 2021): ``||softmax(logits) - onehot(gold)||_2`` after the last scoring
  epoch, averaged over the scoring seeds; for STS-B, the absolute error of the score;
* forgetting (Toneva et al. 2019): the number of learned -> forgotten transitions of an
  example across the epochs (correct after epoch e, wrong after e+1); for ranking, an
  example never learned counts as forgotten ``epochs`` times (more than any learned one
  can be). For STS-B "correct" means within ``REGRESSION_CORRECT`` of the gold score.
  The facts count the two apart: ``forgotten_at_least_once`` is the share of examples with
  a learned -> forgotten transition in some scoring run, ``never_learned`` the share never
  correct after any epoch of any run (never learned is not forgotten).

The study then trains on the kept share of each score, on a random subset of the same
size (the control), and on the full pool.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import time
from pathlib import Path

import numpy as np

from gluebench.formats.atomic import atomic_write, read_json, write_json
from gluebench.models import hf
from gluebench.studies.design import Study, Variant
from gluebench.train import features, loop
from gluebench.train.methods import apply_method

SCORES = ("el2n", "forgetting", "random")
REGRESSION_CORRECT = 0.5   # STS-B: a prediction within half a point of gold is "correct"


def el2n(outputs: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Per example: ``||softmax(logits) - onehot||_2`` (n, k) logits, or |score - gold| (n, 1)."""
    from scipy.special import softmax

    if outputs.shape[1] == 1:
        return np.abs(outputs[:, 0] - gold)
    error = softmax(outputs, axis=1)
    error[np.arange(len(gold)), gold] -= 1.0
    return np.linalg.norm(error, axis=1)


def correct(outputs: np.ndarray, gold: np.ndarray) -> np.ndarray:
    if outputs.shape[1] == 1:
        return np.abs(outputs[:, 0] - gold) <= REGRESSION_CORRECT
    return outputs.argmax(1) == gold


def forgetting_events(history: np.ndarray) -> np.ndarray:
    """(epochs, n) correctness -> (n,) learned->forgotten transitions (correct, then wrong)."""
    history = np.asarray(history, dtype=bool)
    return (history[:-1] & ~history[1:]).sum(axis=0)


def forgetting_counts(history: np.ndarray) -> np.ndarray:
    """The forgetting score to rank by: the events, and ``epochs`` for a never-learned one."""
    history = np.asarray(history, dtype=bool)
    counts = forgetting_events(history).astype(np.float64)
    counts[~history.any(axis=0)] = len(history)
    return counts


def forgetting_facts(histories: list[np.ndarray]) -> dict:
    """Shares of examples forgotten at least once, and never learned, over scoring runs.

    ``histories``: one (epochs, n) correctness array per scoring run (seed). Forgotten: a
    learned -> forgotten transition in at least one run. Never learned: wrong after every
    epoch of every run. No example is both.
    """
    runs = np.stack([np.asarray(h, dtype=bool) for h in histories])   # (runs, epochs, n)
    forgotten = np.stack([forgetting_events(h) for h in runs]).sum(axis=0) > 0
    never = ~runs.any(axis=(0, 1))
    return {"forgotten_at_least_once": float(np.mean(forgotten)),
            "never_learned": float(np.mean(never))}


def _scoring_run(task, examples, encoded, ref, config, engine, seed: int, epochs: int) -> dict:
    """Fine-tune on the whole pool for ``epochs``; outputs after each epoch."""
    from transformers import set_seed

    set_seed(seed)
    model, new = hf.load_classifier(ref, 1 if task.is_regression else len(task.labels),
                                    task=task)
    model = apply_method(model, config.method, new, config)
    reader = dataclasses.replace(engine, bf16=False)   # never cast the weights mid-training
    after: list[np.ndarray] = []
    loop.train(model, encoded, examples.labels, config, engine, seed=seed,
               learning_rate=config.resolved_learning_rate(hf.hidden_size(model)),
               epochs=float(epochs),
               epoch_end=lambda _e: after.append(loop.predict(model, encoded, config, reader)))
    return {"outputs": after}


def score_pool(study_root: Path, source, task, config, *, seeds: list[int], epochs: int,
               say=print) -> dict:
    """EL2N and forgetting scores of ``task``'s training pool, written once; their facts."""
    examples = source.load(task, "train").subsample(config.max_train_examples,
                                                    config.data_seed)
    ref = hf.resolve_model(config.model)
    tokenizer = hf.load_tokenizer(ref)
    encoded = features.encode(tokenizer, examples, config.max_seq_length)
    key = hashlib.sha256(repr((ref.description, config.to_dict(), seeds, epochs)).encode())
    for array in (encoded.ids, encoded.offsets, examples.index):
        key.update(np.ascontiguousarray(array).tobytes())
    tag = f"{task.name}-{key.hexdigest()[:16]}"
    facts_path = study_root / "scores" / f"{tag}.json"
    if facts_path.is_file():
        facts = read_json(facts_path)
        if "never_learned" in facts:     # older facts counted never-learned as forgotten
            return facts
    engine, start = loop.Engine.choose(config), time.perf_counter()
    el2ns, forgets, histories = [], [], []
    for seed in seeds:
        say(f"{task.name}: scoring {len(examples)} training examples ({epochs} epoch(s), "
            f"seed {seed})")
        outputs = _scoring_run(task, examples, encoded, ref, config, engine, seed,
                               epochs)["outputs"]
        el2ns.append(el2n(outputs[-1], examples.labels))
        histories.append(np.array([correct(o, examples.labels) for o in outputs]))
        forgets.append(forgetting_counts(histories[-1]))
    files = {}
    for name, values in (("el2n", np.mean(el2ns, axis=0)),
                         ("forgetting", np.mean(forgets, axis=0))):
        buffer = io.BytesIO()
        np.savez(buffer, index=examples.index, score=values)
        files[name] = str((study_root / "scores" / f"{tag}-{name}.npz").resolve())
        atomic_write(files[name], buffer.getvalue())
    facts = {"files": files, "examples": len(examples), "seeds": seeds, "epochs": epochs,
             "seconds": time.perf_counter() - start, **forgetting_facts(histories)}
    write_json(facts_path, facts)
    return facts


def build(*, model, tasks: list[str], seeds: list[int], base: dict, scores: list[str],
          keeps: list[float], scoring: dict) -> Study:
    """Per task: the full pool (control), and each score x kept share with its random twin."""
    variants = []
    for task in tasks:
        variants.append(Variant("full", task, "control", {}, 1.0, "full"))
        for keep in keeps:
            random_name = f"random-{keep:g}"
            variants.append(Variant(random_name, task, "control" if scores != ["random"]
                                    else "variant",
                                    {"keep_fraction": keep, "diet_score": "random"}, keep,
                                    "random", ["full"]))
            for score in (s for s in scores if s != "random"):
                variants.append(Variant(
                    f"{score}-{keep:g}", task, "variant",
                    {"keep_fraction": keep, "diet_score": score,
                     "diet_scores_file": scoring[task]["files"][score]},
                    keep, score, ["full", random_name]))
    return Study("data-diet", model, tasks, seeds, base, variants, "fraction of the "
                 "training data kept", facts={"scoring": scoring, "scores": scores,
                                              "keeps": keeps})
