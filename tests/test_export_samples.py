"""``gluebench export samples``: per-example JSONL of a classifier run and of a prompted run
(lm-evaluation-harness's ``--log_samples`` shape), checked against the run's own files, an
independent reading of the data, scikit-learn/scipy, and a re-scoring of the written prompts."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.metrics import accuracy_score

from gluebench.benchmark.sources import SAMPLE_DIR, open_source
from gluebench.formats.atomic import read_json
from gluebench.recipes import finetune
from gluebench.train.config import build_config


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def classifier_run(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    config = build_config(model=str(tiny_model), epochs=1, learning_rate=1e-3, batch_size=16,
                          max_seq_length=64, splits="dev", max_eval_examples=60)
    finetune(open_source("sample"), config, out, "RTE,STS-B", progress=False, n_resamples=20)
    return out


def test_classifier_samples_agree_with_the_run_and_the_data(classifier_run, run_cli, tmp_path):
    code, out, err = run_cli("export", "samples", classifier_run, "-o", tmp_path / "s")
    assert code == 0, err
    results = read_json(classifier_run / "results.json")
    rte = _jsonl(tmp_path / "s" / "RTE.jsonl")
    saved = np.load(classifier_run / "outputs" / "RTE.npz")
    assert [r["id"] for r in rte] == saved["index"].tolist() and len(rte) == 60
    assert np.allclose([[r["probabilities"][k] for k in ("entailment", "not_entailment")]
                        for r in rte], saved["outputs"])
    # Inputs and gold labels read independently from the sample's dev file (by row number).
    with open(SAMPLE_DIR / "RTE" / "dev.tsv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    for r in rte:
        row = rows[r["id"]]
        assert (r["inputs"]["sentence1"], r["inputs"]["sentence2"], r["gold"]) == tuple(row[1:4])
    assert accuracy_score([r["gold"] for r in rte], [r["prediction"] for r in rte]) == \
        pytest.approx(results["tasks"]["RTE"]["accuracy"])
    assert all(r["correct"] == (r["gold"] == r["prediction"]) for r in rte)
    stsb = _jsonl(tmp_path / "s" / "STS-B.jsonl")
    gold, pred = [r["gold"] for r in stsb], [r["prediction"] for r in stsb]
    assert pearsonr(gold, pred)[0] == pytest.approx(results["tasks"]["STS-B"]["pearson"])


def test_default_folder_is_inside_the_run(classifier_run, run_cli, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(classifier_run, run)
    code, out, _ = run_cli("export", "samples", run)
    assert code == 0
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["RTE.jsonl", "STS-B.jsonl"]


def test_not_a_run_is_one_line_and_writes_nothing(run_cli, tmp_path):
    code, out, err = run_cli("export", "samples", tmp_path, "-o", tmp_path / "s")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error:")
    assert "not a gluebench run directory" in err and not (tmp_path / "s").exists()


def test_an_edited_output_stops_the_export_before_any_file(classifier_run, run_cli, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(classifier_run, run)
    with np.load(run / "outputs" / "STS-B.npz") as z:
        arrays = dict(z)
    arrays["outputs"] = arrays["outputs"] + 1.0
    np.savez(run / "outputs" / "STS-B.npz", **arrays)
    code, _, err = run_cli("export", "samples", run, "-o", tmp_path / "s")
    assert code == 2 and err.count("\n") == 1 and "STS-B.npz" in err
    assert not (tmp_path / "s").exists()    # RTE's file, built first, was not written either


def test_other_data_than_the_runs_is_refused(classifier_run, run_cli, tmp_path, glue_dir):
    code, _, err = run_cli("export", "samples", classifier_run, "-o", tmp_path / "s",
                           "--data-dir", glue_dir)
    assert code == 2 and "differ from the run's" in err and not (tmp_path / "s").exists()


@pytest.mark.slow
def test_prompted_samples_have_lm_eval_shape_and_rescore(tmp_path_factory, tiny_lm, tiny_llama,
                                                        run_cli, tmp_path):
    from lm_eval.utils import hash_string

    from gluebench.lm.requests import Request

    run = tmp_path_factory.mktemp("prompt") / "run"
    code, _, err = run_cli("prompt", "--model", tiny_llama, "--data-dir", "sample", "--tasks",
                           "RTE", "-o", run, "--shots", "2", "--splits", "dev",
                           "--max-eval-examples", "8", "--resamples", "20", "--no-progress")
    assert code == 0, err
    code, _, err = run_cli("export", "samples", run, "-o", tmp_path / "s")
    assert code == 0, err
    lines = _jsonl(tmp_path / "s" / "RTE.jsonl")
    saved = np.load(run / "outputs" / "RTE.npz")
    assert len(lines) == 8
    for line, index, ll in zip(lines, saved["index"], saved["loglikelihoods"], strict=True):
        assert {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter",
                "metrics", "acc", "doc_hash", "prompt_hash", "target_hash"} <= set(line)
        assert line["doc_id"] == index and line["doc"]["idx"] == index
        assert [c for _, c in line["arguments"]] == [" True", " False"]
        assert np.allclose([r[0] for r in line["filtered_resps"]], ll)
        assert line["resps"] == [[r] for r in line["filtered_resps"]]
        assert line["acc"] == float(int(np.argmax(ll)) == line["target"])
        assert line["prompt_hash"] == hash_string(line["arguments"][0][0])
        assert line["doc_hash"] == hash_string(json.dumps(line["doc"], indent=2,
                                                          ensure_ascii=False))
        assert line["target_hash"] == hash_string(str(line["target"]))
    # The written prompts are the ones that were scored: the model gives them the same values.
    first = lines[0]
    again = tiny_lm.loglikelihoods([Request(first["arguments"][0][0],
                                            tuple(c for _, c in first["arguments"]))])
    assert np.allclose(again[0], [r[0] for r in first["filtered_resps"]], atol=1e-4)
    assert first["arguments"][0][0].count("\nAnswer:") == 3    # two demonstrations, then it
    results = read_json(run / "results.json")
    assert np.mean([x["acc"] for x in lines]) == pytest.approx(
        results["tasks"]["RTE"]["accuracy"])


def test_a_run_of_another_suite_is_refused_in_one_line(run_cli, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(
        {"suite": {"name": "superglue", "sha256": "0" * 64}, "tasks": {}}))
    code, _, err = run_cli("export", "samples", run)
    assert code == 2 and err.count("\n") == 1 and "suite 'superglue'" in err
    assert not (run / "samples").exists()
