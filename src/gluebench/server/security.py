"""Tokens, their hashes, constant-time checks, a limit on failed attempts, host binding."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
import threading
import time
from collections import deque

from gluebench.errors import UsageError

TOKEN_PREFIX = "gb_"


def new_token() -> str:
    """A random API token (256 bits), shown once to its user."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps. Tokens are random, so a plain SHA-256 cannot be reversed."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(stored: str, token: str) -> bool:
    """Compare a stored hash with a presented token in constant time."""
    return hmac.compare_digest(stored.encode(), token_hash(token).encode())


class FailureLimiter:
    """At most ``limit`` failed token checks per client in any ``window`` seconds."""

    def __init__(self, limit: int, window: float):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float | None = None) -> float | None:
        """Seconds until ``client`` may try again, or None when it may try now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = self._recent(client, now)
            if len(recent) < self.limit:
                return None
            return max(1.0, recent[0] + self.window - now)

    def record(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(client, now).append(now)

    def _recent(self, client: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(client, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, public: bool) -> None:
    """Refuse a non-loopback address unless ``--public`` says the host means it."""
    if not public and not is_loopback(host):
        raise UsageError(f"refusing to listen on {host}: it is reachable from other machines; "
                         "pass --public to serve the leaderboard beyond this machine")


def check_port(host: str, port: int) -> None:
    """Refuse, before anything starts, an address this machine cannot listen on (a port in
    use, a port out of range, a host that is not one of its addresses)."""
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: expected a port number 1-65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose "
                         "another --port, or a --host of this machine") from None
