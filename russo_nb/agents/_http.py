"""A small JSON-over-HTTP client (stdlib urllib, run in a thread) with clear errors.

Every failure says which URL failed and why (status and the server's message,
timeout, unreachable server, an answer that is not JSON), so a run that ends in
error tells the user what to fix.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

__all__ = ["AgentHTTPError", "AgentResponseError", "post"]


class AgentHTTPError(RuntimeError):
    """The agent's server answered with an error status or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AgentResponseError(ValueError):
    """The agent's server answered, but not with JSON of the expected shape."""


def _server_message(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return str(error)[:200]
    return text[:200]


def post_sync(url: str, body: bytes, headers: dict[str, str], timeout: float, who: str) -> Any:
    """POST ``body`` and return the decoded JSON answer; raise a clear error otherwise."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = _server_message(exc.read() or b"")
        hint = " (check the API key / headers)" if exc.code in (401, 403) else ""
        raise AgentHTTPError(
            f"{who}: {url} answered HTTP {exc.code} {exc.reason}{hint}: {detail}", status=exc.code
        ) from None
    except TimeoutError:
        raise TimeoutError(f"{who}: no answer from {url} within {timeout:g}s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise TimeoutError(f"{who}: no answer from {url} within {timeout:g}s") from None
        raise AgentHTTPError(f"{who}: cannot reach {url}: {exc.reason}") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        shown = raw[:120].decode("utf-8", errors="replace")
        raise AgentResponseError(f"{who}: the answer from {url} is not JSON: {shown!r}") from None


async def post(url: str, body: bytes, headers: dict[str, str], timeout: float, who: str) -> Any:
    """:func:`post_sync` in a worker thread, so the event loop stays free."""
    from ..threads import run_blocking

    return await run_blocking(post_sync, url, body, headers, timeout, who)
