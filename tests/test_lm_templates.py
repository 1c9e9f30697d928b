"""Prompt templates, few-shot draws and the scoring arithmetic (no model needed)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark.sources import open_source
from gluebench.benchmark.tasks import TASKS
from gluebench.errors import UsageError
from gluebench.lm import choices as lm_scoring
from gluebench.lm import fewshot
from gluebench.lm.templates import (
    few_shot_prompt,
    get_template,
    resolve_templates,
    templates_for,
)

# lm-eval task name -> ours; lm-eval's labels are the Hugging Face ClassLabel ids, which are
# positions into our Task.labels (the registry keeps the official = HF order).
LM_EVAL_TASKS = {"cola": "CoLA", "sst2": "SST-2", "mrpc": "MRPC", "qqp": "QQP", "mnli": "MNLI",
                 "qnli": "QNLI", "rte": "RTE", "wnli": "WNLI"}


def _lm_eval_glue() -> Path:
    spec = importlib.util.find_spec("lm_eval")   # located, not imported (it is slow to import)
    assert spec is not None, "lm-eval is in the test extra: pip install -e '.[test]'"
    return Path(next(iter(spec.submodule_search_locations))) / "tasks" / "glue"


def _lm_eval_yaml(name: str) -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !function ...
    return yaml.load((_lm_eval_glue() / name / "default.yaml").read_text(), Loader=Loader)


@pytest.mark.parametrize("name", TASKS)
def test_every_task_has_the_default_and_two_more_templates(name):
    task = TASKS[name]
    found = templates_for(task)
    assert list(found)[0] == "lm-eval" and len(found) >= 3
    for template in found.values():
        k = 6 if task.is_regression else len(task.labels)
        assert len(template.choices) == k and len(set(template.choices)) == k
        inputs = {f: f"<{f}>" for f in task.input_fields}
        text = template.render(inputs)
        assert all(f"<{f}>" in text for f in task.input_fields)


@pytest.mark.parametrize("lm_name", LM_EVAL_TASKS)
def test_lm_eval_template_is_lm_evals_prompt_and_choices_in_its_label_order(lm_name):
    config = _lm_eval_yaml(lm_name)
    task = TASKS[LM_EVAL_TASKS[lm_name]]
    ours = get_template(task, "lm-eval")
    # choices mapped by name reproduce lm-eval's list position by position (HF label ids)
    assert list(ours.choices) == config["doc_to_choice"]
    if isinstance(config["doc_to_text"], str):
        jinja = re.sub(r"\{\{(\w+)\}\}", r"{\1}", config["doc_to_text"])
        assert ours.text == jinja


def test_mnli_template_renders_exactly_as_lm_evals_function():
    spec = importlib.util.spec_from_file_location("mnli_utils",
                                                  _lm_eval_glue() / "mnli" / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    ours = get_template(TASKS["MNLI"])
    for premise, hypothesis in [("A man sleeps.", "  He is awake "), ("x", "y."), ("p", "")]:
        doc = {"premise": premise, "hypothesis": hypothesis}
        assert ours.render(doc) == utils.doc_to_text(doc)


def test_label_order_traps_are_mapped_by_name():
    # WNLI: label "1" is entailment, so choice 1 must be lm-eval's "True"
    assert get_template(TASKS["WNLI"]).choices == ("False", "True")
    assert get_template(TASKS["RTE"]).choices == ("True", "False")     # RTE: 0 = entailment
    mnli = dict(zip(TASKS["MNLI"].labels, get_template(TASKS["MNLI"]).choices, strict=True))
    assert mnli == {"entailment": "True", "neutral": "Neither", "contradiction": "False"}
    assert get_template(TASKS["AX"]).choices == get_template(TASKS["MNLI"]).choices


def test_unknown_template_names_the_known_ones():
    with pytest.raises(UsageError, match="known: lm-eval, yes-no, implies"):
        resolve_templates("lm-eval,nope", [TASKS["RTE"]])
    assert resolve_templates("all", [TASKS["RTE"]]) == ["lm-eval", "yes-no", "implies"]


def test_few_shot_prompt_joins_like_lm_eval():
    template = get_template(TASKS["RTE"])
    demo = {"sentence1": "A", "sentence2": "B"}
    text = few_shot_prompt(template, [(demo, 1)], {"sentence1": "C", "sentence2": "D"})
    assert text == ("A\nQuestion: B True or False?\nAnswer: False\n\n"
                    "C\nQuestion: D True or False?\nAnswer:")


def test_demonstrations_are_seeded_balanced_and_never_the_example(glue_dir):
    source = open_source(glue_dir)
    rte = TASKS["RTE"]
    a, b = fewshot.draw(source, rte, 4, 1), fewshot.draw(source, rte, 4, 1)
    assert a == b and a["pool"] == "RTE/train"
    assert a != fewshot.draw(source, rte, 4, 2)
    balanced = fewshot.draw(source, rte, 4, 3, balanced=True)
    assert sorted(d["choice"] for d in balanced["shots"]) == [0, 0, 1, 1]
    # MNLI has no train split here: demonstrations come from dev, and a dev example that is
    # one of them is shown the spare instead of itself; AX (another file) is never swapped
    mnli = fewshot.draw(source, TASKS["MNLI"], 3, 1)
    assert mnli["pool"] == "MNLI/dev"
    own = mnli["shots"][1]["index"]
    shown = fewshot.for_example(mnli, TASKS["MNLI"], "dev", own)
    assert own not in [d["index"] for d in shown] and mnli["spare"] in shown
    assert fewshot.for_example(mnli, TASKS["AX"], "dev", own) == mnli["shots"]
    assert fewshot.draw(source, TASKS["AX"], 3, 1) == mnli


def test_length_normalisation_and_probabilities_follow_lm_eval():
    template = get_template(TASKS["SST-2"])     # "negative" (8 chars), "positive" (8)
    rte = get_template(TASKS["CoLA"])          # "no" (2), "yes" (3)
    scores = np.array([[-2.0, -2.9], [-1.0, -0.5]])
    assert lm_scoring.length_normalised(rte, scores).tolist() == [1, 1]   # -1.0 < -0.97
    assert lm_scoring.length_normalised(template, scores).tolist() == [0, 1]
    probs = lm_scoring.probabilities(scores)
    assert np.allclose(probs.sum(axis=1), 1) and probs[0, 0] > probs[0, 1]


def test_stsb_expected_score_and_contextual_calibration():
    probs = np.array([[0.0, 0.0, 0.5, 0.5, 0.0, 0.0], [0, 0, 0, 0, 0, 1.0]])
    assert lm_scoring.values_from_probabilities(TASKS["STS-B"], probs).tolist() == [2.5, 5.0]
    # Zhao et al.: p_cf = (0.8, 0.2) means a prior towards class 0; dividing it out
    calibrated = lm_scoring.calibrate(np.array([[0.7, 0.3]]), np.array([0.8, 0.2]))
    expected = np.array([0.7 / 0.8, 0.3 / 0.2])
    assert np.allclose(calibrated, expected / expected.sum())
    assert calibrated.argmax() == 1
    inputs = lm_scoring.content_free_inputs(TASKS["RTE"])
    assert [d["sentence1"] for d in inputs] == ["N/A", "", "[MASK]"]


def test_generated_answers_parse_or_are_counted_never_guessed():
    rte, stsb = TASKS["RTE"], TASKS["STS-B"]
    template = get_template(rte)
    answers = [lm_scoring.parse_answer(rte, template, t)
               for t in [" True.", " false", " Maybe", "", " yes"]]
    assert answers == [0, 1, None, None, None]
    values, outputs, parsed = lm_scoring.parsed_outputs(rte, answers)
    assert parsed.tolist() == [True, True, False, False, False]
    assert np.allclose(outputs[2], 0.5)
    stsb_t = get_template(stsb)
    assert [lm_scoring.parse_answer(stsb, stsb_t, t) for t in [" 3.5", "7", "four"]] == \
        [3.5, None, None]
