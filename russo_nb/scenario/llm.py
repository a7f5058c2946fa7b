"""A minimal OpenAI-compatible chat client for simulated users and judges that use a model.

Configuration comes from, in order: arguments (``JudgeAgent(model=..., base_url=... or
api_base=..., api_key=... or api_key_env=...)``), :func:`russo_nb.scenario.configure`
(``default_model=`` as in LangWatch Scenario, or ``model=``), then environment variables
``RUSSO_LLM_MODEL``, ``RUSSO_LLM_BASE_URL`` (or ``OPENAI_BASE_URL``) and the key in
``OPENAI_API_KEY`` (or the variable ``api_key_env`` names). Model names in litellm's
``openai/gpt-4.1-mini`` form are sent without the ``openai/`` prefix, as litellm sends
them to an OpenAI-compatible endpoint; other prefixes are sent as written (a LiteLLM
proxy understands them). Requests go through
:mod:`russo_nb.adapters.http_client`, the client the adapters use (total deadline, body cap, no
cross-host redirects carrying the key).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..model.errors import ConfigurationError, RussoError

__all__ = [
    "LLMConfig",
    "ModelConnection",
    "ModelRequestError",
    "chat",
    "complete",
    "configure",
    "parse_json_reply",
    "resolve_config",
    "wire_model_name",
]

logger = logging.getLogger("russo_nb")

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class ModelRequestError(RussoError, RuntimeError):
    """The model endpoint answered with an error or something that is not a chat completion."""


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to reach a chat-completions endpoint."""

    model: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    timeout: float = 60.0
    key: str | None = field(default=None, repr=False)
    """A key given as a value (``api_key=``); otherwise it is read from ``api_key_env``."""
    max_tokens: int | None = None

    @property
    def url(self) -> str:
        """The chat-completions URL."""
        base = (self.base_url or DEFAULT_BASE_URL).rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    @property
    def api_key(self) -> str | None:
        """The key given as ``api_key=``, else the one in the variable ``api_key_env`` (None if unset)."""
        return self.key or os.environ.get(self.api_key_env) or None


_defaults = LLMConfig()


def configure(
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    temperature: float | None = None,
    timeout: float | None = None,
    key: str | None = None,
    max_tokens: int | None = None,
) -> LLMConfig:
    """Set the model connection used by every simulated user and judge that has none of its own.

    :func:`russo_nb.scenario.configure` (``default_model=``, as in LangWatch Scenario) calls this.
    """
    global _defaults
    changes = {
        name: value
        for name, value in {
            "model": model,
            "base_url": base_url,
            "api_key_env": api_key_env,
            "temperature": temperature,
            "timeout": timeout,
            "key": key,
            "max_tokens": max_tokens,
        }.items()
        if value is not None
    }
    _defaults = replace(_defaults, **changes)
    return _defaults


def resolve_config(
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    *,
    key: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> LLMConfig:
    """Merge arguments, :func:`configure` and the environment into one config (model may be None)."""
    return LLMConfig(
        model=model or _defaults.model or os.environ.get("RUSSO_LLM_MODEL") or None,
        base_url=base_url
        or _defaults.base_url
        or os.environ.get("RUSSO_LLM_BASE_URL")
        or os.environ.get("OPENAI_BASE_URL")
        or None,
        api_key_env=api_key_env or _defaults.api_key_env,
        temperature=_defaults.temperature if temperature is None else temperature,
        timeout=_defaults.timeout,
        key=key or _defaults.key,
        max_tokens=max_tokens if max_tokens is not None else _defaults.max_tokens,
    )


class ModelConnection:
    """The model connection a simulated user or a judge carries, resolved by :meth:`llm_config`.

    Both take the same arguments (russo_nb's ``base_url`` / ``api_key_env`` and LangWatch Scenario's
    ``api_base`` / ``api_key``); what they leave None comes from :func:`configure` and the environment.
    A ``model`` that is not a name (a simulator's True / False) leaves the choice to the configuration.
    """

    model: Any
    base_url: str | None
    api_key_env: str | None
    api_key: str | None
    temperature: float | None
    max_tokens: int | None

    def _connect(
        self,
        model: Any,
        base_url: str | None,
        api_base: str | None,
        api_key_env: str | None,
        api_key: str | None,
        temperature: float | None,
        max_tokens: int | None,
    ) -> None:
        self.model = model
        self.base_url = base_url or api_base
        self.api_key_env = api_key_env
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens

    def llm_config(self) -> LLMConfig:
        """The resolved model configuration (the model may be None)."""
        return resolve_config(
            self.model if isinstance(self.model, str) else None,
            self.base_url,
            self.api_key_env,
            key=self.api_key,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
        )


def wire_model_name(model: str | None) -> str | None:
    """The model name sent to an OpenAI-compatible endpoint (litellm's ``openai/`` prefix dropped)."""
    if model and model.startswith("openai/"):
        return model[len("openai/") :]
    return model


def require_model(config: LLMConfig, who: str, why: str) -> LLMConfig:
    """Raise a ConfigurationError naming what to set when ``config`` cannot reach a model."""
    if not config.model:
        raise ConfigurationError(
            f"{who} needs a language model because {why}, and none is configured. Either pass "
            f"model='...' (and base_url='http://host:port/v1' for a local OpenAI-compatible server), call "
            "russo_nb.scenario.configure(default_model='openai/...') (OPENAI_BASE_URL for a local server), or set "
            "RUSSO_LLM_MODEL (and RUSSO_LLM_BASE_URL); the API key is read from OPENAI_API_KEY (or api_key_env=). "
            "To stay offline, write criteria as predicates or built-in checks (russo_nb.scenario.criteria)."
        )
    if (config.base_url is None or config.base_url.rstrip("/") == DEFAULT_BASE_URL) and not config.api_key:
        raise ConfigurationError(
            f"{who} uses model {config.model!r} at {DEFAULT_BASE_URL}, which needs an API key: set the "
            f"environment variable {config.api_key_env} (or point base_url= / OPENAI_BASE_URL at a local server)"
        )
    return config


async def _post(config: LLMConfig, payload: dict[str, Any]) -> Any:
    from ..adapters.http_client import AgentHTTPError, post_json

    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    key = config.api_key
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        return await post_json(config.url, body, headers, config.timeout, "model endpoint")
    except (AgentHTTPError, ValueError) as exc:
        raise ModelRequestError(str(exc)) from None


async def complete(config: LLMConfig, messages: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    """Send ``messages`` (and ``options`` such as ``tools=``) to the endpoint; return ``choices[0].message``."""
    payload: dict[str, Any] = {
        "model": wire_model_name(config.model),
        "messages": messages,
        "temperature": config.temperature,
    }
    if config.max_tokens is not None:
        payload["max_tokens"] = config.max_tokens
    payload.update({name: value for name, value in options.items() if value is not None})
    data = await _post(config, payload)
    try:
        message = data["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        message = None
    if not isinstance(message, dict):
        raise ModelRequestError(f"model endpoint {config.url} answered without choices[0].message")
    return message


async def chat(config: LLMConfig, messages: list[dict[str, Any]], *, json_mode: bool = False) -> str:
    """Send ``messages`` to the endpoint and return the reply's text."""
    message = await complete(config, messages, response_format={"type": "json_object"} if json_mode else None)
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise ModelRequestError(f"model endpoint {config.url} answered without choices[0].message.content")
    return content or ""


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def parse_json_reply(text: str) -> dict[str, Any]:
    """Read the JSON object in a model's reply (code fences and surrounding prose tolerated)."""
    cleaned = _FENCE.sub("", text.strip())
    try:
        value = json.loads(cleaned)
    except json.JSONDecodeError:
        start, end = cleaned.find("{"), cleaned.rfind("}")
        if start < 0 or end <= start:
            raise ModelRequestError(f"the model's reply holds no JSON object: {text[:200]!r}") from None
        try:
            value = json.loads(cleaned[start : end + 1])
        except json.JSONDecodeError:
            raise ModelRequestError(f"the model's reply holds no valid JSON object: {text[:200]!r}") from None
    if not isinstance(value, dict):
        raise ModelRequestError(f"the model's reply is JSON but not an object: {text[:200]!r}")
    return value
