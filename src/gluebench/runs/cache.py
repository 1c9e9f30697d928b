"""The on-disk cache of derived arrays (token ids, sentence embeddings), verified on read.

Files live under ``$GLUEBENCH_CACHE`` (default ``~/.cache/gluebench``), one ``.npz``
per key, written atomically with a SHA-256 of their arrays' bytes. A file that cannot
be read, or whose arrays no longer match their hash (a truncated copy, a disk error),
is reported in a warning and treated as a miss: the caller recomputes and rewrites it.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np

from gluebench.errors import GlueBenchWarning
from gluebench.formats.atomic import atomic_write

HASH_KEY = "content_sha256"


def cache_root() -> Path:
    return Path(os.environ.get("GLUEBENCH_CACHE") or Path.home() / ".cache" / "gluebench")


def content_hash(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def save_verified(path: Path, arrays: dict[str, np.ndarray]) -> None:
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{HASH_KEY: np.array(content_hash(arrays))})
    atomic_write(path, buffer.getvalue())


def load_verified(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays in ``path``; None when absent, unreadable or not matching their hash."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        recorded = str(arrays.pop(HASH_KEY))
        if recorded == content_hash(arrays):
            return arrays
        problem = "its contents do not match their hash"
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        problem = f"it cannot be read ({type(exc).__name__})"
    warnings.warn(f"cache file {path}: {problem}; recomputing it", GlueBenchWarning,
                  stacklevel=3)
    return None
