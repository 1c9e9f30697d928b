"""Choosing the backend of a prompted run: a local model, or an OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

from gluebench.lm import hf_backend
from gluebench.lm.config import PromptConfig
from gluebench.lm.endpoint import EndpointBackend, check_endpoint
from gluebench.models.device import resolve_device

ENDPOINT_CACHE = "endpoint-cache.sqlite"


def check_backend(config: PromptConfig) -> None:
    """What ``make_backend`` would refuse, found before anything is written or loaded."""
    if config.endpoint:
        check_endpoint(config.endpoint, config.api_key_env)
        return
    hf_backend.resolve_model(config.model, config.gguf_file)
    resolve_device(config.device)


def make_backend(config: PromptConfig, run_dir: str | Path):
    """The backend for ``config`` (the local model is loaded once per process)."""
    if config.endpoint:
        return EndpointBackend(config.endpoint, config.model, api_key_env=config.api_key_env,
                               cache_path=Path(run_dir) / ENDPOINT_CACHE,
                               concurrency=config.concurrency)
    ref = hf_backend.resolve_model(config.model, config.gguf_file)
    return hf_backend.HFBackend(ref, resolve_device(config.device), config.eval_batch_tokens)


def backend_for_run(results: dict, run_dir: str | Path, device: str = "auto"):
    """The backend a finished prompted run used, from its ``results.json``."""
    saved = dict(results.get("config") or {})
    fields = PromptConfig.__dataclass_fields__
    saved = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in fields}
    return make_backend(PromptConfig(**{**saved, "device": device}), run_dir)
