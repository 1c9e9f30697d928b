"""Content hashes: files and JSON documents that prove they are whole and unchanged.

A run's markers (``run.json``, ``units/*.json``, ``results.json``) carry a ``checksum``
of their own content; the files a unit writes (predictions, outputs) are listed with
their sha256 in its marker. A truncated or edited file is then found on the next read
and reported in one line, instead of feeding a stale or wrong number into a score.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from gluebench.errors import DataError
from gluebench.formats.atomic import read_json, write_json

CHECKSUM_KEY = "checksum"
MEND = "start the run again with --overwrite"
_CHUNK = 1 << 20

# The files that hold a model's weights, in any of the formats transformers saves.
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")



def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def document_checksum(doc: dict) -> str:
    """sha256 of the document without its checksum, in a canonical JSON form."""
    body = {k: v for k, v in doc.items() if k != CHECKSUM_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_signed_json(path: str | os.PathLike, doc: dict) -> dict:
    """``write_json`` with the document's checksum added (atomic); returns what was written."""
    body = {k: v for k, v in doc.items() if k != CHECKSUM_KEY}
    # Round-trip first so the checksum is of exactly what a reader will parse.
    body = json.loads(json.dumps(body))
    signed = {**body, CHECKSUM_KEY: document_checksum(body)}
    write_json(path, signed)
    return signed


def read_signed_json(path: str | os.PathLike, *, what: str, mend: str | None = None) -> dict:
    """A signed document, or one ``DataError`` if it is unreadable, truncated or edited."""
    try:
        doc = read_json(path)
    except DataError as exc:
        raise DataError(path, f"{what} is damaged ({exc.message}); {mend or MEND}") from None
    expected = doc.get(CHECKSUM_KEY)
    if expected is None or expected != document_checksum(doc):
        raise DataError(path, f"{what} was changed or damaged after it was written "
                        f"(checksum mismatch); {mend or MEND}")
    return {k: v for k, v in doc.items() if k != CHECKSUM_KEY}


def verify_file(path: str | os.PathLike, expected: str | None, *, what: str,
                mend: str | None = None) -> None:
    """One ``DataError`` if ``path`` is missing or its content is not what was recorded."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, f"{what} is missing; {mend or MEND}")
    if expected is not None and sha256_file(path) != expected:
        raise DataError(path, f"{what} was changed or damaged after it was written "
                        f"(content hash mismatch); {mend or MEND}")


def model_fingerprint(ref) -> str:
    """A hash of a local model folder's config and weights; a hub model is its name.

    ``ref`` is a ``models.hf.ModelRef``: only its ``path`` (a folder or a hub name) is read.
    """
    folder = Path(ref.path)
    if not folder.is_dir():
        return f"hub:{ref.path}"
    digest = hashlib.sha256()
    for name in ("config.json", *WEIGHT_FILES):
        if (folder / name).is_file():
            digest.update(f"{name}:{_cached_file_hash(folder / name, sha256_file)}".encode())
    return digest.hexdigest()[:32]


_FILE_HASHES: dict[tuple, str] = {}


def _cached_file_hash(path: Path, hasher) -> str:
    """Hash each (path, size, mtime) once per process: weights are large and read often."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_HASHES:
        _FILE_HASHES[key] = hasher(path)
    return _FILE_HASHES[key]
