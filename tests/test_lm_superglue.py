"""Prompted LMs on SuperGLUE: lm-evaluation-harness's prompts and choices, rendered by our
templates for real val rows and compared with lm-eval's own task code (its YAMLs and
helper functions, loaded from the installed package); the WSC span fix; the MultiRC and
ReCoRD mappings from a chosen continuation to a prediction; and a tiny ``prompt --suite``
run on the embedded SmolLM2, scored by ``score --suite``."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite_loader import load_suite
from gluebench.benchmark.table import ExampleTable
from gluebench.lm.requests import Request
from gluebench.lm.suite_inputs import prompt_fields, wsc_fixed
from gluebench.lm.suite_predictor import SuitePromptPredictor, draw_demos
from gluebench.lm.suite_templates import get_suite_template, suite_templates_for
from tests.conftest import REPO, real_data_missing, suite_data_roots

pytestmark = pytest.mark.real_data
TASKS = ("BoolQ", "CB", "COPA", "MultiRC", "ReCoRD", "RTE", "WiC", "WSC")
MAX_ROWS = 400      # of BoolQ's 3,270 and MultiRC's 4,848 rows (all rows take ~25 s more)


@pytest.fixture(scope="module")
def data_root():
    found = [r for r in suite_data_roots() if (r / "superglue" / "WSC" / "val.jsonl").is_file()
             and (r / "fewglue" / "ReCoRD" / "train.jsonl").is_file()]
    if not found:
        real_data_missing("SuperGLUE/FewGLUE data not found")
    return found[0]


def head(table: ExampleTable, n: int) -> ExampleTable:
    return ExampleTable(table.task, table.split, table.source, table.ids[:n],
                        {k: v[:n] for k, v in table.inputs.items()},
                        None if table.labels is None else table.labels[:n],
                        None if table.answers is None else table.answers[:n],
                        {k: v[:n] for k, v in table.groups.items()})


def val_table(root, task: str) -> ExampleTable:
    """SuperGLUE val; ReCoRD (no val here): FewGLUE's 32 train rows."""
    if task == "ReCoRD":
        fewglue = load_suite("fewglue")
        return load_split(fewglue, fewglue.tasks["ReCoRD"], "train", root)
    suite = load_suite("superglue")
    return head(load_split(suite, suite.tasks[task], "dev", root), MAX_ROWS)


@pytest.fixture(scope="module")
def lm_eval_tasks(data_root, tmp_path_factory):
    """(our tables, lm-eval's ConfigurableTask per task) over the same rows."""
    spec = importlib.util.spec_from_file_location(
        "superglue_lm_eval", REPO / "benchmarks" / "superglue_lm_eval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("lm-eval-tasks")
    tables = {t: val_table(data_root, t) for t in TASKS}
    module.write_tasks(tables, folder)
    yield tables, {t: module.configurable_task(folder, t) for t in TASKS}
    sys.modules.pop(spec.name, None)


@pytest.mark.parametrize("task", TASKS)
def test_default_template_renders_lm_evals_requests_for_real_val_rows(lm_eval_tasks, task):
    tables, lm_tasks = lm_eval_tasks
    table, theirs = tables[task], lm_tasks[task]
    docs = list(theirs.validation_docs())
    assert len(docs) == len(table) > 0
    template = get_suite_template(table.task)
    assert template.name == "lm-eval" and "lm-evaluation-harness 0.4.13" in template.source
    predictor = SuitePromptPredictor(table.task, backend=None, template=template)
    ours = predictor.requests(table)
    for i, doc in enumerate(docs):
        instances = theirs.construct_requests(doc, theirs.doc_to_text(doc), metadata=(task, i, 0))
        # lm-eval: one (context, target_delimiter + choice) per choice, in its choice order
        assert [inst.args for inst in instances] == \
            [(ours[i].context, c) for c in ours[i].continuations], f"{task} row {i}"


def test_every_task_has_a_second_template_that_renders(lm_eval_tasks):
    tables, _ = lm_eval_tasks
    for task, table in tables.items():
        names = list(suite_templates_for(table.task))
        assert names[0] == "lm-eval" and len(names) >= 2, task
        for name in names[1:]:
            template = get_suite_template(table.task, name)
            fields = prompt_fields(task, {f: table.inputs[f][0] for f in table.inputs})
            assert template.render(fields) and template.choice_texts(fields)


def test_wsc_gets_the_hubs_wsc_fixed_spans_in_exactly_the_8_val_rows(data_root, lm_eval_tasks):
    suite = load_suite("superglue")
    table = load_split(suite, suite.tasks["WSC"], "dev", data_root)
    changed = []
    for i in range(len(table)):
        row = {f: table.inputs[f][i] for f in table.inputs}
        fixed = wsc_fixed(row)
        diff = {k for k in fixed if fixed[k] != row[k]}
        if diff:
            changed.append(i)
            assert diff == {"span1_text"}
            before, after = row["span1_text"], fixed["span1_text"]
            # the official span is not in the text; the fixed one is, with "The" -> "the"
            assert before not in row["text"] and after in row["text"]
            assert before.startswith("The ") and after == "t" + before[1:]
    assert len(changed) == 8
    # and lm-eval's WSC prompt differs on those rows without the fix: it is what makes
    # the prompts (compared above on every row) equal
    _, lm_tasks = lm_eval_tasks
    theirs = lm_tasks["WSC"]
    docs = list(theirs.validation_docs())
    for i in changed:
        raw = {**docs[i], "span1_text": table.inputs["span1_text"][i]}
        assert theirs.doc_to_text(raw) != theirs.doc_to_text(docs[i])


class PrefersText:
    """A backend whose log-likelihood of a continuation is 0 when it contains ``text`` and
    -1 otherwise: it makes the chosen continuation known, to check what it predicts."""

    def __init__(self, text):
        self.text = text

    def loglikelihoods(self, requests: list[Request], progress=None) -> np.ndarray:
        return np.array([[0.0 if self.text(r, c) else -1.0 for c in r.continuations]
                         for r in requests])


def test_multirc_yes_predicts_a_correct_answer_where_lm_eval_scores_it_as_incorrect(
        lm_eval_tasks):
    tables, lm_tasks = lm_eval_tasks
    table = tables["MultiRC"]
    template = get_suite_template(table.task)
    says_yes = PrefersText(lambda r, c: c.endswith("Is the answer correct? yes"))
    pred = SuitePromptPredictor(table.task, says_yes, template).predict(table)
    assert (pred.chosen == 0).all()                       # "... yes" is lm-eval's choice 0
    assert (pred.values == table.task.labels.index("1")).all()   # ours: a correct answer
    # lm-eval's own gold for a correct answer (label 1) is its choice 1, "... no"
    theirs = lm_tasks["MultiRC"]
    docs = list(theirs.validation_docs())
    correct = [d for d in docs if d["label"] == 1]
    assert correct
    for doc in correct:
        assert theirs.doc_to_choice(doc)[theirs.doc_to_target(doc)].endswith("correct? no")


def test_record_predicts_the_chosen_entitys_text_and_copa_the_chosen_alternative(
        lm_eval_tasks):
    tables, _ = lm_eval_tasks
    record = tables["ReCoRD"]
    template = get_suite_template(record.task)
    for i in range(len(record)):
        query = record.inputs["query"][i]
        wanted = sorted(set(record.answers[i]))[0]
        # lm-eval's choice for an entity: "  - " + the query with the entity in its place
        target = "   - " + query.replace("@placeholder", wanted)
        backend = PrefersText(lambda r, c, t=target: c == t)
        one = ExampleTable(record.task, record.split, record.source, record.ids[i:i + 1],
                           {k: v[i:i + 1] for k, v in record.inputs.items()}, None,
                           record.answers[i:i + 1], {})
        assert SuitePromptPredictor(record.task, backend, template).predict(one).values \
            == [wanted]
    copa = tables["COPA"]
    second = PrefersText(lambda r, c: c == r.continuations[1])
    pred = SuitePromptPredictor(copa.task, second, get_suite_template(copa.task)).predict(copa)
    assert (pred.values == copa.task.labels.index("1")).all()


def test_demonstrations_come_from_fewglue_train_and_show_the_gold_choice(data_root):
    fewglue = load_suite("fewglue")
    for task in ("CB", "MultiRC", "ReCoRD"):
        pool = load_split(fewglue, fewglue.tasks[task], "train", data_root)
        template = get_suite_template(pool.task)
        demos = draw_demos(pool, template, 3, seed=1)
        assert demos == draw_demos(pool, template, 3, seed=1) != draw_demos(pool, template, 3, 2)
        for demo in demos:
            row = int(np.flatnonzero(pool.ids == demo["index"])[0])
            fields = prompt_fields(task, demo["inputs"])
            shown = template.prediction(pool.task, fields, demo["choice"])
            if task == "ReCoRD":
                assert shown in pool.answers[row]
            else:
                assert shown == pool.labels[row]


def reference_loglikelihood(backend, context: str, continuation: str) -> float:
    """log p(continuation | context) from one plain forward pass of the whole string, the
    continuation's tokens found as lm-eval finds them (encode(whole) minus encode(context))."""
    import torch

    context, continuation = (context[:len(context.rstrip())],
                             context[len(context.rstrip()):] + continuation)
    tokenizer = backend.tokenizer
    ctx = tokenizer(context)["input_ids"]
    whole = tokenizer(context + continuation)["input_ids"]
    with torch.inference_mode():
        logits = backend.model(torch.tensor([whole])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return float(sum(logprobs[p - 1, whole[p]] for p in range(len(ctx), len(whole))))


@pytest.mark.slow
def test_smollm2_chooses_what_plain_forward_passes_score_highest(lm_eval_tasks, smollm2):
    """The embedded SmolLM2 on one row of every task (ReCoRD's: the query with the fewest
    candidate entities, choices of unequal length scored over a shared passage prefix): each
    row's log-likelihoods equal a plain full forward pass per choice, so the chosen
    continuation is the same."""
    tables, _ = lm_eval_tasks
    for task, table in tables.items():
        if task == "ReCoRD":
            fewest = int(np.argmin([len(set(e)) for e in table.inputs["entities"]]))
            rows = table.take([fewest])
        else:
            rows = head(table, 1)
        predictor = SuitePromptPredictor(table.task, smollm2, get_suite_template(table.task))
        pred = predictor.predict(rows)
        for i, request in enumerate(predictor.requests(rows)):
            reference = [reference_loglikelihood(smollm2, request.context, c)
                         for c in request.continuations]
            np.testing.assert_allclose(pred.scores[i], reference, atol=2e-3, err_msg=task)
            assert pred.chosen[i] == int(np.argmax(reference)), task


def _score_of(run_cli, data_root, run_dir, suite="superglue"):
    import json

    out = run_dir.parent / f"{run_dir.name}-scored.json"
    code, _, err = run_cli("score", "--suite", suite, "--data-dir", str(data_root),
                           "--predictions", str(run_dir / "predictions" / "dev"),
                           "--json", str(out), "--resamples", "50")
    assert code == 0, err
    return json.loads(out.read_text())


def test_prompt_suite_writes_a_run_that_score_suite_reads(run_cli, data_root, tiny_llama,
                                                          tmp_path):
    """A tiny random-weight model (SmolLM2's tokenizer) on SuperGLUE's CB and COPA (all
    val rows: ``score --suite`` wants every id): official prediction files that it scores
    to the run's own numbers."""
    import json

    run = tmp_path / "run"
    code, out, err = run_cli("prompt", "--suite", "superglue", "--data-dir", str(data_root),
                             "--model", str(tiny_llama), "--tasks", "CB,COPA",
                             "--splits", "dev", "--calibrate",
                             "--resamples", "50", "-o", str(run), "--no-progress")
    assert code == 0, err
    results = json.loads((run / "results.json").read_text())
    assert results["suite"]["name"] == "superglue"
    assert set(results["tasks"]) == {"CB", "COPA"}
    for name in ("CB.jsonl", "COPA.jsonl"):
        assert (run / "predictions" / "dev" / name).is_file()
    scored = _score_of(run_cli, data_root, run)
    for name, entry in results["tasks"].items():
        assert scored["tasks"][name]["score"] == pytest.approx(entry["score"]), name
    assert "calibration_undefined" in results["tasks"]["COPA"]
    assert "calibrated" in results["tasks"]["CB"]


def test_prompt_fewglue_draws_demonstrations_from_fewglue_train(run_cli, data_root,
                                                                 tiny_llama, tmp_path):
    import json

    run = tmp_path / "run"
    code, _, err = run_cli("prompt", "--suite", "fewglue", "--data-dir", str(data_root),
                           "--model", str(tiny_llama), "--tasks", "WiC", "--shots", "2",
                           "--seeds", "1,2", "--splits", "dev", "--max-eval-examples", "4",
                           "--resamples", "50", "-o", str(run), "--no-progress")
    assert code == 0, err
    results = json.loads((run / "results.json").read_text())
    demos = results["training"]["WiC"]["prompt"]["demos"]
    fewglue = load_suite("fewglue")
    train_ids = set(load_split(fewglue, fewglue.tasks["WiC"], "train", data_root).ids.tolist())
    assert len(demos) == 2 and {d["index"] for d in demos} <= train_ids
    assert results["tasks"]["WiC"]["seeds"]["n"] == 2
    code, _, err = run_cli("prompt", "--suite", "superglue", "--data-dir", str(data_root),
                           "--model", str(tiny_llama), "--tasks", "WiC", "--shots", "2",
                           "-o", str(tmp_path / "no-train"))
    assert code == 2 and "no train file for WiC" in err and "Traceback" not in err


@pytest.mark.slow
def test_smollm2_prompt_suite_run_is_scored_by_score_suite(run_cli, data_root, smollm2,
                                                           tmp_path):
    """The embedded SmolLM2 0-shot with lm-eval's template on the first 16 CB val rows (a data
    folder holding them alone): the run's official CB.jsonl scores, under ``score --suite``,
    to the run's own number."""
    import json

    small = tmp_path / "data"
    (small / "superglue" / "CB").mkdir(parents=True)
    lines = (data_root / "superglue" / "CB" / "val.jsonl").read_text("utf-8").splitlines()
    (small / "superglue" / "CB" / "val.jsonl").write_text("\n".join(lines[:16]) + "\n", "utf-8")
    data_root = small
    run = tmp_path / "run"
    code, out, err = run_cli("prompt", "--suite", "superglue", "--data-dir", str(data_root),
                             "--tasks", "CB", "--splits", "dev", "--resamples", "50",
                             "-o", str(run), "--no-progress")
    assert code == 0, err
    results = json.loads((run / "results.json").read_text())
    assert results["training"]["CB"]["prompt"]["template"] == "lm-eval"
    scored = _score_of(run_cli, data_root, run)
    assert scored["tasks"]["CB"]["score"] == pytest.approx(results["tasks"]["CB"]["score"])
    assert scored["tasks"]["CB"]["n"] == 16
