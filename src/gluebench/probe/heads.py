"""scikit-learn heads on frozen sentence features, chosen on train only, saved without pickle.

* classification: standardised features, multinomial logistic regression, with C chosen
  by stratified k-fold cross-validation on the training examples (``LogisticRegressionCV``;
  CoLA by MCC, its official metric, the others by accuracy);
* STS-B: ridge regression with alpha chosen by leave-one-out cross-validation on train
  (``RidgeCV``'s efficient LOO); the zero-shot cosine of the sentence vectors beside it.

Dev is never seen while fitting. A fitted head is a few arrays (scaler, coefficients,
classes) saved as ``.npz`` plus the chosen value and CV scores as JSON, and rebuilt into
the same scikit-learn estimators to predict.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gluebench.tasks import BENCHMARKS, Task
from gluebench.tsv import atomic_write

FOLDS = 5
C_GRID = tuple(np.logspace(-5, -1, 5).tolist())       # 0.00001 ... 0.1
ALPHA_GRID = tuple(np.logspace(-1, 5, 13).tolist())   # 0.1 ... 100000
MAX_ITER = 2000
CV_SCORING = {"mcc": "matthews_corrcoef"}             # else accuracy


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
        return model.predict_log_proba(x)

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
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(features)
    x = scaler.transform(features)
    arrays = {"mean": scaler.mean_, "scale": scaler.scale_}
    if task.is_regression:
        # Efficient leave-one-out CV (one eigendecomposition for the whole alpha grid):
        # k-fold with k = n, and much faster than refitting per fold.
        model = RidgeCV(alphas=ALPHA_GRID).fit(x, labels)
        arrays |= {"coef": model.coef_, "intercept": np.atleast_1d(model.intercept_)}
        facts = {"alpha": float(model.alpha_), "alpha_grid": list(ALPHA_GRID),
                 "cv": "leave-one-out on train (RidgeCV's efficient LOO), mean squared error",
                 "cv_score": float(model.best_score_)}
        return Head("ridge", arrays, facts | _sizes(features))
    folds = StratifiedKFold(min(FOLDS, _smallest_class(labels)), shuffle=True,
                            random_state=seed)
    metric = next(b for b in BENCHMARKS.values() if b.task == task.name).metrics[0]
    scoring = CV_SCORING.get(metric, "accuracy")
    with warnings.catch_warnings():
        # scikit-learn 1.9 announces new defaults (l1_ratios, fitted attributes) that do
        # not change this L2 fit; a C that stops at MAX_ITER is still scored by CV.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegressionCV(Cs=list(C_GRID), cv=folds, scoring=scoring,
                                     max_iter=MAX_ITER).fit(x, labels)
    mean_scores = np.mean(next(iter(model.scores_.values())), axis=0)   # (n_Cs,)
    arrays |= {"coef": model.coef_, "intercept": model.intercept_, "classes": model.classes_}
    facts = {"C": float(np.atleast_1d(model.C_)[0]), "C_grid": list(C_GRID),
             "cv": f"{folds.get_n_splits()}-fold StratifiedKFold on train (seed {seed}), "
                   f"{scoring}",
             "cv_scores": [float(s) for s in mean_scores], "cv_score": float(mean_scores.max())}
    return Head("logistic", arrays, facts | _sizes(features))


def _smallest_class(labels: np.ndarray) -> int:
    counts = np.unique(labels, return_counts=True)[1]
    return max(2, int(counts.min()))


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


def pair_features(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[u, v, |u - v|, u * v] (InferSent/SentEval): (n, d) x 2 -> (n, 4d)."""
    return np.hstack([u, v, np.abs(u - v), u * v]).astype(np.float32)


def cosine(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity: the zero-shot STS-B score."""
    norms = np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1)
    return (u * v).sum(axis=1) / np.maximum(norms, 1e-12)
