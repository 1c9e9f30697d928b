"""An OpenAI-compatible ``/v1/completions`` server as a backend (vLLM, TGI, llama.cpp, ...).

* ``ll``: the prompt with each continuation, ``echo: true, logprobs: 1, max_tokens: 1``
  (as lm-eval's ``local-completions``); the continuation's log-likelihood is the sum of the
  echoed ``token_logprobs`` whose ``text_offset`` falls at or after the end of the context.
  Only servers that echo prompt log-probabilities can do this (vLLM does; OpenAI's hosted
  models and most others do not).
* ``first_token``: the prompt alone, ``max_tokens: 1, logprobs: K``; a choice scores the
  best top-K token its continuation starts with (leading whitespace ignored).
* ``generate``: greedy text, ``temperature: 0``, stopped at a newline.

Requests run ``concurrency`` at a time through ``transport`` (retries, a total deadline
per request, a cap on a reply's size), and every response is kept in an SQLite cache, so
an interrupted run resumes without paying for a request twice.

What a server sends is not trusted: a reply that is not JSON, is truncated or has another
shape, or holds a log-probability that is not a finite number, is one error naming the
request (task, example, choice). Only a reply that passed those checks enters the cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from gluebench.errors import GlueBenchError, UsageError
from gluebench.lm.requests import Request, split_trailing_space
from gluebench.lm.transport import Limits, fetch_json

CANNOT = ("a server that does not echo prompt log-probabilities (OpenAI's hosted models, "
          "llama.cpp, most non-vLLM servers) cannot do --scoring ll; use first_token or generate")


class ResponseCache:
    """Responses by request body, in one SQLite file (safe across threads and restarts).

    The file is created on the first write, so a backend can be built before a run exists.
    """

    def __init__(self, path: str | Path | None):
        self.lock = threading.Lock()
        self.path = None if path is None else Path(path)
        self.db = None

    def _open(self, create: bool) -> sqlite3.Connection | None:
        if self.db is None and self.path is not None and (create or self.path.is_file()):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), check_same_thread=False)
            self.db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, "
                            "body TEXT NOT NULL)")
        return self.db

    @staticmethod
    def key(url: str, body: dict) -> str:
        return hashlib.sha256((url + json.dumps(body, sort_keys=True)).encode()).hexdigest()

    def get(self, key: str) -> dict | None:
        with self.lock:
            db = self._open(create=False)
            row = None if db is None else db.execute(
                "SELECT body FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, response: dict) -> None:
        with self.lock:
            db = self._open(create=True)
            if db is not None:
                db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?)",
                           (key, json.dumps(response)))
                db.commit()


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
    parts = urllib.parse.urlsplit(completions)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--endpoint {url}: expected an http:// or https:// URL")
    try:
        port = parts.port
    except ValueError:         # not a number, or out of range
        port = 0
    if port == 0:
        raise UsageError(f"--endpoint {url}: the port is not a number in 1..65535")
    headers = {"Content-Type": "application/json"}
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise UsageError(f"--api-key-env {api_key_env}: that environment variable is "
                             "not set")
        headers["Authorization"] = f"Bearer {key}"
    return completions, headers


class EndpointBackend:
    """Log-likelihoods, top-k first tokens and generations from a completions server."""

    def __init__(self, url: str, model: str | None = None, *, api_key_env: str | None = None,
                 cache_path: str | Path | None = None, concurrency: int = 8,
                 max_retries: int = Limits.max_retries, backoff: float = Limits.backoff,
                 timeout: float = Limits.timeout, deadline: float = Limits.deadline,
                 max_response_bytes: int = Limits.max_bytes):
        self.url, self.headers = check_endpoint(url, api_key_env)
        self.model = model
        self.cache = ResponseCache(cache_path)
        self.concurrency = concurrency
        self.limits = Limits(deadline, timeout, max_response_bytes, max_retries, backoff)
        self.stats = {"requests": 0, "cached": 0, "retries": 0}
        self._stats_lock = threading.Lock()
        self.description = f"{model or 'served model'} at {self.url}"

    # ---- HTTP ------------------------------------------------------------------------------

    def _served_model(self) -> str:
        if self.model is None:
            url = self.url.rsplit("/completions", 1)[0] + "/models"
            self.model = _served_model_id(self._call(url, None, "the model list"))
            self.description = f"{self.model} at {self.url}"
        return self.model

    def complete(self, body: dict, parse: Callable[[dict], object] = lambda r: r,
                 what: str = "a request"):
        """``parse(reply)`` of one completion, from the cache or the server. ``parse`` checks
        the reply (raising ``GlueBenchError``); only a reply it accepts is cached."""
        body = {"model": self._served_model(), **body}
        key = self.cache.key(self.url, body)
        cached = self.cache.get(key)
        if cached is not None:
            try:
                value = parse(cached)
            except GlueBenchError:
                pass                 # cached by an older, less careful version: ask again
            else:
                self._count("cached")
                return value
        reply = self._call(self.url, body, what)
        value = parse(reply)
        self.cache.put(key, reply)
        return value

    def _call(self, url: str, body: dict | None, what: str) -> dict:
        data = None if body is None else json.dumps(body).encode()
        return fetch_json(url, data, self.headers, limits=self.limits, what=what,
                          count=self._count)

    def _count(self, what: str) -> None:
        with self._stats_lock:
            self.stats[what] += 1

    def _map(self, bodies: list[dict], parses: list[Callable], names: list[str],
             progress=None, per_item: int = 1) -> list:
        """Every body's parsed reply, ``concurrency`` at a time; the first error stops them."""
        out: list = [None] * len(bodies)
        self._served_model()   # once, before the threads
        pool = ThreadPoolExecutor(self.concurrency)
        try:
            futures = {pool.submit(self.complete, b, p, n): i
                       for i, (b, p, n) in enumerate(zip(bodies, parses, names, strict=True))}
            for done, future in enumerate(as_completed(futures), start=1):
                out[futures[future]] = future.result()
                if progress is not None and done % per_item == 0:
                    progress.advance_inference(1)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return out

    # ---- the three scoring modes -------------------------------------------------------------

    def loglikelihoods(self, requests: list[Request], progress=None) -> np.ndarray:
        cases = [(r, j, *split_trailing_space(r.context, c))
                 for r in requests for j, c in enumerate(r.continuations)]
        bodies = [{"prompt": ctx + cont, "max_tokens": 1, "temperature": 0, "echo": True,
                   "logprobs": 1} for _, _, ctx, cont in cases]
        names = [r.choice_name(j) for r, j, _, _ in cases]
        parses = [_ll_parser(len(ctx), len(ctx + cont), name)
                  for (_, _, ctx, cont), name in zip(cases, names, strict=True)]
        k = len(requests[0].continuations) if requests else 0
        scores = self._map(bodies, parses, names, progress, per_item=k or 1)
        return np.array(scores, dtype=np.float64).reshape(len(requests), k)

    def first_token(self, requests: list[Request], top_k: int, progress=None) -> np.ndarray:
        bodies = [{"prompt": r.context, "max_tokens": 1, "temperature": 0, "logprobs": top_k}
                  for r in requests]
        parses = [_first_token_parser(r) for r in requests]
        k = len(requests[0].continuations) if requests else 0
        return np.array(self._map(bodies, parses, [r.name for r in requests], progress),
                        dtype=np.float64).reshape(len(requests), k)

    def generate(self, contexts: list[str], max_tokens: int, progress=None) -> list[str]:
        bodies = [{"prompt": c, "max_tokens": max_tokens, "temperature": 0, "stop": ["\n"]}
                  for c in contexts]
        names = [f"prompt {i + 1} of {len(contexts)}" for i in range(len(contexts))]
        return self._map(bodies, [_text_parser(n) for n in names], names, progress)


# ---- reading replies: every check names the request ------------------------------------------

def _bad(what: str, problem: str) -> GlueBenchError:
    return GlueBenchError(f"the endpoint's reply for {what}: {problem}")


def _first_choice(reply: dict, what: str) -> dict:
    choices = reply.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _bad(what, "no 'choices' list of objects; expected the OpenAI completions format")
    return choices[0]


def _logprobs(reply: dict, what: str) -> dict:
    logprobs = _first_choice(reply, what).get("logprobs") or {}
    if not isinstance(logprobs, dict):
        raise _bad(what, f"'logprobs' is a {type(logprobs).__name__}; expected an object")
    return logprobs


def _number(value, what: str, field: str) -> float:
    """A log-probability: a finite JSON number (not a string, not a bool, not NaN/Infinity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(what, f"{field} is {value!r}; expected a number")
    if not math.isfinite(value):
        raise _bad(what, f"{field} is {value}; expected a finite log-probability")
    return float(value)


def _continuation_logprob(reply: dict, start: int, end: int, what: str = "a request") -> float:
    """Sum of the echoed prompt tokens' log-probs that begin in [start, end)."""
    logprobs = _logprobs(reply, what)
    offsets, values = logprobs.get("text_offset"), logprobs.get("token_logprobs")
    if not offsets or not values:
        raise UsageError(f"the endpoint returned no prompt log-probabilities: {CANNOT}")
    if not isinstance(offsets, list) or not isinstance(values, list) or \
            len(offsets) != len(values):
        raise _bad(what, f"'text_offset' and 'token_logprobs' are not two lists of one length "
                         f"({_length(offsets)} and {_length(values)})")
    if any(isinstance(o, bool) or not isinstance(o, int) for o in offsets):
        raise _bad(what, "'text_offset' holds something other than whole numbers")
    if offsets[-1] < start:
        raise UsageError(f"the endpoint returned no prompt log-probabilities: {CANNOT}")
    picked = [(o, v) for o, v in zip(offsets, values, strict=True) if start <= o < end]
    if not picked or any(v is None for _, v in picked):
        raise UsageError(f"the endpoint returned no log-probabilities for the answer: {CANNOT}")
    return sum(_number(v, what, f"the log-probability of the token at offset {o}")
               for o, v in picked)


def _length(value) -> str:
    return str(len(value)) if isinstance(value, list) else type(value).__name__


def _top_logprobs(reply: dict, what: str = "a request") -> dict[str, float]:
    top = _logprobs(reply, what).get("top_logprobs") or []
    if not isinstance(top, list) or not top or top[0] is None:
        raise UsageError("the endpoint returned no top log-probabilities (logprobs), so it "
                         "cannot do --scoring first_token; use generate")
    if not isinstance(top[0], dict):
        raise _bad(what, f"'top_logprobs' holds a {type(top[0]).__name__}; expected an "
                         "object of token: log-probability")
    return {str(token): _number(lp, what, f"the top log-probability of {token!r}")
            for token, lp in top[0].items()}


def _match_top(top: dict[str, float], continuations: tuple[str, ...]) -> list[float]:
    """Each choice's best top-k token that its text starts with (whitespace ignored)."""
    out = []
    for cont in continuations:
        text = cont.lstrip()
        scores = [lp for token, lp in top.items()
                  if token.strip() and text.startswith(token.lstrip())]
        out.append(max(scores) if scores else -np.inf)
    return out


def _served_model_id(reply: dict) -> str:
    data = reply.get("data")
    model = data[0].get("id") if isinstance(data, list) and data and \
        isinstance(data[0], dict) else None
    if not isinstance(model, str) or not model:
        raise _bad("the model list (/v1/models)", "no data[0].id; pass the served model's "
                   "name with --model")
    return model


def _ll_parser(start: int, end: int, what: str) -> Callable[[dict], float]:
    return lambda reply: _continuation_logprob(reply, start, end, what)


def _first_token_parser(request: Request) -> Callable[[dict], list[float]]:
    return lambda reply: _match_top(_top_logprobs(reply, request.name), request.continuations)


def _text_parser(what: str) -> Callable[[dict], str]:
    def parse(reply: dict) -> str:
        text = _first_choice(reply, what).get("text")
        if not isinstance(text, str):
            raise _bad(what, f"'text' is {text!r}; expected a string")
        return text.split("\n")[0]

    return parse
