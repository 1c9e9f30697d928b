"""Forgetting (Toneva et al. 2019): an example is forgotten when it goes from correct to
wrong; one never learned is counted apart, never as forgotten."""

import numpy as np
import pytest

from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import get_task
from gluebench.studies import data_diet
from gluebench.train.config import build_config

# Correct (1) or wrong (0) after each of 4 epochs, for 5 examples, in two scoring runs.
RUN_1 = np.array([[1, 0, 0, 0, 1],
                  [0, 0, 1, 0, 1],
                  [1, 0, 1, 0, 1],
                  [0, 0, 1, 1, 0]])
# ex 0: 1,0,1,0 - forgotten twice; ex 1: never correct; ex 2: learned at epoch 2, kept;
# ex 3: learned at the last epoch; ex 4: 1,1,1,0 - forgotten once.
RUN_2 = np.array([[1, 0, 0, 0, 1],
                  [1, 1, 0, 0, 1],
                  [1, 0, 0, 0, 1],
                  [1, 0, 0, 1, 1]])
# ex 0: forgotten once; ex 1: 0,1,0,0 - learned, then forgotten; ex 2: never correct here
# (but learned in run 1); ex 3: learned last; ex 4: never forgotten.


def test_forgetting_events_and_facts_on_a_hand_worked_sequence():
    assert data_diet.forgetting_events(RUN_1).tolist() == [2, 0, 0, 0, 1]
    # The ranking score keeps Toneva's convention: never learned ranks above any event count.
    assert data_diet.forgetting_counts(RUN_1).tolist() == [2, 4, 0, 0, 1]
    one = data_diet.forgetting_facts([RUN_1])
    assert one == {"forgotten_at_least_once": 2 / 5,    # ex 0 and 4, not ex 1
                   "never_learned": 1 / 5}              # ex 1
    both = data_diet.forgetting_facts([RUN_1, RUN_2])
    assert both == {"forgotten_at_least_once": 3 / 5,   # ex 0, 1 (in run 2) and 4
                    "never_learned": 0.0}               # ex 1 was learned in run 2


def test_score_pool_reports_forgetting_without_the_never_learned(tmp_path, monkeypatch):
    task = get_task("SST-2")
    config = build_config(max_train_examples=5, max_seq_length=32)
    gold = open_source("sample").load(task, "train").subsample(5, config.data_seed).labels
    runs = iter([RUN_1, RUN_2])

    def scoring_run(task, examples, encoded, ref, config, engine, seed, epochs):
        # Logits whose argmax is gold exactly where the hand-worked run says "correct".
        history = next(runs)
        predicted = np.where(history.astype(bool), gold, 1 - gold)      # (epochs, n)
        return {"outputs": [np.eye(2)[row] * 4.0 for row in predicted]}

    monkeypatch.setattr(data_diet, "_scoring_run", scoring_run)
    facts = data_diet.score_pool(tmp_path, open_source("sample"), task, config, seeds=[1, 2],
                                 epochs=4, say=lambda _line: None)
    assert facts["forgotten_at_least_once"] == pytest.approx(3 / 5)
    assert facts["never_learned"] == 0.0
    with np.load(facts["files"]["forgetting"]) as z:        # the ranking score: per run, mean
        expected = (data_diet.forgetting_counts(RUN_1) + data_diet.forgetting_counts(RUN_2)) / 2
        np.testing.assert_allclose(z["score"], expected)


def test_the_report_names_both_shares():
    from gluebench.report.sections.study import _design_lines

    scoring = {"MRPC": {"seeds": [1, 2], "epochs": 4, "examples": 5, "seconds": 3.0,
                        "forgotten_at_least_once": 0.4, "never_learned": 0.2}}
    (line,) = _design_lines({"study": "data-diet", "facts": {"scoring": scoring}})
    assert "40% of examples forgotten at least once, 20% never learned" in line
    del scoring["MRPC"]["never_learned"]                  # a study scored before the split
    (line,) = _design_lines({"study": "data-diet", "facts": {"scoring": scoring}})
    assert "40% of examples forgotten at least once." in line
