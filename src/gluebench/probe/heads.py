"""scikit-learn heads on frozen sentence features, chosen on train only, saved without pickle.

* classification: standardised features, multinomial logistic regression, with C chosen
  by stratified k-fold cross-validation on the training examples (``LogisticRegressionCV``;
  CoLA by MCC, its official metric, the others by accuracy);
* STS-B: ridge regression with alpha chosen by leave-one-out cross-validation on train
  (``RidgeCV``'s efficient LOO); the zero-shot cosine of the sentence vectors beside it.

Dev is never seen while fitting. A fitted head is a few arrays (scaler, coefficients,
classes) saved as ``.npz`` plus the chosen value and CV scores as JSON, and rebuilt into
the same scikit-learn estimators to predict.

scikit-learn orders a classifier's columns by ``classes_``, the ids present in training,
so ``scores`` puts them back in the task's label order (column j is label id j); a class
absent from training gets probability zero (a finite score, ``ABSENT_LOG_PROB``). A
training set of one class is refused: a constant predictor is the majority baseline, which
every report already shows, not a probe.
``cv_scores``/``cv_score`` are scikit-learn scores for both heads: higher is better (the
ridge head's is the negative mean squared error, its ``cv_mse`` the error itself).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gluebench.benchmark.tasks import BENCHMARKS, Task
from gluebench.errors import UsageError
from gluebench.formats.atomic import atomic_write

FOLDS = 5
C_GRID = tuple(np.logspace(-5, -1, 5).tolist())       # 0.00001 ... 0.1
ALPHA_GRID = tuple(np.logspace(-1, 5, 13).tolist())   # 0.1 ... 100000
MAX_ITER = 2000
CV_SCORING = {"mcc": "matthews_corrcoef"}             # else accuracy
# The score of a class absent from training: finite (every score a run writes is), and
# exp(-1e4) is 0.0 in float32 and float64, so its softmax probability is exactly zero.
ABSENT_LOG_PROB = -1e4


@dataclass
class Head:
    """A fitted head: ``scores(X)`` gives log-probabilities (n, k), or STS-B scores (n, 1)."""

    kind: str                     # "logistic" or "ridge"
    arrays: dict[str, np.ndarray]
    facts: dict = field(default_factory=dict)   # chosen C/alpha, grid, CV scores, sizes

    @property
    def parameters(self) -> int:
        """Trainable parameters: the coefficients and intercepts."""
        return int(self.arrays["coef"].size + self.arrays["intercept"].size)

    def scores(self, features: np.ndarray) -> np.ndarray:
        scaler, model = _rebuild(self)
        x = scaler.transform(features)
        if self.kind == "ridge":
            return model.predict(x).reshape(-1, 1)
        return self._in_label_order(_log_proba(model, x))

    def _in_label_order(self, log_proba: np.ndarray) -> np.ndarray:
        """(n, classes seen) columns in ``classes_`` order -> (n, task labels)."""
        classes = self.arrays["classes"].astype(np.int64)
        k = len(self.facts.get("labels") or ()) or int(classes.max()) + 1  # older heads
        out = np.full((len(log_proba), k), ABSENT_LOG_PROB)
        out[:, classes] = log_proba
        return out

    def save(self, folder: Path) -> None:
        import io

        buffer = io.BytesIO()
        np.savez(buffer, **self.arrays)
        atomic_write(folder / "head.npz", buffer.getvalue())
        atomic_write(folder / "head.json", json.dumps({"kind": self.kind, **self.facts},
                                                      indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Head:
        facts = json.loads((folder / "head.json").read_text(encoding="utf-8"))
        with np.load(folder / "head.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return cls(facts.pop("kind"), arrays, facts)


def fit_head(task: Task, features: np.ndarray, labels: np.ndarray, *, seed: int) -> Head:
    """Standardise, then fit the task's head with its hyperparameter chosen by CV on train."""
    from sklearn.preprocessing import StandardScaler

    problem = training_problem(task, labels)
    if problem:
        raise UsageError(f"{task.name}: {problem}")
    scaler = StandardScaler().fit(features)
    x = scaler.transform(features)
    arrays = {"mean": scaler.mean_, "scale": scaler.scale_}
    if task.is_regression:
        return _ridge(x, labels, arrays, _sizes(features))
    return _logistic(task, x, labels, seed, arrays, _sizes(features))


def training_problem(task: Task, labels: np.ndarray) -> str | None:
    """Why a head cannot be fitted on these training labels, or None."""
    if len(labels) == 0:
        return "no training examples"
    if task.is_regression:
        return None
    counts = np.bincount(np.asarray(labels, np.int64), minlength=len(task.labels))
    present = np.flatnonzero(counts)
    if len(present) < 2:
        return (f"all {len(labels)} training examples are '{task.labels[present[0]]}'; a probe "
                f"learns from at least two of the task's classes ({', '.join(task.labels)}) "
                "- train on more examples or on data with more than one label")
    if counts.max() < 2:
        return (f"{len(labels)} training examples, one per class: choosing C by "
                "cross-validation needs two examples of at least one class - train on more")
    return None


def _ridge(x: np.ndarray, labels: np.ndarray, arrays: dict, sizes: dict) -> Head:
    """Ridge with alpha chosen by efficient leave-one-out CV on train (k-fold with k = n).

    One eigendecomposition serves the whole alpha grid, much faster than refitting per fold.
    scikit-learn maximises a score, here the negative mean squared error.
    """
    from sklearn.linear_model import RidgeCV

    model = RidgeCV(alphas=ALPHA_GRID, store_cv_results=True).fit(x, labels)
    mse = model.cv_results_.mean(axis=0)                     # (n, alphas) squared errors
    arrays |= {"coef": model.coef_, "intercept": np.atleast_1d(model.intercept_)}
    facts = {"alpha": float(model.alpha_), "alpha_grid": list(ALPHA_GRID),
             "cv": "leave-one-out on train (RidgeCV's efficient LOO), negative mean squared "
                   "error (higher is better)",
             "cv_scores": [float(-e) for e in mse], "cv_score": float(model.best_score_),
             "cv_mse": float(-model.best_score_)}
    return Head("ridge", arrays, facts | sizes)


def _logistic(task: Task, x: np.ndarray, labels: np.ndarray, seed: int, arrays: dict,
              sizes: dict) -> Head:
    """Multinomial logistic regression with C chosen by stratified k-fold CV on train.

    ``FOLDS`` folds, fewer when a class has fewer examples (at least 2 folds), so that every
    test fold holds every class: MCC, CoLA's metric, is 0 on a fold with one class whatever
    C is. A class with a single example is left out of the training part of the fold that
    tests it, which then scores it wrong, as it should; rare classes are recorded.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(labels, minlength=len(task.labels))
    smallest = int(counts[counts > 0].min())
    folds = StratifiedKFold(min(FOLDS, max(2, smallest)), shuffle=True, random_state=seed)
    metric = next(b for b in BENCHMARKS.values() if b.task == task.name).metrics[0]
    scoring = CV_SCORING.get(metric, "accuracy")
    with warnings.catch_warnings():
        # scikit-learn 1.9 announces new defaults (l1_ratios, fitted attributes) that do
        # not change this L2 fit; a C that stops at MAX_ITER is still scored by CV; a
        # single-example class (a fold without it) is recorded below instead of warned about.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message="The least populated class")
        warnings.filterwarnings("ignore", message="A single label was found")
        model = LogisticRegressionCV(Cs=list(C_GRID), cv=folds, scoring=scoring,
                                     max_iter=MAX_ITER).fit(x, labels)
    mean_scores = np.mean(next(iter(model.scores_.values())), axis=0)   # (n_Cs,)
    arrays |= {"coef": model.coef_, "intercept": model.intercept_, "classes": model.classes_}
    n_folds = folds.get_n_splits()
    facts = {"C": float(np.atleast_1d(model.C_)[0]), "C_grid": list(C_GRID),
             "cv": f"{n_folds}-fold StratifiedKFold on train (seed {seed}), {scoring}",
             "cv_scores": [float(s) for s in mean_scores], "cv_score": float(mean_scores.max()),
             "labels": list(task.labels),
             "train_class_counts": {name: int(c) for name, c in zip(task.labels, counts,
                                                                     strict=True)},
             "absent_classes": [n for n, c in zip(task.labels, counts, strict=True) if c == 0],
             "rare_classes": [n for n, c in zip(task.labels, counts, strict=True)
                              if 0 < c < FOLDS]}
    return Head("logistic", arrays, facts | sizes)


def _sizes(features: np.ndarray) -> dict:
    return {"train_examples": int(features.shape[0]), "features": int(features.shape[1])}


def _rebuild(head: Head):
    """The fitted scikit-learn scaler and model, from the saved arrays."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.preprocessing import StandardScaler

    a = head.arrays
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_, scaler.var_ = a["mean"], a["scale"], a["scale"] ** 2
    scaler.n_features_in_ = len(a["mean"])
    if head.kind == "ridge":
        model = Ridge()
        model.coef_, model.intercept_ = a["coef"], float(a["intercept"][0])
    else:
        model = LogisticRegression()
        model.coef_, model.intercept_, model.classes_ = a["coef"], a["intercept"], a["classes"]
    model.n_features_in_ = len(a["mean"])
    return scaler, model


def _log_proba(model, x: np.ndarray) -> np.ndarray:
    """log P(class) in ``classes_`` order, finite: ``predict_log_proba`` is the log of
    ``predict_proba``, -inf wherever a probability underflows to zero."""
    from scipy.special import log_softmax

    decision = model.decision_function(x)
    if decision.ndim == 1:          # binary: P(classes_[1]) = expit(d) = softmax([0, d])[1]
        decision = np.column_stack([np.zeros_like(decision), decision])
    return log_softmax(decision, axis=1)


def pair_features(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[u, v, |u - v|, u * v] (InferSent/SentEval): (n, d) x 2 -> (n, 4d)."""
    return np.hstack([u, v, np.abs(u - v), u * v]).astype(np.float32)


def cosine(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity: the zero-shot STS-B score."""
    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
    return (u * v).sum(axis=1) / np.maximum(norms, 1e-12)
