"""``finetune --suite``: real (tiny) fine-tuning on FewGLUE for one task of each shape: WSC
(a pair with marked spans), COPA (multiple choice among fields), ReCoRD (ranking candidate
entities) and MultiRC (one decision per answer, regrouped) — scored by ``score --suite`` as
the run scored itself, resumed without re-training, and selected on dev32, never on val."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark.split_reader import load_split
from gluebench.benchmark.suite_loader import load_suite
from gluebench.benchmark.suite_submission import check_rows, expected_rows, parse_member
from gluebench.cli.main import main
from gluebench.runs.rundir import median_seed
from gluebench.shapes.framing import frame
from tests.conftest import real_data_missing, suite_data_roots

pytestmark = pytest.mark.real_data
TASKS = "WSC,COPA,ReCoRD,MultiRC"
SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def data_root() -> Path:
    for root in suite_data_roots():
        if (root / "fewglue" / "ReCoRD" / "train.jsonl").is_file() and \
                (root / "superglue" / "WSC" / "val.jsonl").is_file():
            return root
    real_data_missing("FewGLUE and SuperGLUE data not found")


def _finetune(tiny_model, data_root, out, *extra) -> tuple[int, str, str]:
    import contextlib
    import io

    args = ["finetune", "--suite", "fewglue", "--data-dir", str(data_root), "--tasks", TASKS,
            "--model", str(tiny_model), "-o", str(out), "--epochs", "1", "--batch-size", "8",
            "--max-train-examples", "8", "--max-seq-length", "32",
            "--seeds", ",".join(map(str, SEEDS)), "--resamples", "50", "--no-progress",
            "--learning-rate", "1e-3", *extra]
    out_text, err_text = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err_text):
        code = main(args)
    return code, out_text.getvalue(), err_text.getvalue()


@pytest.fixture(scope="module")
def tiny_suite_run(tiny_model, data_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("suite-ft") / "run"
    code, _, err = _finetune(tiny_model, data_root, out)
    assert code == 0, err
    return out


def _results(run: Path) -> dict:
    return json.loads((run / "results.json").read_text())


@pytest.mark.slow
def test_score_suite_reads_the_run_and_agrees_with_results_json(tiny_suite_run, data_root,
                                                                 run_cli, tmp_path):
    results = _results(tiny_suite_run)
    assert set(results["tasks"]) == {"WSC", "COPA", "MultiRC"}   # ReCoRD: no val file here
    code, _, err = run_cli("score", "--suite", "fewglue", "--data-dir", data_root,
                           "--predictions", tiny_suite_run / "predictions" / "dev",
                           "--resamples", "50", "--json", tmp_path / "score.json")
    assert code == 0, err
    scored = json.loads((tmp_path / "score.json").read_text())
    for name, entry in results["tasks"].items():
        assert scored["tasks"][name]["score"] == pytest.approx(entry["score"], abs=1e-9)
        assert "subsample" not in entry   # the whole val set, as the scorer reads it


@pytest.mark.slow
def test_test_files_pass_the_submission_checks(tiny_suite_run, data_root):
    """Each test file is what the FewGLUE zip's validator accepts (the whole zip needs ReCoRD's
    test file, which the shared data lacks)."""
    suite = load_suite("fewglue")
    for name in ("WSC", "COPA", "MultiRC"):
        entry = suite.entry(name)
        raw = (tiny_suite_run / "predictions" / "test" / entry.submission_file).read_bytes()
        rows, problems = parse_member(suite, entry, raw, entry.submission_file)
        expected = expected_rows(suite, entry, "test", data_root)
        assert not problems and not check_rows(rows, expected, entry.submission_file)
    # MultiRC is regrouped: one line per paragraph, with its questions and answers nested.
    first = json.loads((tiny_suite_run / "predictions" / "test" / "MultiRC.jsonl")
                       .read_text().splitlines()[0])
    assert "questions" in first["passage"] and "answers" in first["passage"]["questions"][0]


@pytest.mark.slow
def test_selection_is_the_median_seed_on_dev32(tiny_suite_run, data_root):
    results = _results(tiny_suite_run)
    units = [json.loads(p.read_text()) for p in (tiny_suite_run / "units").glob("*.json")]
    suite = load_suite("fewglue")
    for task in ("WSC", "COPA", "ReCoRD", "MultiRC"):
        mine = [u for u in units if u["task"] == task]
        assert len(mine) == len(SEEDS)
        dev32 = load_split(suite, suite.task(task), "dev32", data_root)
        for unit in mine:
            assert unit["selection"]["split"] == "dev32"
            assert unit["selection"]["n"] == len(dev32)
            assert unit["task_score"] == unit["selection"]["score"]  # dev32, not val
        chosen = results["selection"][task]
        assert chosen["split"] == "dev32" and chosen["rule"] == "median"
        assert chosen["per_seed"] == {str(u["seed"]): u["selection"]["score"] for u in mine}
        by_dev32 = sorted(mine, key=lambda u: (u["selection"]["score"], str(u["seed"])))
        assert chosen["selected"] == by_dev32[(len(mine) - 1) // 2]["seed"]
        assert chosen["selected"] == median_seed(mine)["seed"]
        assert results["training"][task]["selected_seed"] == chosen["selected"]
    # The run's promoted files are the chosen seed's.
    chosen = results["selection"]["COPA"]["selected"]
    promoted = tiny_suite_run / "predictions" / "dev" / "COPA.jsonl"
    assert promoted.read_bytes() == (tiny_suite_run / "seeds" / str(chosen) / "predictions"
                                     / "dev" / "COPA.jsonl").read_bytes()


@pytest.mark.slow
def test_each_shape_trains_its_head_and_predicts_its_values(tiny_suite_run, data_root):
    suite = load_suite("fewglue")
    config = lambda task: json.loads(  # noqa: E731
        (tiny_suite_run / "checkpoints" / task / f"seed-{SEEDS[0]}" / "config.json").read_text())
    assert config("COPA")["architectures"] == ["BertForMultipleChoice"]
    assert config("ReCoRD")["architectures"] == ["BertForMultipleChoice"]
    assert config("WSC")["architectures"] == ["BertForSequenceClassification"]
    units = {u["task"]: u for u in (json.loads(p.read_text())
                                    for p in (tiny_suite_run / "units").glob("*-seed1.json"))}
    assert units["COPA"]["shape"] == "choose" and units["WSC"]["shape"] == "classify"
    # Calibration reads (n, classes) probabilities beside the gold labels: classify and COPA.
    for name in ("WSC", "COPA", "MultiRC"):
        saved = np.load(tiny_suite_run / "outputs" / f"{name}.npz")
        assert saved["outputs"].shape == (len(saved["gold"]), 2)
        np.testing.assert_allclose(saved["outputs"].sum(axis=1), 1.0, rtol=1e-5)
    # ReCoRD ranks each query's candidate entities: each dev32 prediction is one of them.
    assert units["ReCoRD"]["train"]["examples"] <= 8
    dev32 = load_split(suite, suite.task("ReCoRD"), "dev32", data_root)
    written = (tiny_suite_run / "seeds" / str(SEEDS[0]) / "predictions" / "dev32"
               / "ReCoRD.jsonl").read_text().splitlines()
    candidates = dict(zip(dev32.ids.tolist(), dev32.inputs[
        next(s.list for s in suite.task("ReCoRD").spans if s.list)], strict=True))
    assert len(written) == len(dev32)
    for line in map(json.loads, written):
        assert line["label"] in {str(e) for e in candidates[line["idx"]]}


@pytest.mark.slow
def test_resume_skips_finished_units(tiny_model, tiny_suite_run, data_root, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_suite_run, run)
    (run / "units" / "COPA-seed2.json").unlink()
    before = {p.name: p.read_bytes() for p in (run / "units").glob("*.json")}
    code, _, err = _finetune(tiny_model, data_root, run)
    assert code == 0, err
    assert err.count("already done, skipped (resume)") == len(SEEDS) * 4 - 1
    assert "COPA seed 2:" in err and (run / "units" / "COPA-seed2.json").is_file()
    after = {p.name: p.read_bytes() for p in (run / "units").glob("*.json")}
    assert all(after[name] == data for name, data in before.items())   # untouched


def test_choice_scoring_equals_transformers_multiple_choice(tiny_model, data_root):
    """Options scored one at a time and gathered per row give the logits transformers'
    ``AutoModelForMultipleChoice`` gives on the (rows, choices, seq) tensor."""
    import torch
    from transformers import AutoModelForMultipleChoice, AutoTokenizer

    from gluebench.train.choice import choice_data, option_scorer

    suite = load_suite("fewglue")
    table = load_split(suite, suite.task("COPA"), "dev32", data_root).take(np.arange(6))
    framed = frame(table)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    torch.manual_seed(0)
    model = AutoModelForMultipleChoice.from_pretrained(tiny_model).eval()
    data = choice_data(tokenizer, framed, 32)
    batch = {k: torch.from_numpy(v) for k, v in data.batch(np.arange(len(table))).items()}
    with torch.no_grad():
        ours = option_scorer(model)(**batch).logits
        pairs = tokenizer(framed.first, framed.second, padding=True, return_tensors="pt")
        theirs = model(**{k: v.reshape(len(table), 2, -1) for k, v in pairs.items()}).logits
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_varying_option_counts_are_batched_without_padding_options():
    from gluebench.train.choice import ChoiceData, row_scores
    from gluebench.train.features import Encoded

    lengths = np.array([3, 2, 4, 1, 2, 5])          # 6 options: rows of 1, 3 and 2 options
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    data = ChoiceData(Encoded(np.arange(1, offsets[-1] + 1, dtype=np.int32), offsets, None, 0),
                      np.array([0, 1, 4, 6]), width=3)
    batch = data.batch(np.array([2, 0]))
    assert batch["input_ids"].shape == (3, 5)        # row 2's two options, row 0's one
    np.testing.assert_array_equal(batch["option_index"], [[0, 1, -1], [2, -1, -1]])
    np.testing.assert_array_equal(data.lengths, [3, 3 * 4, 2 * 5])
    logits = np.array([[1, 9, 9], [2, 3, 4], [5, 6, 9]], dtype=np.float32)
    np.testing.assert_array_equal(row_scores(logits, data), [1, 2, 3, 4, 5, 6])


def test_a_suite_without_training_files_is_one_error_line(run_cli, tmp_path, tiny_model):
    out = tmp_path / "run"
    code, _, err = run_cli("finetune", "--suite", "fewglue", "--data-dir", tmp_path / "empty",
                           "--tasks", "CB", "--model", tiny_model, "-o", out)
    assert code == 2 and err.startswith("error:") and "no training file" in err
    assert "CB" in err and "Traceback" not in err and not out.exists()


@pytest.mark.slow
def test_fewglue_on_the_hub_trains_on_the_full_super_glue_set(tiny_model, data_root, tmp_path,
                                                              run_cli):
    """``--data-dir hf:DIR`` (a local ``save_to_disk`` copy, never the network): FewGLUE's
    commands read the hub's ``super_glue`` sets, whose train is the full one, not 32 rows."""
    pytest.importorskip("datasets")
    from tests.test_suite_hub import save_config

    sg = data_root / "superglue" / "CB"
    # The stand-in "full" train set: CB's 56 val rows (more than FewGLUE's 32).
    save_config(tmp_path / "hub", "cb", {"train": sg / "val.jsonl",
                                         "validation": sg / "val.jsonl",
                                         "test": sg / "test.jsonl"})
    out = tmp_path / "run"
    code, _, err = run_cli("finetune", "--suite", "fewglue", "--data-dir", f"hf:{tmp_path / 'hub'}",
                           "--tasks", "CB", "--model", tiny_model, "-o", out, "--epochs", "1",
                           "--max-seq-length", "32", "--resamples", "50", "--no-progress")
    assert code == 0, err
    results = _results(out)
    unit = json.loads((out / "units" / "CB-seed1.json").read_text())
    assert unit["train"]["examples"] == 56 and unit["selection"] is None   # no dev32 there
    assert results["tasks"]["CB"]["n"] == 56 and results["selection"]["CB"]["split"] == "dev"
    assert len((out / "predictions" / "test" / "CB.jsonl").read_text().splitlines()) == 250


@pytest.mark.slow
def test_calibration_and_power_read_a_suite_run(tiny_suite_run, run_cli):
    from sklearn.metrics import brier_score_loss

    code, out, err = run_cli("calibration", tiny_suite_run, "--resamples", "200")
    assert code == 0, err
    doc = json.loads((tiny_suite_run / "analysis" / "quality.json").read_text())
    assert set(doc["entries"]) == {"WSC", "COPA", "MultiRC"}
    for name in ("WSC", "COPA"):
        saved = np.load(tiny_suite_run / "outputs" / f"{name}.npz")
        # our Brier sums over both classes: twice scikit-learn's binary Brier
        expected = 2 * brier_score_loss(saved["gold"], saved["outputs"][:, 1])
        assert doc["entries"][name]["calibration"]["brier"] == pytest.approx(expected)
    results = _results(tiny_suite_run)
    assert doc["power"]["entries"]["WSC"]["baseline"] == pytest.approx(
        results["tasks"]["WSC"]["score"])
    assert "MultiRC" not in doc["power"]["entries"]   # grouped: no group ids in outputs
    code, out, err = run_cli("power", tiny_suite_run, "--resamples", "200")
    assert code == 0, err
    assert "COPA" in out


@pytest.mark.slow
def test_evaluate_suite_predicts_what_the_run_predicted(tiny_suite_run, data_root, run_cli,
                                                        tmp_path):
    """`evaluate --suite` with the run directory loads each task's selected checkpoint with the
    head its shape needs and writes the very files the run promoted."""
    out = tmp_path / "eval"
    code, _, err = run_cli("evaluate", "--suite", "fewglue", "--data-dir", data_root,
                           "--tasks", "WSC,COPA", "--model", tiny_suite_run,
                           "--max-seq-length", "32", "--resamples", "50", "-o", out)
    assert code == 0, err
    for name in ("WSC.jsonl", "COPA.jsonl"):
        assert (out / "predictions" / "dev" / name).read_bytes() == \
            (tiny_suite_run / "predictions" / "dev" / name).read_bytes()
    results = _results(out)
    assert results["kind"] == "evaluate" and results["suite"]["name"] == "fewglue"
    assert results["tasks"]["COPA"]["score"] == _results(tiny_suite_run)["tasks"]["COPA"]["score"]


def test_evaluate_suite_without_a_model_is_one_error_line(data_root, run_cli, tmp_path):
    code, _, err = run_cli("evaluate", "--suite", "fewglue", "--data-dir", data_root,
                           "--tasks", "CB", "-o", tmp_path / "e")
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert "needs --model for CB" in err and not (tmp_path / "e").exists()
