"""What the server's library functions raise; ``app`` turns each into one HTTP status."""

from __future__ import annotations


class ServerError(Exception):
    status = 400

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message, self.extra = message, extra


class Invalid(ServerError):
    """A request whose content is wrong: every problem is listed (400)."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s)", problems=problems)


class Unauthorized(ServerError):
    status = 401


class Forbidden(ServerError):
    status = 403


class NotFound(ServerError):
    """Also what a private entry is to anyone but its owner and the admins."""

    status = 404


class TooLarge(ServerError):
    status = 413


class TooMany(ServerError):
    """Over a quota or the failed-login limit (429), with when to try again."""

    status = 429

    def __init__(self, message: str, retry_after: float):
        super().__init__(message, retry_after_s=int(retry_after + 0.999))
        self.retry_after = int(retry_after + 0.999)


class Unavailable(ServerError):
    """The database cannot be used now (deleted, unwritable, unreachable): 503."""

    status = 503
