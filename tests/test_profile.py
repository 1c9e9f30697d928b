"""``gluebench.efficiency``: counts, sizes, FLOPs, timings, memory and int8/ONNX variants.

Most tests use the tiny 2-layer BERT saved as an SST-2 classifier (as ``finetune``
saves one: labels named), profiled on a few real examples of the bundled sample.
Expected values are computed independently of the profiler.
"""

from __future__ import annotations

import json
import mmap
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gluebench.benchmark.scoring import evaluation_examples, score_entry
from gluebench.benchmark.sources import sample_source
from gluebench.benchmark.tasks import BENCHMARKS, get_task
from gluebench.efficiency import memory, profile, variants
from gluebench.efficiency.tables import profile_tables
from gluebench.models import hf
from gluebench.train import features

SCHEMA = {
    "schema_version", "kind", "model", "model_path", "task", "environment", "examples",
    "mean_tokens", "parameters", "size_on_disk_bytes", "flops_per_example", "latency_ms",
    "throughput", "peak_memory_bytes", "variants",
}
NESTED = {
    "environment": {"device", "device_name", "threads", "torch"},
    "parameters": {"total", "trainable"},
    "size_on_disk_bytes": {"weights", "folder"},
    "flops_per_example": {"counted", "counted_at_128", "formula", "formula_at_128", "tokens",
                          "method", "formula_source"},
    "latency_ms": {"batch_size", "p50", "p95", "repeats"},
    "throughput": {"best_batch_size", "examples_per_second", "by_batch_size"},
    "peak_memory_bytes": {"value", "baseline", "method"},
}
VARIANT_KEYS = {"name", "score", "metric", "agreement", "latency_ms_p50", "latency_ms_p95",
                "examples_per_second", "size_bytes"}
BATCH_SIZES = (1, 4, 16, 64)


def _save_classifier(source: Path, folder: Path, task: str = "SST-2") -> Path:
    """``source`` with a new 2-label head, saved as a fine-tuned checkpoint would be."""
    import torch

    torch.manual_seed(0)
    ref = hf.resolve_model(str(source))
    model, _ = hf.load_classifier(ref, 2, task=get_task(task))
    model.save_pretrained(folder)
    hf.load_tokenizer(ref).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_sst2(tiny_model, tmp_path_factory) -> Path:
    return _save_classifier(tiny_model, tmp_path_factory.mktemp("tiny-sst2"))


@pytest.fixture(scope="module")
def dev24():
    examples = evaluation_examples(sample_source(), BENCHMARKS["SST-2"], "dev")
    return examples.subsample(24, seed=0)


@pytest.fixture(scope="module")
def doc(tiny_sst2, dev24) -> dict:
    return profile.profile_model(str(tiny_sst2), examples=dev24, repeats=5,
                                 batch_sizes=BATCH_SIZES, int8=True, onnx=True,
                                 min_seconds=0.02)


def _independent_formula(config, length: int) -> float:
    """Kaplan et al. (2020) Table 1 from the config: N = 2·d·n_layer·(2·d_attn + d_ff)."""
    d, layers, ff = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    n = 2 * d * layers * (2 * d + ff)
    return 2 * n * length + 2 * layers * length * length * d


def _matmul_flops(config, length: int, labels: int = 2) -> int:
    """Every matmul of a BERT classifier over one sequence, 2 FLOPs per multiply-add."""
    d, ff = config.hidden_size, config.intermediate_size
    per_layer = 2 * length * d * (4 * d + 2 * ff) + 2 * 2 * length * length * d
    return config.num_hidden_layers * per_layer + 2 * d * d + 2 * d * labels


@pytest.mark.slow
def test_document_has_every_key_and_serialises(doc):
    assert SCHEMA <= set(doc)
    for key, keys in NESTED.items():
        assert keys <= set(doc[key]), key
    assert doc["schema_version"] == 1 and doc["kind"] == "profile" and doc["task"] == "SST-2"
    assert [v["name"] for v in doc["variants"]] == ["fp32", "int8-dynamic", "onnxruntime"]
    for row in doc["variants"]:
        assert VARIANT_KEYS <= set(row), row
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc


def test_parameters_and_sizes_are_counted_independently(doc, tiny_sst2):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(tiny_sst2)
    total = sum(p.numel() for p in model.parameters())
    assert doc["parameters"] == {"total": total, "trainable": total}
    weights = os.path.getsize(tiny_sst2 / "model.safetensors")
    folder = sum(os.path.getsize(Path(root, f)) for root, _, files in os.walk(tiny_sst2)
                 for f in files)
    assert doc["size_on_disk_bytes"] == {"weights": weights, "folder": folder}
    assert doc["variants"][0]["size_bytes"] == weights


def test_trainable_comes_from_the_caller(tiny_sst2, dev24):
    out = profile.profile_model(str(tiny_sst2), examples=dev24.subsample(4, 0), repeats=2,
                                batch_sizes=(4,), trainable=1234, min_seconds=0)
    assert out["parameters"]["trainable"] == 1234
    assert out["examples"] == 4 and out["throughput"]["by_batch_size"].keys() == {"4"}


def test_timings_are_consistent(doc):
    latency, tput = doc["latency_ms"], doc["throughput"]
    assert 0 < latency["p50"] <= latency["p95"] and latency["repeats"] == 5
    assert set(tput["by_batch_size"]) == {"1", "4", "16", "24"}  # 64 capped at 24 examples
    assert all(rate > 0 for rate in tput["by_batch_size"].values())
    assert str(tput["best_batch_size"]) in tput["by_batch_size"]
    assert tput["examples_per_second"] == max(tput["by_batch_size"].values())
    memory_ = doc["peak_memory_bytes"]
    assert memory_["value"] >= memory_["baseline"] > 0 and memory_["method"]


def test_fp32_score_matches_independent_scoring(doc, tiny_sst2, dev24):
    import torch

    ref = hf.resolve_model(str(tiny_sst2))
    model, _ = hf.load_classifier(ref)
    encoded = features.encode(hf.load_tokenizer(ref), dev24, 128)
    with torch.inference_mode():
        logits = np.concatenate([model(**{k: torch.from_numpy(v) for k, v in
                                          encoded.batch(np.array([i])).items()}).logits.numpy()
                                 for i in range(len(encoded))])
    perm = hf.label_permutation(get_task("SST-2"), model.config.id2label)
    expected = score_entry(BENCHMARKS["SST-2"], dev24, perm[logits.argmax(1)])["score"]
    fp32 = doc["variants"][0]
    assert fp32["score"] == pytest.approx(expected) and fp32["metric"] == "accuracy"
    assert fp32["agreement"] == 1.0


def test_int8_variant_is_smaller_and_agrees(doc):
    fp32, int8 = doc["variants"][0], doc["variants"][1]
    assert int8["score"] is not None and int8["metric"] == "accuracy"
    assert int8["size_bytes"] < fp32["size_bytes"]
    assert int8["agreement"] >= 0.9
    assert 0 < int8["max_logit_difference"] < 0.1


def test_onnx_variant_matches_pytorch(doc):
    fp32, ort = doc["variants"][0], doc["variants"][2]
    assert ort["score"] == pytest.approx(fp32["score"]) and ort["agreement"] == 1.0
    assert ort["max_logit_difference"] < 1e-3 and ort["size_bytes"] > 0


def test_onnx_export_logits_match_on_sentence_pairs(tiny_sst2, tmp_path):
    """RTE pairs: token type ids matter, and lengths differ from the export's sample."""
    ref = hf.resolve_model(str(tiny_sst2))
    model, _ = hf.load_classifier(ref)
    rte = evaluation_examples(sample_source(), BENCHMARKS["RTE"], "dev").subsample(6, 0)
    encoded = features.encode(hf.load_tokenizer(ref), rte, 128)
    assert encoded.token_types is not None
    path = variants.export_onnx(model, tmp_path / "m.onnx", encoded.batch(np.array([0])))
    ort = variants.onnx_forward(path, ["CPUExecutionProvider"], 1)
    pt = variants.torch_forward(model, "cpu")
    batch = encoded.batch(np.arange(len(encoded)))
    np.testing.assert_allclose(ort(batch), pt(batch), atol=1e-3)
    single = encoded.batch(np.array([3]))
    np.testing.assert_allclose(ort(single), pt(single), atol=1e-3)


@pytest.mark.slow
def test_dynamo_exporter_is_the_fallback(tiny_sst2, tmp_path, monkeypatch):
    import torch

    export = torch.onnx.export

    def no_torchscript(*args, **kwargs):
        if not kwargs.get("dynamo", True):
            raise RuntimeError("the TorchScript exporter is gone")
        return export(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", no_torchscript)
    ref = hf.resolve_model(str(tiny_sst2))
    model, _ = hf.load_classifier(ref)
    sst = evaluation_examples(sample_source(), BENCHMARKS["SST-2"], "dev").subsample(5, 0)
    encoded = features.encode(hf.load_tokenizer(ref), sst, 128)
    path = variants.export_onnx(model, tmp_path / "m.onnx", encoded.batch(np.arange(2)))
    batch = encoded.batch(np.arange(len(encoded)))
    np.testing.assert_allclose(variants.onnx_forward(path, ["CPUExecutionProvider"], 1)(batch),
                               variants.torch_forward(model, "cpu")(batch), atol=1e-3)


def test_out_of_memory_ends_the_sweep():
    import torch

    lengths = np.array([3, 5, 4, 2, 6, 3, 4, 5])
    encoded = features.Encoded(np.ones(lengths.sum(), np.int32),
                               np.concatenate([[0], np.cumsum(lengths)]), None, 0)

    def forward(batch):
        if len(batch["input_ids"]) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return np.zeros((len(batch["input_ids"]), 2), np.float32)

    result, logits = profile.throughput(forward, encoded, (1, 2, 4, 8), min_seconds=0)
    assert set(result["by_batch_size"]) == {"1", "2"} and result["out_of_memory_at"] == 4
    assert logits.shape == (8, 2)


def test_counted_flops_equal_the_matmuls_and_are_near_kaplan(tiny_sst2):
    model, _ = hf.load_classifier(hf.resolve_model(str(tiny_sst2)))
    length = 32
    batch = {"input_ids": np.full((1, length), 1000, np.int64),
             "attention_mask": np.ones((1, length), np.int64)}
    counted = profile.counted_flops(model, batch, "cpu")
    assert counted == _matmul_flops(model.config, length)  # attention included
    formula = _independent_formula(model.config, length)
    assert 0.75 <= counted / formula <= 1.25
    c = model.config  # Kaplan's N: every parameter outside the embedding tables
    tables = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * c.hidden_size
    n = sum(p.numel() for p in model.parameters()) - tables
    expected = 2 * n * length + 2 * c.num_hidden_layers * length**2 * c.hidden_size
    assert profile.formula_flops(model, length) == expected
    # Biases, LayerNorms, pooler and head: 11% more than the weight matrices at width 32.
    assert profile.formula_flops(model, length) == pytest.approx(formula, rel=0.15)


def test_minilm_flops_near_kaplan(minilm_path):
    model, _ = hf.load_classifier(hf.resolve_model(str(minilm_path)), 2)
    length = 64
    batch = {"input_ids": np.full((2, length), 1000, np.int64),
             "attention_mask": np.ones((2, length), np.int64)}
    counted = profile.counted_flops(model, batch, "cpu") / 2
    assert counted == _matmul_flops(model.config, length)
    formula = _independent_formula(model.config, length)
    assert 0.75 <= counted / formula <= 1.25
    assert profile.formula_flops(model, length) == pytest.approx(formula, rel=0.03)


def test_flops_per_example_counts_real_lengths(doc, tiny_sst2, dev24):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_sst2)
    ref = hf.resolve_model(str(tiny_sst2))
    lengths = features.encode(hf.load_tokenizer(ref), dev24, 128).lengths
    flops = doc["flops_per_example"]
    assert flops["counted"] == pytest.approx(np.mean([_matmul_flops(config, n) for n in lengths]))
    assert flops["counted_at_128"] == _matmul_flops(config, 128)
    assert flops["tokens"] == pytest.approx(lengths.mean()) == doc["mean_tokens"]
    assert flops["counted_over_formula"] == pytest.approx(flops["counted"] / flops["formula"])


def test_onnx_missing_is_a_reason_not_a_traceback(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    row = profile.onnx_variant(None, "cpu", None, 1, 1, None)
    assert row == {"name": "onnxruntime", "skipped": variants.ONNX_MISSING}


def test_int8_on_cuda_is_skipped_with_a_reason():
    row = profile.int8_variant(None, "cuda", None, 1, 1, None)
    assert row["name"] == "int8-dynamic" and "CPU only" in row["skipped"]


@pytest.mark.parametrize("sampled", [False, True])
def test_peak_memory_sees_an_allocation(monkeypatch, sampled):
    if sampled:
        monkeypatch.setattr(memory, "_reset_peak_rss", lambda: False)
    with memory.PeakMemory("cpu") as peak:
        # 64 MiB of fresh pages: a plain malloc may reuse memory an earlier test freed, which
        # is already resident in a long test session, so map new memory and touch it.
        block = mmap.mmap(-1, 64 * 2**20)
        np.frombuffer(block, dtype=np.uint8)[:] = 1
        time.sleep(0.3)   # the sampling thread must get a turn, even on a loaded machine
        block.close()
    result = peak.result()
    assert ("psutil" in result["method"]) == sampled
    assert 56 * 2**20 <= result["increase"] <= 200 * 2**20


def test_unscored_profile_uses_the_bundled_sample(tiny_model):
    out = profile.profile_model(str(tiny_model), repeats=2, batch_sizes=(32,), min_seconds=0)
    assert out["task"] is None and out["examples"] > 0
    assert out["variants"][0]["score"] is None


def test_tables_render(doc):
    from rich.console import Console

    console = Console(record=True, width=200)
    for table in profile_tables(doc):
        console.print(table)
    text = console.export_text()
    for word in ("FLOPs / example", "peak memory", "int8-dynamic", "onnxruntime", "accuracy"):
        assert word in text
