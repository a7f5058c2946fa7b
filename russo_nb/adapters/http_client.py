"""The one HTTP client every adapter and the scenario LLM client use (httpx, async, no threads).

The rules that keep a hostile or broken server from hurting a batch live here, once:

- **a total deadline**: ``timeout`` bounds the whole exchange (connect, send, every byte of the answer),
  not each socket read, so a server dripping a byte every half second cannot keep a run alive; the request
  is a coroutine, so when the engine's own timeout cancels the run nothing keeps reading in a thread;
- **a body cap**: answers larger than ``max_bytes`` (default 32 MB) are refused as that run's error and
  never kept;
- **redirects**: only a 307/308 to the *same* origin (scheme, host, port) is followed, with the same method
  and body; any other redirect is an error naming where it pointed, so credentials never go to another host;
- **transient failures**: HTTP 429 and 5xx raise :class:`RetryableHTTPError` carrying the server's
  ``Retry-After``, which the engine's retry honours;
- **no secrets in names**: :func:`redact_url` hides query values and passwords in the URLs that end up in
  agent names and error messages (and from there in reports, exports and the history store).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..model.errors import AgentHTTPError, AgentResponseError, RetryableError
from ..model.ratelimit import parse_retry_after

__all__ = [
    "DEFAULT_MAX_BYTES",
    "AgentHTTPError",
    "AgentResponseError",
    "RetryableHTTPError",
    "post_json",
    "redact_url",
]

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
_ERROR_BODY_BYTES = 64 * 1024
_MAX_HOPS = 5


class RetryableHTTPError(AgentHTTPError, RetryableError):
    """HTTP 429 or 5xx: worth retrying, after ``retry_after`` seconds when the server said so."""

    def __init__(self, message: str, status: int, retry_after: float | None) -> None:
        AgentHTTPError.__init__(self, message, status)
        self.retry_after = retry_after


def _redact_path(path: str) -> str:
    """Path parameters hidden: ``/x;jsessionid=SECRET`` → ``/x;jsessionid=***`` (``/x;SECRET`` → ``/x;***``)."""
    if ";" not in path:
        return path
    segments = []
    for segment in path.split("/"):
        head, *params = segment.split(";")
        hidden = [f"{param.split('=', 1)[0]}=***" if "=" in param else "***" for param in params]
        segments.append(";".join([head, *hidden]))
    return "/".join(segments)


def redact_url(url: str) -> str:
    """``url`` with query values, path parameters (``;jsessionid=``) and any password replaced by ``***``
    (``?key=***``), for names and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"***@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(key, "***") for key, _ in pairs], safe="*") if pairs else "***"
    return urlunsplit((parts.scheme, netloc, _redact_path(parts.path), query, ""))


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


def _origin(url: Any) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


async def _read(response: Any, limit: int, shown: str, who: str) -> bytes:
    """The body, refusing more than ``limit`` bytes (checked against Content-Length first, then as it streams)."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise AgentResponseError(
            f"{who}: the answer from {shown} is {int(declared):,} bytes, over the {limit:,}-byte cap; refused"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise AgentResponseError(f"{who}: the answer from {shown} is over the {limit:,}-byte cap; refused")
        chunks.append(chunk)
    return b"".join(chunks)


_SSL_CONTEXT: list[Any] = []


def _ssl_context() -> Any:
    """One TLS context for every request (building one costs ~0.1 s; httpx would build one per client)."""
    if not _SSL_CONTEXT:
        import httpx

        _SSL_CONTEXT.append(httpx.create_ssl_context())
    return _SSL_CONTEXT[0]


async def _read_prefix(response: Any, limit: int) -> bytes:
    """At most ``limit`` bytes of an error answer: enough for its message, never the whole of a huge one."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


async def _exchange(
    method: str, url: str, body: bytes | None, headers: dict[str, str], who: str, max_bytes: int, tls: Any
) -> bytes:
    import httpx

    shown = redact_url(url)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    # No per-phase timeout: the caller's asyncio deadline bounds the whole exchange. One client per
    # request: it lives on this request's event loop (batches run on several loops), costs ~1 ms with
    # the shared TLS context, and is closed when the request ends or is cancelled.
    async with httpx.AsyncClient(follow_redirects=False, timeout=None, limits=limits, verify=tls) as client:
        target = httpx.URL(url)
        for _hop in range(_MAX_HOPS + 1):
            try:
                async with client.stream(method, target, content=body, headers=headers) as response:
                    status = response.status_code
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        next_url = target.join(location)
                        if status in (307, 308) and _origin(next_url) == _origin(target):
                            target = next_url
                            continue
                        raise AgentHTTPError(
                            f"{who}: {shown} answered HTTP {status} redirecting to {redact_url(str(next_url))}; "
                            "redirects are not followed (only a 307/308 to the same host is), so credentials "
                            "never go to another host: point the agent at the final URL",
                            status=status,
                        )
                    if status >= 400:
                        detail = _server_message(await _read_prefix(response, _ERROR_BODY_BYTES))
                        hint = " (check the API key / headers)" if status in (401, 403) else ""
                        message = f"{who}: {shown} answered HTTP {status} {response.reason_phrase}{hint}: {detail}"
                        if status == 429 or status >= 500:
                            retry_after = parse_retry_after(response.headers)
                            if retry_after is not None:
                                message += f" (retry after {retry_after:g}s)"
                            raise RetryableHTTPError(message, status, retry_after)
                        raise AgentHTTPError(message, status=status)
                    return await _read(response, max_bytes, shown, who)
            except httpx.TransportError as exc:
                if isinstance(exc, httpx.TimeoutException):
                    raise TimeoutError(f"{who}: no answer from {shown}") from None
                reason = str(exc) or type(exc).__name__
                raise AgentHTTPError(f"{who}: cannot reach {shown}: {reason}") from None
        raise AgentHTTPError(f"{who}: {shown} redirected more than {_MAX_HOPS} times")


async def post_json(
    url: str,
    body: bytes | None,
    headers: dict[str, str],
    timeout: float,
    who: str,
    *,
    method: str = "POST",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any:
    """Send one request under every rule of this module and decode the answer as JSON.

    Raises :class:`TimeoutError` when the whole exchange takes longer than ``timeout`` seconds,
    :class:`RetryableHTTPError` for 429/5xx, :class:`AgentHTTPError` for other failures and
    :class:`AgentResponseError` for an answer over ``max_bytes`` or one that is not JSON.
    """
    tls = _ssl_context()  # outside the deadline: the first call imports httpx and loads the CA bundle
    try:
        raw = await asyncio.wait_for(_exchange(method, url, body, headers, who, max_bytes, tls), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"{who}: no answer from {redact_url(url)} within {timeout:g}s") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        shown = raw[:120].decode("utf-8", errors="replace")
        raise AgentResponseError(f"{who}: the answer from {redact_url(url)} is not JSON: {shown!r}") from None
