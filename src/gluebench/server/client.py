"""A small HTTP client for the server's API (``gluebench submit`` and ``leaderboard``)."""

from __future__ import annotations

from pathlib import Path

from gluebench.errors import DataError, UsageError

TIMEOUT_S = 60.0


class Client:
    def __init__(self, base: str, token: str | None):
        if not base.startswith(("http://", "https://")):
            raise UsageError(f"--server must be an http:// or https:// URL, got '{base[:80]}'")
        self.base, self.token = base.rstrip("/"), token

    def _request(self, method: str, path: str, **kwargs) -> dict:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = httpx.request(method, self.base + path, headers=headers,
                                     timeout=TIMEOUT_S, **kwargs)
        except httpx.HTTPError as exc:
            raise UsageError(f"cannot reach {self.base}: {exc}") from None
        if response.status_code >= 400:
            raise UsageError(_explain(response))
        return response.json()

    def submit(self, zip_path: str, fields: dict[str, str]) -> dict:
        path = Path(zip_path)
        if not path.is_file():
            raise DataError(path, "file not found")
        files = {"file": (path.name, path.read_bytes(), "application/zip")}
        return self._request("POST", "/api/submissions", data=fields, files=files)

    def submission(self, sub_id: int) -> dict:
        return self._request("GET", f"/api/submissions/{sub_id}")

    def leaderboard(self) -> dict:
        return self._request("GET", "/api/leaderboard")


def _explain(response) -> str:
    """The server's refusal as one line (every problem of a 400 listed after it)."""
    try:
        body = response.json()
    except ValueError:
        return f"server answered {response.status_code}"
    message = f"server answered {response.status_code}: {body.get('error', body)}"
    if body.get("problems"):
        message += "".join(f"\n  {p}" for p in body["problems"])
    if body.get("retry_after_s"):
        message += f" (retry after {body['retry_after_s']} s)"
    return message
