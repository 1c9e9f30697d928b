"""What one fine-tuned classifier costs to run, measured on real examples.

``profile_model`` loads a model folder and measures, on a set of real (tokenised,
unpadded) examples of a GLUE task:

* parameters: total, and trainable (as the caller knows it from the run; a reloaded
  checkpoint has every weight trainable);
* size on disk: the weight files (``*.safetensors``, ``*.bin``) and the whole folder;
* FLOPs per example, *counted* by ``torch.utils.flop_counter.FlopCounterMode`` over a
  forward pass of every example at its real length (grouped by length, so no padding
  is counted; matmuls and attention, a multiply-add counts 2) and at ``max_seq_length``,
  beside Kaplan et al.'s analytic estimate, 2·N·L + 2·n_layer·L²·d_model per example
  (N: non-embedding parameters). Kaplan's context term counts the attention logits QKᵀ
  only, not the weighted sum of values, so the count exceeds it a little at long lengths;
* latency at batch size 1: p50 and p95 over repeated single-example forwards after a
  warm-up, cycling through the examples;
* throughput: examples per second over the examples, length-sorted and padded per
  batch, at each batch size tried, after one untimed pass; the best is reported;
* peak memory during the throughput sweep: on CUDA ``torch.cuda.max_memory_allocated``;
  on a CPU the process's peak resident set size (see ``memory.PeakMemory``);
* optional variants (int8 dynamic quantisation, ONNX Runtime): latency, throughput at
  the original's best batch size, size, and the official dev score beside the
  original's, with the share of predictions that agree with it.

Every timing excludes tokenisation and includes moving inputs to the device and the
logits back. The result is a JSON-able dict (schema in ``profile_model``).
"""

from __future__ import annotations

import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from gluebench.about import SCHEMA_VERSION
from gluebench.benchmark.logits import predictions_from_logits
from gluebench.benchmark.scoring import evaluation_examples, score_entry
from gluebench.benchmark.sources import Examples, sample_source
from gluebench.benchmark.tasks import BENCHMARKS, Benchmark, Task, get_task
from gluebench.efficiency import variants
from gluebench.efficiency.memory import PeakMemory
from gluebench.errors import UsageError
from gluebench.models import hf
from gluebench.models.device import resolve_device
from gluebench.models.quantize import quantize_int8
from gluebench.train import features
from gluebench.train.loop import is_out_of_memory

DEFAULT_BATCH_SIZES = (1, 8, 32, 128, 512)
WEIGHT_PATTERNS = ("*.safetensors", "*.bin")
FLOP_METHOD = ("torch.utils.flop_counter.FlopCounterMode (matmul/attention ops; "
               "a multiply-add counts 2)")
FORMULA_SOURCE = ("Kaplan et al. 2020, Scaling Laws for Neural Language Models, Table 1: "
                  "2N + 2·n_layer·n_ctx·d_model per token")
REGRESSION_AGREEMENT = 0.1  # STS-B: predictions within 0.1 of the original's agree
SCORE_RESAMPLES = 1000


def profile_model(model_path: str, *, device: str = "cpu", examples: Examples | None = None,
                  task: Task | str | None = None, trainable: int | None = None,
                  repeats: int = 50, batch_sizes=DEFAULT_BATCH_SIZES, int8: bool = False,
                  onnx: bool = False, max_seq_length: int = 128, label_map=None,
                  min_seconds: float = 1.0, progress=None) -> dict:
    """Profile the classifier in ``model_path`` on ``examples`` (default: ``task``'s dev
    set in the bundled sample; without a task, SST-2's, unscored).

    A task (or ``examples``, whose task is used) scores every variant on the examples'
    labels with the entry's official metric (``score`` x100, as ``score_entry``).
    ``trainable``: the trainable parameters of the run (a reloaded model has all).
    ``min_seconds``: each throughput measurement repeats passes over the examples for
    at least this long. ``progress``: an optional callable taking one line of text.

    Returns a JSON-able dict: ``schema_version``, ``kind`` ("profile"), ``model``,
    ``model_path``, ``task``, ``environment``, ``examples``, ``mean_tokens``,
    ``parameters``, ``size_on_disk_bytes``, ``flops_per_example``, ``throughput``,
    ``peak_memory_bytes``, ``latency_ms`` and ``variants`` (fp32 first; a variant that
    cannot run here is ``{"name", "skipped": reason}``).
    """
    say = progress or (lambda _line: None)
    device = resolve_device(device)
    examples, task, scored = _inputs(examples, task)
    ref = hf.resolve_model(model_path)
    say(f"loading {ref.description}")
    model, _ = hf.load_classifier(ref)
    model.to(device).eval()
    encoded = features.encode(hf.load_tokenizer(ref), examples, max_seq_length)
    perm = hf.output_permutation(task, model, ref.path, label_map) if scored else None
    doc = _header(ref, model, device, task if scored else None, encoded, trainable)
    say("counting FLOPs")
    doc["flops_per_example"] = flops_per_example(model, encoded, max_seq_length, device)
    say("timing the fp32 model")
    logits = _time_original(doc, model, device, encoded, batch_sizes, repeats, min_seconds)
    grade = _grader(task, examples, perm, logits) if scored else None
    args = (model, device, encoded, doc["throughput"]["best_batch_size"], repeats, grade,
            min_seconds, logits)
    doc["variants"] = [_row("fp32", doc["latency_ms"], doc["throughput"]["examples_per_second"],
                            doc["size_on_disk_bytes"]["weights"], logits, grade)]
    for wanted, name, measure in ((int8, "int8 dynamic quantisation", int8_variant),
                                  (onnx, "ONNX Runtime", onnx_variant)):
        if wanted:
            say(name)
            doc["variants"].append(measure(*args))
    return doc


def _time_original(doc: dict, model, device: str, encoded, batch_sizes, repeats: int,
                   min_seconds: float) -> np.ndarray:
    """Throughput (with peak memory) and latency of the model as loaded; its logits."""
    forward = variants.torch_forward(model, device)
    with PeakMemory(device) as memory:
        doc["throughput"], logits = throughput(forward, encoded, batch_sizes, min_seconds)
    doc["peak_memory_bytes"] = memory.result()
    doc["latency_ms"] = latency(forward, encoded, repeats)
    return logits


def _inputs(examples: Examples | None, task) -> tuple[Examples, Task, bool]:
    """The examples to profile on, their task, and whether to score them."""
    scored = examples is not None or task is not None
    if isinstance(task, str):
        task = get_task(task)
    if examples is None:
        task = task or get_task("SST-2")
        examples = evaluation_examples(sample_source(), _benchmark(task, "dev"), "dev")
    if not len(examples):
        raise UsageError(f"no examples to profile on ({examples.source})")
    return examples, task or examples.task, scored and examples.labels is not None


def _benchmark(task: Task, split: str) -> Benchmark:
    """The leaderboard entry scored on ``split`` of ``task`` (MNLI's mismatched: MNLI-mm)."""
    entries = [b for b in BENCHMARKS.values() if b.task == task.name]
    return next((b for b in entries if b.dev == split), entries[0])


def _header(ref, model, device: str, task: Task | None, encoded, trainable) -> dict:
    total = sum(p.numel() for p in model.parameters())
    counted = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"schema_version": SCHEMA_VERSION, "kind": "profile", "model": ref.description,
            "model_path": ref.path, "task": task.name if task else None,
            "environment": environment(device), "examples": len(encoded),
            "mean_tokens": float(encoded.lengths.mean()) if len(encoded) else 0.0,
            "parameters": {"total": total,
                           "trainable": counted if trainable is None else int(trainable)},
            "size_on_disk_bytes": size_on_disk(ref.path)}


def environment(device: str) -> dict:
    import torch

    name = torch.cuda.get_device_name() if device == "cuda" else cpu_name()
    return {"device": device, "device_name": name, "threads": torch.get_num_threads(),
            "torch": torch.__version__}


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def size_on_disk(folder: str) -> dict:
    """Bytes of the weight files (``*.safetensors``, ``*.bin``) and of the whole folder."""
    root = Path(folder)
    weights = {p for pattern in WEIGHT_PATTERNS for p in root.glob(pattern) if p.is_file()}
    return {"weights": sum(p.stat().st_size for p in weights),
            "folder": variants.folder_bytes(root)}


# ---- FLOPs -----------------------------------------------------------------------------

def _sdpa_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query_shape, key_shape, value_shape)


def counted_flops(model, batch: dict[str, np.ndarray], device: str) -> int:
    """FLOPs of one forward over ``batch``, counted op by op.

    torch's counter knows the CUDA attention kernels; the CPU one (which SDPA attention
    lowers to) is added here, counting QKᵀ and the weighted sum of values.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    mapping = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_flops}
    inputs = {k: torch.from_numpy(v).to(device) for k, v in batch.items()}
    with torch.inference_mode(), FlopCounterMode(display=False, custom_mapping=mapping) as c:
        model(**inputs)
    return int(c.get_total_flops())


def nonembedding_parameters(model) -> int:
    """Parameters outside ``nn.Embedding`` tables (Kaplan's N)."""
    import torch

    embedded = sum(p.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding)
                   for p in m.parameters(recurse=False))
    return sum(p.numel() for p in model.parameters()) - embedded


def formula_flops(model, length: float) -> float:
    """Kaplan et al.'s forward FLOPs for one sequence of ``length`` tokens."""
    config = model.config
    layers = next(getattr(config, a) for a in ("num_hidden_layers", "n_layer", "num_layers")
                  if isinstance(getattr(config, a, None), int))
    return 2.0 * nonembedding_parameters(model) * length + \
        2.0 * layers * length * length * hf.hidden_size(model)


def flops_per_example(model, encoded, max_seq_length: int, device: str) -> dict:
    """Counted and formula FLOPs per example: mean over the examples, and at full length."""
    lengths = encoded.lengths
    total = sum(counted_flops(model, encoded.batch(np.flatnonzero(lengths == n)), device)
                for n in np.unique(lengths))
    full = encoded.batch(np.array([int(np.argmax(lengths))]), pad_to=max_seq_length)
    full = {k: v[:, :max_seq_length] for k, v in full.items()}
    full["attention_mask"][:] = 1  # every position attended: the cost of a full-length input
    counted = total / len(encoded)
    formula = float(np.mean([formula_flops(model, n) for n in lengths]))
    return {"counted": counted, "counted_at_128": float(counted_flops(model, full, device)),
            "formula": formula, "formula_at_128": formula_flops(model, max_seq_length),
            "counted_over_formula": counted / formula, "tokens": float(lengths.mean()),
            "length": max_seq_length, "method": FLOP_METHOD, "formula_source": FORMULA_SOURCE}


# ---- time ------------------------------------------------------------------------------

def latency(forward, encoded, repeats: int, warmup: int = 5) -> dict:
    """Milliseconds per single-example forward: p50 and p95 over ``repeats``."""
    batches = [encoded.batch(np.array([i % len(encoded)])) for i in range(repeats)]
    for batch in batches[:warmup]:
        forward(batch)
    times = []
    for batch in batches:
        start = time.perf_counter()
        forward(batch)  # returns host logits: synchronised
        times.append(1000.0 * (time.perf_counter() - start))
    return {"batch_size": 1, "p50": float(np.percentile(times, 50)),
            "p95": float(np.percentile(times, 95)), "repeats": repeats}


def timed_pass(forward, encoded, batch_size: int, min_seconds: float = 1.0):
    """Examples per second over every example in length-sorted batches, and the logits."""
    rows = features.inference_batches(encoded.lengths, batch_size, batch_size * 100_000)
    batches = [(r, encoded.batch(r)) for r in rows]
    for _, batch in batches:  # warm-up: the first call at each shape is slow (CPU kernels)
        forward(batch)
    logits, passes, start = None, 0, time.perf_counter()
    while passes == 0 or time.perf_counter() - start < min_seconds:
        for r, batch in batches:
            out = forward(batch)
            if logits is None:
                logits = np.empty((len(encoded), out.shape[1]), dtype=np.float32)
            logits[r] = out
        passes += 1
    return passes * len(encoded) / (time.perf_counter() - start), logits


def throughput(forward, encoded, batch_sizes, min_seconds: float = 1.0):
    """Examples per second at each batch size (capped at the number of examples).

    A batch size that runs out of memory ends the sweep (larger ones would too); it is
    reported as ``out_of_memory_at``.
    """
    sizes = sorted({min(int(b), len(encoded)) for b in batch_sizes})
    rates, best, best_logits, oom = {}, None, None, None
    for size in sizes:
        try:
            rate, logits = timed_pass(forward, encoded, size, min_seconds)
        except Exception as exc:  # noqa: BLE001 - re-raised unless out of memory
            if not is_out_of_memory(exc) or best is None:
                raise
            oom = size
            _free_memory()
            break
        rates[str(size)] = rate
        if best is None or rate > rates[str(best)]:
            best, best_logits = size, logits
    result = {"best_batch_size": best, "examples_per_second": rates[str(best)],
              "by_batch_size": rates}
    return result | ({"out_of_memory_at": oom} if oom else {}), best_logits


def _free_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ---- variants --------------------------------------------------------------------------

def _grader(task: Task, examples: Examples, perm, reference: np.ndarray):
    """Scores a variant's logits: official score, metric, agreement with the original."""
    benchmark = _benchmark(task, examples.split)
    original = predictions_from_logits(task, reference, perm)

    def grade(logits: np.ndarray) -> dict:
        values = predictions_from_logits(task, logits, perm)
        result = score_entry(benchmark, examples, values, n_resamples=SCORE_RESAMPLES)
        same = (np.abs(values - original) <= REGRESSION_AGREEMENT if task.is_regression
                else values == original)
        return {"score": result["score"], "metric": "/".join(benchmark.metrics),
                "score_ci": result["ci"].get("score"), "agreement": float(np.mean(same))}

    return grade


def _row(name: str, lat: dict, rate: float, size: int, logits, grade, reference=None) -> dict:
    graded = grade(logits) if grade else {"score": None, "metric": None, "agreement": None}
    row = {"name": name, **graded, "latency_ms_p50": lat["p50"], "latency_ms_p95": lat["p95"],
           "examples_per_second": rate, "size_bytes": int(size)}
    if reference is not None:
        row["max_logit_difference"] = float(np.abs(logits - reference).max())
        if grade is None:  # unscored: agreement of the raw outputs
            same = (np.abs(logits - reference)[:, 0] <= REGRESSION_AGREEMENT
                    if logits.shape[1] == 1 else logits.argmax(1) == reference.argmax(1))
            row["agreement"] = float(np.mean(same))
    return row


def int8_variant(model, device: str, encoded, batch_size: int, repeats: int, grade,
                 min_seconds: float = 1.0, reference=None) -> dict:
    """int8 dynamic quantisation of every ``nn.Linear`` (CPU only)."""
    if device != "cpu":
        return {"name": "int8-dynamic", "skipped": variants.INT8_CUDA}
    quantized = quantize_int8(model)
    forward = variants.torch_forward(quantized, "cpu")
    rate, logits = timed_pass(forward, encoded, batch_size, min_seconds)
    return _row("int8-dynamic", latency(forward, encoded, repeats), rate,
                variants.state_dict_bytes(quantized), logits, grade, reference)


def onnx_variant(model, device: str, encoded, batch_size: int, repeats: int, grade,
                 min_seconds: float = 1.0, reference=None) -> dict:
    """The model exported to ONNX and run by onnxruntime on ``device``."""
    import torch

    reason = variants.onnx_unavailable()
    providers = None if reason else variants.onnx_providers(device)
    if providers is None:
        return {"name": "onnxruntime", "skipped": reason or "onnxruntime has no "
                "CUDAExecutionProvider here: pip install onnxruntime-gpu"}
    with tempfile.TemporaryDirectory(prefix="gluebench-onnx-") as folder:
        sample = encoded.batch(np.arange(2) % len(encoded))
        try:
            path = variants.export_onnx(model, Path(folder) / "model.onnx", sample)
        except Exception as exc:  # noqa: BLE001 - a failed export is a reason, not a crash
            line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            return {"name": "onnxruntime", "skipped": f"ONNX export failed: {line}"}
        forward = variants.onnx_forward(path, providers, torch.get_num_threads())
        rate, logits = timed_pass(forward, encoded, batch_size, min_seconds)
        return _row("onnxruntime", latency(forward, encoded, repeats), rate,
                    variants.folder_bytes(folder), logits, grade, reference)
