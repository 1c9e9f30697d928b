"""Ties on the leaderboard: neighbours a paired bootstrap of the GLUE score cannot separate.

For two entries ranked next to each other, each task's examples are resampled (the same
resample for both systems) and the GLUE-score difference is averaged from the tasks'
paired replicates exactly as the GLUE score is averaged from task scores. When the 95%
interval of the difference contains 0, the two are marked tied. Run by workers, which
hold the predictions and the gold labels.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

import numpy as np
from sqlalchemy import select

from gluebench.benchmark.metrics import compute, task_score
from gluebench.benchmark.scoring import align
from gluebench.benchmark.stats import DEFAULT_CONFIDENCE, paired_score_differences
from gluebench.benchmark.tasks import BENCHMARKS, GLUE_GROUPS
from gluebench.server.db import Database, Submission, Tie
from gluebench.server.grading import Gold, stored_predictions

CACHED_SUBMISSIONS = 32


class PredictionCache:
    """Parsed predictions of recently compared submissions, by content (parsing is the slow
    part, and resubmitted zips are common)."""

    def __init__(self, db: Database):
        self.db = db
        self._items: OrderedDict[str, dict] = OrderedDict()

    def get(self, sub_id: int) -> dict:
        with self.db.read() as session:
            sub = session.get(Submission, sub_id)
            key = hashlib.sha256(sub.predictions or sub.zip_data).hexdigest()
            if key not in self._items:
                self._items[key] = stored_predictions(sub)
        while len(self._items) > CACHED_SUBMISSIONS:
            self._items.popitem(last=False)
        self._items.move_to_end(key)
        return self._items[key]


def glue_difference(gold: Gold, preds_a: dict, preds_b: dict, *, n_resamples: int
                    ) -> tuple[float, list[float]]:
    """GLUE(A) - GLUE(B) over the entries both are scored on, and its paired bootstrap CI."""
    groups: dict[str, list[np.ndarray]] = {}
    observed: dict[str, list[float]] = {}
    for name, b in BENCHMARKS.items():
        examples = gold.get(name)
        if b.glue_group is None or examples is None or name not in preds_a or name not in preds_b:
            continue
        pa, pb = align(examples, preds_a[name]), align(examples, preds_b[name])
        reps = paired_score_differences(b.metrics, examples.labels, pa, pb,
                                        n_resamples=n_resamples, name=name)
        groups.setdefault(b.glue_group, []).append(reps)
        observed.setdefault(b.glue_group, []).append(_observed(b, examples.labels, pa, pb))
    present = [g for g in GLUE_GROUPS if g in groups]
    if not present:
        return 0.0, [0.0, 0.0]
    reps = np.mean([np.mean(groups[g], axis=0) for g in present], axis=0)
    diff = float(np.mean([np.mean(observed[g]) for g in present]))
    alpha = (1 - DEFAULT_CONFIDENCE) / 2
    lo, hi = np.quantile(reps, [alpha, 1 - alpha])
    return diff, [float(lo), float(hi)]


def _observed(b, gold, pa, pb) -> float:
    return (task_score(compute(b.metrics, gold, pa), b.metrics)
            - task_score(compute(b.metrics, gold, pb), b.metrics))


def ranking(session, *, public_only: bool) -> list[int]:
    """Scored submission ids by score, best first (the leaderboard's default order)."""
    query = select(Submission.id).where(Submission.state == "scored",
                                        Submission.score.is_not(None))
    if public_only:
        query = query.where(Submission.public, Submission.hidden.is_(False))
    return list(session.scalars(query.order_by(Submission.score.desc(), Submission.id)))


def refresh(db: Database, gold: Gold, cache: PredictionCache, *, n_resamples: int,
            limit: int = 2, log=print, compare=None) -> int:
    """Compare up to ``limit`` pairs of neighbours (on the public board and the admins')
    not compared yet; return how many were compared. Workers call it when the queue is
    empty, so ties never delay scoring. ``compare(above, below)`` gives (difference, CI);
    by default GLUE's ``glue_difference`` (a suite board passes ``suite_ties``')."""
    if compare is None:
        def compare(above: int, below: int):
            return glue_difference(gold, cache.get(above), cache.get(below),
                                   n_resamples=n_resamples)

    with db.read() as session:
        pairs = []
        for public_only in (True, False):
            order = ranking(session, public_only=public_only)
            pairs += list(zip(order, order[1:], strict=False))
        known = set(session.execute(select(Tie.above_id, Tie.below_id)).all())
    todo = [p for p in dict.fromkeys(pairs) if p not in known][:limit]
    for above, below in todo:
        try:
            diff, ci = compare(above, below)
        except Exception as exc:  # noqa: BLE001 - recorded as "not comparable", never retried
            log(f"ties: {above} vs {below} not comparable: {exc}")
            diff, ci = None, [None, None]
        with db.write() as session:
            if session.get(Tie, (above, below)) is None:
                session.add(Tie(above_id=above, below_id=below, diff=diff, ci_low=ci[0],
                                ci_high=ci[1], computed_at=time.time()))
    return len(todo)
