"""An OpenAI-compatible ``/v1/completions`` server as a backend (vLLM, TGI, llama.cpp, ...).

* ``ll``: the prompt with each continuation, ``echo: true, logprobs: 1, max_tokens: 1``
  (as lm-eval's ``local-completions``); the continuation's log-likelihood is the sum of the
  echoed ``token_logprobs`` whose ``text_offset`` falls at or after the end of the context.
  Only servers that echo prompt log-probabilities can do this (vLLM does; OpenAI's hosted
  models and most others do not).
* ``first_token``: the prompt alone, ``max_tokens: 1, logprobs: K``; a choice scores the
  best top-K token its continuation starts with (leading whitespace ignored).
* ``generate``: greedy text, ``temperature: 0``, stopped at a newline.

Requests run ``concurrency`` at a time, are retried with exponential backoff on 429 and
5xx (``Retry-After`` honoured), and every response is kept in an SQLite cache, so an
interrupted run resumes without paying for a request twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gluebench.errors import GlueBenchError, UsageError
from gluebench.lm.requests import Request, split_trailing_space

RETRY_STATUS = {429, 500, 502, 503, 504}
CANNOT = ("a server that does not echo prompt log-probabilities (OpenAI's hosted models, "
          "llama.cpp, most non-vLLM servers) cannot do --scoring ll; use first_token or generate")


class ResponseCache:
    """Responses by request body, in one SQLite file (safe across threads and restarts)."""

    def __init__(self, path: str | Path | None):
        self.lock = threading.Lock()
        self.db = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path), check_same_thread=False)
            self.db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, "
                            "body TEXT NOT NULL)")

    @staticmethod
    def key(url: str, body: dict) -> str:
        return hashlib.sha256((url + json.dumps(body, sort_keys=True)).encode()).hexdigest()

    def get(self, key: str) -> dict | None:
        if self.db is None:
            return None
        with self.lock:
            row = self.db.execute("SELECT body FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, response: dict) -> None:
        if self.db is None:
            return
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)",
                            (key, json.dumps(response)))
            self.db.commit()


def completions_url(url: str) -> str:
    """``http://host:8000``, ``.../v1`` or ``.../v1/completions`` -> the completions URL."""
    url = url.rstrip("/")
    if url.endswith("/completions"):
        return url
    return url + ("/completions" if url.endswith("/v1") else "/v1/completions")


def check_endpoint(url: str, api_key_env: str | None) -> tuple[str, dict[str, str]]:
    """(completions URL, request headers), or the one-line reason they cannot be; no I/O, so
    the CLI calls it before the run folder exists."""
    completions = completions_url(url)
    if not completions.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint {url}: expected an http:// or https:// URL")
    headers = {"Content-Type": "application/json"}
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise UsageError(f"--api-key-env {api_key_env}: that environment variable is "
                             "not set")
        headers["Authorization"] = f"Bearer {key}"
    return completions, headers


class EndpointBackend:

    def __init__(self, url: str, model: str | None = None, *, api_key_env: str | None = None,
                 cache_path: str | Path | None = None, concurrency: int = 8,
                 max_retries: int = 6, backoff: float = 0.5, timeout: float = 120.0):
        self.url, self.headers = check_endpoint(url, api_key_env)
        self.model = model
        self.cache = ResponseCache(cache_path)
        self.concurrency, self.max_retries = concurrency, max_retries
        self.backoff, self.timeout = backoff, timeout
        self.stats = {"requests": 0, "cached": 0, "retries": 0}
        self._stats_lock = threading.Lock()
        self.description = f"{model or 'served model'} at {self.url}"

    # ---- HTTP ------------------------------------------------------------------------------

    def _served_model(self) -> str:
        if self.model is None:
            models = self._call(self.url.rsplit("/completions", 1)[0] + "/models", None)
            self.model = models["data"][0]["id"]
            self.description = f"{self.model} at {self.url}"
        return self.model

    def complete(self, body: dict) -> dict:
        """One completion, from the cache or the server."""
        body = {"model": self._served_model(), **body}
        key = self.cache.key(self.url, body)
        cached = self.cache.get(key)
        if cached is not None:
            self._count("cached")
            return cached
        response = self._call(self.url, body)
        self.cache.put(key, response)
        return response

    def _call(self, url: str, body: dict | None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(url, data=data, headers=self.headers,
                                             method="GET" if body is None else "POST")
            try:
                self._count("requests")
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    return json.loads(reply.read())
            except urllib.error.HTTPError as exc:
                text = exc.read().decode("utf-8", "replace")[:300]
                if exc.code not in RETRY_STATUS or attempt == self.max_retries:
                    raise GlueBenchError(f"endpoint {url}: HTTP {exc.code} after "
                                         f"{attempt + 1} tries: {text}") from None
                wait = _retry_after(exc.headers.get("Retry-After"))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_retries:
                    raise GlueBenchError(f"endpoint {url}: {exc}") from None
                wait = None
            self._count("retries")
            time.sleep(wait if wait is not None else min(30.0, self.backoff * 2 ** attempt))
        raise AssertionError("unreachable")

    def _count(self, what: str) -> None:
        with self._stats_lock:
            self.stats[what] += 1

    def _map(self, bodies: list[dict], progress=None, per_item: int = 1) -> list[dict]:
        out: list = [None] * len(bodies)

        def one(i: int) -> None:
            out[i] = self.complete(bodies[i])

        self._served_model()   # once, before the threads
        with ThreadPoolExecutor(self.concurrency) as pool:
            for n, _ in enumerate(pool.map(one, range(len(bodies))), start=1):
                if progress is not None and n % per_item == 0:
                    progress.advance_inference(1)
        return out

    # ---- the three scoring modes -------------------------------------------------------------

    def loglikelihoods(self, requests: list[Request], progress=None) -> np.ndarray:
        pairs = [split_trailing_space(r.context, c) for r in requests for c in r.continuations]
        bodies = [{"prompt": ctx + cont, "max_tokens": 1, "temperature": 0, "echo": True,
                   "logprobs": 1} for ctx, cont in pairs]
        k = len(requests[0].continuations) if requests else 0
        replies = self._map(bodies, progress, per_item=k or 1)
        scores = [_continuation_logprob(r, len(ctx), len(ctx + cont))
                  for r, (ctx, cont) in zip(replies, pairs, strict=True)]
        return np.array(scores, dtype=np.float64).reshape(len(requests), k)

    def first_token(self, requests: list[Request], top_k: int, progress=None) -> np.ndarray:
        bodies = [{"prompt": r.context, "max_tokens": 1, "temperature": 0, "logprobs": top_k}
                  for r in requests]
        replies = self._map(bodies, progress)
        return np.array([_match_top(_top_logprobs(reply), r.continuations)
                         for reply, r in zip(replies, requests, strict=True)])

    def generate(self, contexts: list[str], max_tokens: int, progress=None) -> list[str]:
        bodies = [{"prompt": c, "max_tokens": max_tokens, "temperature": 0, "stop": ["\n"]}
                  for c in contexts]
        return [r["choices"][0]["text"].split("\n")[0] for r in self._map(bodies, progress)]


def _retry_after(value: str | None) -> float | None:
    try:
        return min(60.0, float(value)) if value else None
    except ValueError:
        return None


def _continuation_logprob(reply: dict, start: int, end: int) -> float:
    """Sum of the echoed prompt tokens' log-probs that begin in [start, end)."""
    logprobs = (reply.get("choices") or [{}])[0].get("logprobs") or {}
    offsets, values = logprobs.get("text_offset"), logprobs.get("token_logprobs")
    if not offsets or not values or offsets[-1] < start:
        raise UsageError(f"the endpoint returned no prompt log-probabilities: {CANNOT}")
    picked = [v for o, v in zip(offsets, values, strict=True) if start <= o < end]
    if not picked or any(v is None for v in picked):
        raise UsageError(f"the endpoint returned no log-probabilities for the answer: {CANNOT}")
    return float(sum(picked))


def _top_logprobs(reply: dict) -> dict[str, float]:
    logprobs = (reply.get("choices") or [{}])[0].get("logprobs") or {}
    top = logprobs.get("top_logprobs") or []
    if not top or top[0] is None:
        raise UsageError("the endpoint returned no top log-probabilities (logprobs), so it "
                         "cannot do --scoring first_token; use generate")
    return top[0]


def _match_top(top: dict[str, float], continuations: tuple[str, ...]) -> list[float]:
    """Each choice's best top-k token that its text starts with (whitespace ignored)."""
    out = []
    for cont in continuations:
        text = cont.lstrip()
        scores = [lp for token, lp in top.items()
                  if token.strip() and text.startswith(token.lstrip())]
        out.append(max(scores) if scores else -np.inf)
    return out
