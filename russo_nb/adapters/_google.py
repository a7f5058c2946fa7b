"""The ``genai.Client`` russo makes when none is given (GeminiAgent, GeminiLiveAgent, GoogleSynthesizer).

russo resolves credentials in this order: ``GOOGLE_API_KEY`` (Google AI API), then
``GOOGLE_CLOUD_PROJECT`` (or ``GOOGLE_PROJECT_ID``) with ``GOOGLE_CLOUD_LOCATION`` (Vertex AI, ``~`` in
``GOOGLE_APPLICATION_CREDENTIALS`` expanded), then the SDK's own ``genai.Client()``. Explicit ``api_key=`` /
``vertexai=True`` come first. The caller passes its module's ``genai`` so each module stays the patch target
russo's tests use (``patch("russo_nb.synthesizers.google.genai")``, ``patch("russo_nb.adapters.gemini.genai")``).
When the SDK finds no credentials the caller gets one :class:`~russo_nb.errors.ConfigurationError` line.
"""

from __future__ import annotations

import os
from typing import Any

from ..model.errors import ConfigurationError

__all__ = ["genai_client"]


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
