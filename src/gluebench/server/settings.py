"""The server's settings: one dataclass, passed to child processes as environment variables."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, fields

from gluebench.errors import UsageError

ENV = "GLUEBENCH_SERVER_SETTINGS"
MiB = 1024 * 1024


CAN_BE_0 = ("score_pause_s",)


def _positive(value, *, zero: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and (value >= 0 if zero else value > 0)


@dataclass(frozen=True)
class Settings:
    """What the web app and the workers share. The data directory is not one of them:
    only ``worker.run_worker`` is given it."""

    db_url: str
    split: str = "test"                  # scored against "test" labels the host holds, or "dev"
    max_upload_bytes: int = 32 * MiB     # the whole multipart request
    per_day: int = 2                     # submissions per user in any 24 hours (GLUE's quota)
    per_month: int = 10                  # ... in any 30 days
    concurrent: int = 3                  # ... queued or running at once
    auth_failures: int = 20              # failed token checks per client per window ...
    auth_window_s: float = 60.0          # ... before 429
    lease_s: float = 30.0                # a job's lease; a worker heartbeats every lease / 3
    max_attempts: int = 3                # a job whose workers died this often fails
    n_resamples: int = 1000              # bootstrap resamples (CIs and ties)
    score_pause_s: float = 0.0           # testing the lease: pause before writing results
    page_size: int = 50                  # leaderboard rows per page
    suite: str = "glue"                  # the suite hosted: a built-in name or a suite file
    gold_ids: str | None = None          # a suite's upload ids, read from the gold files by
                                         # `serve` (ids only: the web process holds no labels)

    def __post_init__(self) -> None:
        if self.split not in ("dev", "test"):
            raise UsageError(f"unknown split '{self.split}'; expected dev or test")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("int", "float") and not _positive(value, zero=f.name in CAN_BE_0):
                raise UsageError(f"server setting {f.name}: expected a finite number "
                                 f"{'>= 0' if f.name in CAN_BE_0 else '> 0'}, got {value!r}")

    def to_env(self) -> dict[str, str]:
        return {ENV: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls) -> Settings:
        if ENV not in os.environ:
            raise UsageError(f"{ENV} is not set; start the server with `gluebench serve`")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(os.environ[ENV]).items() if k in known})
