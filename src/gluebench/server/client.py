"""A small HTTP client for the server's API (``gluebench submit`` and ``leaderboard``).

What comes back is checked before it is used: a JSON answer of the shapes below, within
``MAX_ANSWER_BYTES`` and ``DEADLINE_S``. Anything else (a web page, another API, a proxy's
error page, a redirect, a body cut short) is one ``UsageError`` saying what came instead.

A GLUE board's answers name GLUE's entries; another suite's board (``serve --suite``) says
which suite it hosts and sends its columns: ``entries``, each entry's ``metrics``, the
``aggregate`` key of its score and its ``title``. Results and rows are checked against
those, never against GLUE's.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gluebench.benchmark.tasks import BENCHMARKS
from gluebench.errors import DataError, UsageError
from gluebench.formats.fields import quote
from gluebench.formats.names import printable

TIMEOUT_S = 60.0             # connecting, and each wait for more bytes
DEADLINE_S = 300.0           # a whole answer (a slow trickle cannot hold a command forever)
MAX_ANSWER_BYTES = 64 * 1024**2
MAX_SHOWN_PROBLEMS = 20

Finite = Annotated[float, Field(allow_inf_nan=False)]
GLUE_METRICS = {name: list(b.metrics) for name, b in BENCHMARKS.items()}
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")   # as a suite file's names


def check_entries(tasks: dict, metrics: dict, where: str) -> None:
    """Every entry is one of the board's, and its metric values are finite numbers (or
    null): what the tables print."""
    for name in tasks:
        if name not in metrics:
            raise ValueError(f"{where}.{printable(name)[:40]}: not an entry of this board "
                             f"(expected one of: {', '.join(metrics)})")
    _metrics_are_numbers(tasks, where, metrics)


def _metrics_are_numbers(tasks: dict, where: str, metrics: dict) -> None:
    for name, scores in tasks.items():
        for metric in metrics[name]:
            if metric not in scores:
                raise ValueError(f"{where}.{name}.{metric}: missing")
            value = scores[metric]
            if value is not None and not _finite(value):
                raise ValueError(f"{where}.{name}.{metric}: expected a finite number")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class Subsample(_Answer):
    of: int


class EntryScores(_Answer):
    score: Finite
    n: int | None = None
    collapsed: bool = False
    subsample: Subsample | None = None
    ci: dict[str, tuple[Finite, Finite] | None] = {}


class Bootstrap(_Answer):
    """How the intervals were made (``scoring.scored_results``'s ``bootstrap``)."""

    confidence: Finite
    n_resamples: int | None = None
    seed: int | None = None
    method: str | None = None


class SuiteId(_Answer):
    name: str
    sha256: str


class Results(_Answer):
    """A scored submission's results (``gluebench score``'s JSON), as ``tables.details`` reads.
    A suite's (``suite`` set) are checked against its board's columns by ``Client.board``."""

    split: Literal["dev", "test"]
    bootstrap: Bootstrap
    tasks: dict[str, EntryScores]
    suite: SuiteId | None = None

    @model_validator(mode="after")
    def _numbers(self) -> Results:
        if self.suite is None:
            check_entries(self.model_dump()["tasks"], GLUE_METRICS, "tasks")
        return self


class Status(_Answer):
    id: int
    state: Literal["queued", "running", "scored", "failed"]
    queue_position: int | None = None
    error: str | None = None
    results: Results | None = None


class Row(_Answer):
    rank: int
    tied_above: bool = False
    model: str
    user: str
    partial_average: Finite | None = None
    tasks: dict[str, EntryScores] = {}
    tasks_missing: list[str] = []


class Board(_Answer):
    """A board: GLUE's (no ``suite``), or another suite's with its columns."""

    split: Literal["dev", "test"]
    rows: list[Row]
    suite: SuiteId | None = None
    title: str = "GLUE"
    aggregate: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = "glue_score"
    metrics: dict[str, list[str]] | None = None

    @model_validator(mode="after")
    def _columns(self) -> Board:
        if self.suite is None:
            self.metrics = GLUE_METRICS
        elif self.metrics is None:
            raise ValueError("metrics: missing; a suite's board sends each entry's metrics")
        for name, metrics in self.metrics.items():  # printed as column headings
            if not all(NAME.fullmatch(n) for n in (name, *metrics)) or not metrics:
                raise ValueError(f"metrics.{printable(name)[:40]}: expected entry and metric "
                                 "names of letters, digits, '.', '-' and '_'")
        for i, row in enumerate(self.model_dump()["rows"]):
            check_entries(row["tasks"], self.metrics, f"rows.{i}.tasks")
            score = row.get(self.aggregate)
            if score is not None and not _finite(score):
                raise ValueError(f"rows.{i}.{self.aggregate}: expected a finite number")
        return self


def _finite(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value))


def check_server_url(base: str) -> str:
    """``--server`` as a base URL: http(s)://HOST[:PORT][/PATH]; UsageError otherwise."""
    expected = "expected http://HOST[:PORT] or https://HOST[:PORT]"
    if not base.isprintable() or any(c.isspace() for c in base):
        raise UsageError(f"--server {quote(base)}: holds spaces or control characters; "
                         f"{expected}")
    try:
        parts = urlsplit(base)
        port = parts.port  # ValueError for a port out of range or not a number
    except ValueError as exc:
        raise UsageError(f"--server {quote(base)}: not a URL ({exc}); {expected}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise UsageError(f"--server {quote(base)}: {expected}")
    if parts.query or parts.fragment or parts.username is not None:
        raise UsageError(f"--server {quote(base)}: no user, query or fragment please; "
                         f"{expected} (the token goes in --token)")
    return base.rstrip("/")


class Client:
    def __init__(self, base: str, token: str | None):
        self.base, self.token = check_server_url(base), token

    def _request(self, method: str, path: str, **kwargs) -> dict:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers["Accept"] = "application/json"
        try:
            with httpx.stream(method, self.base + path, headers=headers, timeout=TIMEOUT_S,
                              **kwargs) as response:
                body = self._read(response)
        except httpx.HTTPError as exc:
            reason = printable(str(exc))[:200] or type(exc).__name__
            raise UsageError(f"cannot reach {self.base}: {reason}") from None
        if response.status_code >= 400:
            raise UsageError(_explain(response.status_code, body))
        if 300 <= response.status_code < 400:
            where = printable(response.headers.get("location", "elsewhere"))[:200]
            raise UsageError(f"{self.base} answered {response.status_code}, redirecting to "
                             f"{where}: give that address as --server")
        return self._json(response, body)

    def _read(self, response) -> bytes:
        """The body, at most ``MAX_ANSWER_BYTES``, within ``DEADLINE_S``."""
        deadline, chunks, size = time.monotonic() + DEADLINE_S, [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise UsageError(f"{self.base} answered more than {MAX_ANSWER_BYTES} bytes; "
                                 "a leaderboard's answers are far smaller: check --server")
            if time.monotonic() > deadline:
                raise UsageError(f"{self.base} took more than {DEADLINE_S:.0f} s to answer; "
                                 "try again later")
            chunks.append(chunk)
        return b"".join(chunks)

    def _json(self, response, body: bytes) -> dict:
        kind = response.headers.get("content-type", "no content type").split(";")[0].strip()
        what = f"{self.base} answered {response.status_code} with"
        if kind != "application/json":
            raise UsageError(f"{what} {printable(kind)[:80]}, not the leaderboard API's JSON: "
                             "is --server the address of a gluebench leaderboard?")
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"{what} malformed JSON ({printable(str(exc))[:120]}); "
                             "the answer may have been cut short") from None

    def _shaped(self, model: type[BaseModel], answer) -> dict:
        """``answer`` checked against ``model``; a dict of plain JSON values."""
        try:
            return model.model_validate(answer).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the answer"
            raise UsageError(f"{self.base} answered JSON of another shape than a gluebench "
                             f"leaderboard's ({printable(where)[:80]}: "
                             f"{printable(first['msg'])[:120]}): check --server") from None

    def submit(self, zip_path: str, fields: dict[str, str]) -> dict:
        path = Path(zip_path)
        if not path.is_file():
            raise DataError(path, "file not found")
        files = {"file": (path.name, path.read_bytes(), "application/zip")}
        return self._shaped(Status, self._request("POST", "/api/submissions", data=fields,
                                                  files=files))

    def submission(self, sub_id: int) -> dict:
        return self._shaped(Status, self._request("GET", f"/api/submissions/{sub_id}"))

    def leaderboard(self) -> tuple[dict, dict]:
        """The board as the server sent it (for ``--json``) and as checked (for the table)."""
        answer = self._request("GET", "/api/leaderboard")
        return answer, self._shaped(Board, answer)

    def board_of(self, results: dict) -> dict:
        """The columns of the board that scored a suite's ``results`` (its title, entries'
        metrics and aggregate), with the results checked against them."""
        _, board = self.leaderboard()
        ident = ("name", "sha256")
        hosted = board["suite"] and [board["suite"][k] for k in ident]
        if hosted != [results["suite"][k] for k in ident]:
            raise UsageError(f"{self.base} hosts {printable(hosted or 'GLUE')[:120]}, but the "
                             f"results are of suite {printable(results['suite'])[:120]}: "
                             "check --server")
        try:
            check_entries(results["tasks"], board["metrics"], "results.tasks")
        except ValueError as exc:
            raise UsageError(f"{self.base} answered results of another shape than its "
                             f"board's ({printable(str(exc))[:200]})") from None
        return board


def _explain(status: int, body: bytes) -> str:
    """The server's refusal as one line (every problem of a 400 listed after it)."""
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("error"), str):
        return f"server answered {status}"
    message = f"server answered {status}: {printable(answer['error'])[:300]}"
    problems = answer.get("problems")
    if isinstance(problems, list):
        message += "".join(f"\n  {printable(str(p))[:300]}"
                           for p in problems[:MAX_SHOWN_PROBLEMS])
    retry = answer.get("retry_after_s")
    if isinstance(retry, (int, float)) and not isinstance(retry, bool) and retry > 0:
        message += f" (retry after {retry} s)"
    return message
