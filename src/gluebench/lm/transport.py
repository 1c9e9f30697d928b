"""One HTTP request to a server that is not trusted: a total deadline, a byte cap, retries.

``fetch_json`` sends a request and returns the JSON object a server answers, retrying a
dropped connection, 429 and 5xx with exponential backoff (``Retry-After`` honoured) until
the request's deadline. The deadline is total: a watchdog shuts the socket down when it
passes, so a silent server or one trickling a byte at a time cannot hold a request longer
(a read timeout alone resets with every byte). A reply body is streamed and refused past
``max_bytes``, so a runaway reply never fills memory. Talks to the server directly (no
proxy from the environment).
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from gluebench.errors import GlueBenchError

RETRY_STATUS = {429, 500, 502, 503, 504}
READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class Limits:
    deadline: float = 300.0         # seconds per request, retries included
    timeout: float = 120.0          # seconds of silence before a connection counts as dropped
    max_bytes: int = 16 * 2**20     # a completion echoing a 4,096-token prompt is about 1 MB
    max_retries: int = 6
    backoff: float = 0.5            # seconds before the first retry; doubled each time


class _Refused(Exception):
    """What no retry mends: a reply too large, or one not finished by the deadline."""


class _Dropped(Exception):
    """A connection refused, reset or cut short: worth another try."""


def fetch_json(url: str, data: bytes | None, headers: dict[str, str], *, limits: Limits,
               what: str, count: Callable[[str], None] = lambda _: None) -> dict:
    """The JSON object answered to a GET (``data`` None) or POST, or one ``GlueBenchError``
    naming ``url`` and ``what`` the request was for. ``count`` hears "requests", "retries"."""
    ends = time.monotonic() + limits.deadline
    for attempt in range(limits.max_retries + 1):
        count("requests")
        tries = f"after {attempt + 1} tries"
        try:
            status, retry_after, payload = _exchange(url, data, headers, ends, limits)
        except _Refused as exc:
            raise GlueBenchError(f"endpoint {url}: {what}: {exc}") from None
        except _Dropped as exc:
            status, retry_after, payload = None, None, str(exc).encode()
        if status == 200:
            return _json_object(payload, f"endpoint {url}: {what}")
        problem = f"HTTP {status}" if status is not None else "the connection failed"
        if status is not None and status not in RETRY_STATUS:
            raise GlueBenchError(f"endpoint {url}: {what}: {problem} {tries}: "
                                 f"{excerpt(payload)}")
        wait = retry_after if retry_after is not None else \
            min(30.0, limits.backoff * 2 ** attempt)
        if attempt == limits.max_retries or time.monotonic() + wait >= ends:
            raise GlueBenchError(f"endpoint {url}: {what}: {problem} {tries}: "
                                 f"{excerpt(payload)}")
        count("retries")
        time.sleep(wait)
    raise AssertionError("unreachable")


def _exchange(url: str, data: bytes | None, headers: dict[str, str], ends: float,
              limits: Limits) -> tuple[int, float | None, bytes]:
    """One exchange: (status, Retry-After seconds, body), cut off at the deadline ``ends``."""
    parts = urllib.parse.urlsplit(url)
    left = ends - time.monotonic()
    if left <= 0:
        raise _Refused(f"no reply within the request's deadline of {limits.deadline:g} s")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=min(limits.timeout, left))
    watchdog = _Watchdog(left)
    try:
        conn.connect()
        watchdog.watch(conn.sock)
        conn.request("GET" if data is None else "POST",
                     parts.path + (f"?{parts.query}" if parts.query else ""), body=data,
                     headers=headers)
        reply = conn.getresponse()
        payload = _read_capped(reply, limits.max_bytes)
    except (OSError, http.client.HTTPException) as exc:
        if watchdog.fired:
            raise _Refused(f"no complete reply within the request's deadline of "
                           f"{limits.deadline:g} s") from None
        raise _Dropped(f"{type(exc).__name__}: {exc}") from None
    finally:
        watchdog.cancel()
        conn.close()
    return reply.status, _retry_after(reply.getheader("Retry-After")), payload


class _Watchdog:
    """Shuts a socket down at a deadline: a blocked send or read returns at once."""

    def __init__(self, seconds: float):
        self.fired = False
        self._seconds = seconds
        self._timer: threading.Timer | None = None

    def watch(self, sock: socket.socket) -> None:
        def cut() -> None:
            self.fired = True
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass          # closed meanwhile

        self._timer = threading.Timer(self._seconds, cut)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _read_capped(reply: http.client.HTTPResponse, cap: int) -> bytes:
    """The whole body, at most ``cap`` bytes, streamed; a short one is a dropped connection."""
    declared = reply.getheader("Content-Length")
    size = int(declared) if declared and declared.strip().isdigit() else None
    if size is not None and size > cap:
        raise _Refused(f"the reply is {size:,} bytes, more than the {cap:,} a completion can "
                       "need; it was not read")
    chunks, read = [], 0
    while chunk := reply.read1(READ_CHUNK):
        read += len(chunk)
        if read > cap:
            raise _Refused(f"the reply passed {cap:,} bytes, more than a completion can need; "
                           "it was not read further")
        chunks.append(chunk)
    if size is not None and read < size:
        raise http.client.IncompleteRead(b"", size - read)
    return b"".join(chunks)


def excerpt(payload: bytes, limit: int = 200) -> str:
    """A server's text shown on one line: printable, whitespace collapsed, cut short."""
    text = payload[:limit * 4].decode("utf-8", "replace")
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return (text[:limit] + "…") if len(text) > limit else (text or "(empty)")


def _json_object(payload: bytes, where: str) -> dict:
    try:
        doc = json.loads(payload)
    except ValueError:
        raise GlueBenchError(f"{where}: the reply is not JSON (it begins "
                             f"{excerpt(payload, 60)!r})") from None
    if not isinstance(doc, dict):
        raise GlueBenchError(f"{where}: the reply is a JSON {type(doc).__name__}; expected an "
                             "object")
    return doc


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return min(60.0, seconds)
