"""A GGUF model converted once: its de-quantised weights, config and tokenizer kept on disk.

transformers reads a GGUF file by parsing all of its metadata (for SmolLM2-135M, the 49k-token
vocabulary) once for the config, once for the tokenizer and once more for the weights, which it
then de-quantises: about 28 s of a 2-core CPU before the first prompt is scored. What comes out
is an ordinary model, so it is saved as one (fp32 safetensors, ``config.json``, the
tokenizer's files) under ``$GLUEBENCH_GGUF_CACHE`` (default ``$GLUEBENCH_CACHE/gguf``; ``none``
keeps nothing), and later loads read that folder in seconds (about 540 MB for SmolLM2-135M).
The folder's name is a SHA-256 of the GGUF file's bytes and of the transformers version that
converted it (a newer reader may convert differently).

Writes are whole or nothing: the folder is built under a temporary name and renamed; a lock
file makes a second process wait for the first conversion instead of repeating it. Each file's
SHA-256 is recorded in ``manifest.json`` and checked on every load: a folder that does not match
(a truncated copy, a disk error) is reported in a warning, removed and converted again. The
weights are the de-quantised fp32 values themselves, so a model loaded from the folder computes
exactly what the GGUF load computes (tests/test_lm_gguf_cache.py checks it on SmolLM2).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from gluebench.errors import GlueBenchWarning
from gluebench.runs.cache import cache_root
from gluebench.runs.integrity import sha256_file

MANIFEST = "manifest.json"
OFF = "none"   # GLUEBENCH_GGUF_CACHE=none: convert on every load, keep nothing


def enabled() -> bool:
    return os.environ.get("GLUEBENCH_GGUF_CACHE", "").strip().lower() != OFF


def cache_dir() -> Path:
    return Path(os.environ.get("GLUEBENCH_GGUF_CACHE") or cache_root() / "gguf")


def folder_for(gguf_path: Path) -> Path:
    """Where the conversion of ``gguf_path`` by this transformers version lives."""
    import transformers

    digest = hashlib.sha256(f"transformers {transformers.__version__}\n".encode())
    digest.update(sha256_file(gguf_path).encode())
    return cache_dir() / digest.hexdigest()[:32]


def verified(folder: Path) -> bool:
    """True when ``folder`` holds every file its manifest lists, with the recorded bytes."""
    if not folder.is_dir():
        return False
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        good = all(sha256_file(folder / name) == sha for name, sha in manifest["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        good = False
    if not good:
        warnings.warn(f"converted model {folder}: its files do not match their manifest; "
                      "converting the GGUF file again", GlueBenchWarning, stacklevel=3)
        shutil.rmtree(folder, ignore_errors=True)
    return good


def lock(folder: Path):
    """A lock held while ``folder`` is converted (other processes wait, then read it)."""
    from filelock import FileLock

    folder.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder) + ".lock")


def save(folder: Path, model, tokenizer) -> None:
    """Write ``model`` (loaded from a GGUF file) and ``tokenizer`` as an ordinary model folder,
    atomically. transformers refuses to save a model it loaded from GGUF (its quantizer is
    marked not serialisable), though its weights are plain de-quantised tensors: the marker
    is set aside for the save and put back."""
    tmp = Path(tempfile.mkdtemp(prefix=".converting-", dir=folder.parent))
    try:
        quantizer, config_quant = _set_aside_gguf_marker(model)
        try:
            model.save_pretrained(tmp, safe_serialization=True)
        finally:
            _restore_gguf_marker(model, quantizer, config_quant)
        tokenizer.save_pretrained(tmp)
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        (tmp / MANIFEST).write_text(json.dumps({"files": files}, indent=1))
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _set_aside_gguf_marker(model):
    quantizer = getattr(model, "hf_quantizer", None)
    config_quant = getattr(model.config, "quantization_config", None)
    model.hf_quantizer = None
    if config_quant is not None:
        del model.config.quantization_config
    return quantizer, config_quant


def _restore_gguf_marker(model, quantizer, config_quant) -> None:
    model.hf_quantizer = quantizer
    if config_quant is not None:
        model.config.quantization_config = config_quant
