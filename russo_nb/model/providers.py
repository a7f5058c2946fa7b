"""Calling a provider's SDK (openai, google-genai): what the agents and the synthesizers that use one share.

:func:`sdk_error` maps an SDK's exceptions to the error a run records (429 / 5xx and "try again later"
WebSocket closes as :class:`~russo_nb.model.errors.RetryableError` carrying the server's Retry-After, so
``retries=`` handles them whichever agent or synthesizer failed); :func:`genai_client` makes the
``genai.Client`` russo makes when none is given (GeminiAgent, GeminiLiveAgent, GoogleSynthesizer).

russo resolves Google credentials in this order: ``GOOGLE_API_KEY`` (Google AI API), then
``GOOGLE_CLOUD_PROJECT`` (or ``GOOGLE_PROJECT_ID``) with ``GOOGLE_CLOUD_LOCATION`` (Vertex AI, ``~`` in
``GOOGLE_APPLICATION_CREDENTIALS`` expanded), then the SDK's own ``genai.Client()``. Explicit ``api_key=`` /
``vertexai=True`` come first. The caller passes its module's ``genai`` so each module stays the patch target
russo's tests use (``patch("russo_nb.synthesizers.google.genai")``, ``patch("russo_nb.adapters.gemini.genai")``).
When the SDK finds no credentials the caller gets one :class:`~russo_nb.model.errors.ConfigurationError` line.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import AgentConnectionError, AgentHTTPError, AgentResponseError, ConfigurationError, RetryableError
from .ratelimit import parse_retry_after

__all__ = ["RETRYABLE_CLOSE_CODES", "closed_with", "genai_client", "sdk_error"]

RETRYABLE_CLOSE_CODES = {1011: "internal error", 1012: "service restart", 1013: "try again later", 1014: "bad gateway"}


def closed_with(code: int, message: str, reason: str = "", retry_after: float | None = None) -> Exception | None:
    """The run's error for a WebSocket the server closed with ``code``, when that code says "try again".

    The one rule for close codes: 1006 (abnormal closure) and :data:`RETRYABLE_CLOSE_CODES` are
    :class:`RetryableError` (``message`` followed by the code and its meaning); any other code gives
    ``None``, and the caller words the connection error it means there.
    """
    if code not in RETRYABLE_CLOSE_CODES and code != 1006:
        return None
    meaning = RETRYABLE_CLOSE_CODES.get(code, "abnormal closure")
    return RetryableError(
        f"{message} with code {code} ({meaning})" + (f": {reason}" if reason else ""),
        retry_after=retry_after,
        status=code,
    )


"""WebSocket close codes that mean "try again later": a run closed with one is retryable."""


def sdk_error(exc: BaseException, who: str) -> BaseException:
    """Map an openai / google-genai SDK exception to the error a run records; others pass through.

    429 and 5xx become :class:`RetryableError` with the server's Retry-After; SDK timeouts become
    :class:`TimeoutError`; other status errors keep their status and message on one line.
    """
    name = type(exc).__name__
    if "Timeout" in name:
        return TimeoutError(f"{who}: {exc}")
    if isinstance(exc, ValueError) and not isinstance(exc, AgentResponseError):  # JSON / pydantic errors of the SDK
        first = (str(exc).splitlines() or [name])[0]
        return AgentResponseError(f"{who}: the answer is malformed ({name}: {first[:200]})")
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = getattr(exc, "code", None)
    if not isinstance(status, int) or isinstance(status, bool):
        if name in ("APIConnectionError",):
            return AgentHTTPError(f"{who}: cannot reach the API: {exc}")
        return exc
    if status >= 1000:  # a WebSocket close code (the Live API reports them as APIError codes)
        message = f"{who}: the server closed the connection"
        return closed_with(status, message) or AgentConnectionError(f"{message} with code {status} (closed)")
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    detail = str(getattr(exc, "message", None) or exc).splitlines()[0][:300] if str(exc) else name
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(headers) if headers is not None else None
        suffix = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
        return RetryableError(
            f"{who}: the API answered HTTP {status}: {detail}{suffix}", retry_after=retry_after, status=status
        )
    hint = " (check the API key)" if status in (401, 403) else ""
    return AgentHTTPError(f"{who}: the API answered HTTP {status}{hint}: {detail}", status=status)


def genai_client(
    genai: Any,
    who: str,
    *,
    api_key: str | None = None,
    vertexai: bool = False,
    project: str | None = None,
    location: str | None = None,
    http_options: Any | None = None,
) -> Any:
    """A ``genai.Client`` for ``who`` from the arguments, else the environment (russo's order)."""
    extra: dict[str, Any] = {} if http_options is None else {"http_options": http_options}
    env_key = os.environ.get("GOOGLE_API_KEY")
    env_project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or os.environ.get("GOOGLE_PROJECT_ID")
    env_location = location or os.environ.get("GOOGLE_CLOUD_LOCATION")
    try:
        if api_key:
            return genai.Client(api_key=api_key, **extra)
        if vertexai:
            return genai.Client(vertexai=True, project=project, location=location or "us-central1", **extra)
        if env_key:
            return genai.Client(api_key=env_key, **extra)
        if env_project and env_location:
            credentials = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
            if credentials:  # google-auth does not expand ~ (russo expands it too)
                os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = os.path.expanduser(credentials)
            return genai.Client(vertexai=True, project=env_project, location=env_location, **extra)
        return genai.Client(**extra)
    except ValueError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError(
            f"{who} has no Gemini credentials ({reason.rstrip('.')}): pass client=genai.Client(...) or "
            "api_key=..., or set GOOGLE_API_KEY (Vertex AI: GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION)"
        ) from exc
