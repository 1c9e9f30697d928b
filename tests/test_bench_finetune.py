"""benchmarks/bench_finetune.py: Trainer in its careful configurations, predictions in the
dataset's order, and a headline against the fastest Trainer configuration."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gluebench.benchmark.sources import load

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "bench_finetune.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_finetune", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_trainer_configurations_include_dynamic_padding_and_length_grouping(bench):
    setups = bench.TRAINER_SETUPS
    assert setups["trainer-run_glue"].pad_to_max_length
    assert not setups["trainer-dynamic"].pad_to_max_length
    grouped = setups["trainer-grouped"]
    assert not grouped.pad_to_max_length and grouped.sampling == "group_by_length"
    assert grouped.sorted_inference


def _trainer(model_path, tokenizer, sampling: str, folder: Path):
    from transformers import (
        AutoModelForSequenceClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(model_path, num_labels=2)
    args = TrainingArguments(output_dir=str(folder), per_device_eval_batch_size=8,
                             train_sampling_strategy=sampling, use_cpu=True, report_to=[],
                             disable_tqdm=True, save_strategy="no")
    return model, Trainer(model=model, args=args, processing_class=tokenizer,
                          data_collator=DataCollatorWithPadding(tokenizer))


@pytest.mark.slow
def test_length_grouped_trainer_predicts_in_the_datasets_order(bench, minilm_path, tmp_path):
    """Trainer.predict under group_by_length returns rows shuffled; the benchmark's does not."""
    from transformers import AutoTokenizer

    rte = load("RTE", "dev", "sample").subsample(40, seed=0)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    setup = bench.TRAINER_SETUPS["trainer-grouped"]
    dataset = bench.hf_dataset(tokenizer, rte, setup, with_labels=False)
    model, trainer = _trainer(minilm_path, tokenizer, setup.sampling, tmp_path)
    logits = bench.trainer_predict(trainer, dataset, setup)

    model.eval()
    with torch.inference_mode():
        expected = np.concatenate([
            model(**tokenizer(s1, s2, truncation=True, max_length=bench.MAX_SEQ_LENGTH,
                              return_tensors="pt")).logits.numpy()
            for s1, s2 in zip(rte.inputs["sentence1"], rte.inputs["sentence2"], strict=True)])
    assert np.ptp(expected[:, 0]) > 1e-2          # rows differ: a wrong order would show
    np.testing.assert_allclose(logits, expected, atol=1e-4)

    _, shuffled = _trainer(minilm_path, tokenizer, setup.sampling, tmp_path)
    naive = shuffled.predict(dataset).predictions
    assert not np.allclose(naive, expected, atol=1e-4)  # why the benchmark sorts by itself


def _run(train: float, infer: float, seconds: float = 10.0) -> dict:
    return {"train": {"examples_per_s": train, "seconds": seconds, "cpu_seconds": seconds},
            "infer_dev": {"examples_per_s": infer, "seconds": seconds, "cpu_seconds": seconds},
            "work_gflop": {"train": 58.0, "infer": 58.0}, "ceiling_gflops": 58.0,
            "wall_seconds": 30.0, "memory": {"peak_mib": 900.0},
            "dev": {"metrics": {"accuracy": 50.0}, "score": 50.0, "predictions": [0, 1]}}


def test_headline_is_against_the_fastest_trainer_in_each_phase(bench):
    # three rounds on a machine whose speed drifts; trainer-dynamic trains fastest,
    # trainer-grouped predicts fastest; ratios are medians of the per-round ratios
    runs = {"gluebench": [_run(100, 300), _run(50, 150), _run(120, 360)],
            "trainer-run_glue": [_run(10, 60, seconds=80.0)],  # a reference: round 1 only
            "trainer-dynamic": [_run(80, 100), _run(45, 50), _run(80, 120)],
            "trainer-grouped": [_run(70, 250), _run(40, 100), _run(70, 200)]}
    summary = bench.summarise(runs)
    best = bench.headline(summary)
    assert best["train"]["baseline"] == "trainer-dynamic"
    assert best["train"]["ratio"] == pytest.approx(100 / 80)         # 1.25, 1.11, 1.5
    assert best["infer"]["baseline"] == "trainer-grouped"
    assert best["infer"]["ratio"] == pytest.approx(1.5)              # 1.2, 1.5, 1.8
    assert summary["trainer-run_glue"]["ratio"]["train"] == pytest.approx(10.0)
    assert summary["trainer-run_glue"]["cpu_ratio"]["train"] == pytest.approx(8.0)
    assert summary["gluebench"]["of_ceiling"]["train"] == pytest.approx(58.0 / 10 / 58.0)
    assert bench.baseline_name(best) == "train:trainer-dynamic,infer:trainer-grouped"
    best["infer"]["baseline"] = "trainer-dynamic"
    assert bench.baseline_name(best) == "trainer-dynamic"


@pytest.mark.slow
def test_benchmark_runs_every_side_and_ends_with_the_speedup_line(bench, tiny_model, tmp_path):
    cmd = [sys.executable, str(SCRIPT), "--task", "WNLI", "--device", "cpu", "--data-dir",
           "sample", "--model", str(tiny_model), "--max-train-examples", "16", "--batch-size",
           "8", "--rounds", "1", "--sides", "gluebench,trainer-dynamic",
           "--out", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"speedup_train=(\d+\.\d\d) speedup_infer=(\d+\.\d\d) "
                         r"baseline=(\S+)", last)
    assert match, last
    result = json.loads((tmp_path / "cpu-WNLI.json").read_text())
    summary = result["summary"]
    # two sides: each is a process of its own (seconds of imports); trainer-grouped's own
    # test is test_length_grouped_trainer_predicts_in_the_datasets_order, the choice of the
    # fastest Trainer among several is test_headline_is_against_the_fastest_trainer_in_each_phase
    assert set(summary) == {"gluebench", "trainer-dynamic"}
    trainer = summary["trainer-dynamic"]   # the only Trainer side: the fastest in both phases
    assert float(match[1]) == pytest.approx(trainer["ratio"]["train"], abs=0.01)
    assert float(match[2]) == pytest.approx(trainer["ratio"]["infer"], abs=0.01)
    assert match[3] == bench.baseline_name(result["headline"])
    for side in summary.values():  # every side trained the same steps and scored the dev set
        assert len(side["dev"]["predictions"]) == 71
    assert {r[0]["train"]["steps"] for r in result["runs"].values()} == {2}
