"""Global scenario settings: ``scenario.configure(default_model=..., max_turns=..., cache_key=...)``.

The names follow LangWatch Scenario 1.6 (``ScenarioConfig``, ``ModelConfig``,
``configure``), so its examples run unchanged. The model connection itself lives in
:mod:`.llm` (one owner): ``configure`` hands ``default_model`` to it. The other
settings are read here: ``max_turns`` (the default of ``scenario.run``), ``min_turns``
(the default of ``JudgeAgent(min_turns=...)``) and ``cache_key`` (what
``@scenario.cache()`` keys on; no key, no caching). ``verbose``, ``debug``,
``headless`` and the tracing options are accepted and kept but change nothing here
(russo_nb prints no live transcript and has no step-through debugger or tracing).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ..model.errors import InvalidArgumentError
from . import llm

__all__ = ["ModelConfig", "ScenarioConfig", "configure", "current_config"]


class ModelConfig(BaseModel):
    """A model and where to reach it (LangWatch Scenario's ``ModelConfig``)."""

    model_config = ConfigDict(extra="allow")

    model: str
    api_base: str | None = None
    api_key: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


class ScenarioConfig(BaseModel):
    """The settings every scenario run starts from; ``ScenarioConfig.default_config`` holds the configured ones."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    default_model: str | ModelConfig | None = None
    max_turns: int | None = 10
    min_turns: int | None = Field(default=None, ge=0)
    verbose: bool | int | None = True
    cache_key: str | None = None
    debug: bool | None = False
    headless: bool | None = None
    fetch_remote_traces: bool | None = None
    trace_wait_timeout: float | None = None
    trace_wait_extension: float | None = None
    observability: dict[str, Any] | None = None

    default_config: ClassVar[ScenarioConfig | None] = None

    def items(self) -> dict[str, Any]:
        """The settings that are set (not None), by name."""
        return {name: getattr(self, name) for name in self.model_dump(exclude_none=True)}

    def merge(self, other: ScenarioConfig) -> ScenarioConfig:
        """These settings with ``other``'s set ones on top."""
        return ScenarioConfig(**{**self.items(), **other.items()})

    @classmethod
    def configure(cls, **settings: Any) -> None:
        """Merge ``settings`` into :attr:`default_config` (see :func:`configure`)."""
        configure(**settings)


def current_config() -> ScenarioConfig:
    """The configured settings (defaults when :func:`configure` was never called)."""
    return ScenarioConfig.default_config or ScenarioConfig()


def configure(
    default_model: str | ModelConfig | None = None,
    max_turns: int | None = None,
    min_turns: int | None = None,
    verbose: bool | int | None = None,
    cache_key: str | None = None,
    debug: bool | None = None,
    headless: bool | None = None,
    fetch_remote_traces: bool | None = None,
    trace_wait_timeout: float | None = None,
    trace_wait_extension: float | None = None,
    observability: dict[str, Any] | None = None,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    temperature: float | None = None,
    timeout: float | None = None,
) -> ScenarioConfig:
    """Set defaults for every scenario run, as LangWatch Scenario's ``scenario.configure``.

    ``default_model`` (a name such as ``"openai/gpt-4.1-mini"`` or a :class:`ModelConfig`
    with ``api_base`` / ``api_key``) is what simulated users and judges use when they
    have no model of their own; ``model=``, ``base_url=``, ``api_key_env=``,
    ``temperature=`` and ``timeout=`` set the same connection the russo_nb way.
    Settings left None keep their configured value.
    """
    if model is not None and default_model is not None:
        raise InvalidArgumentError("configure() takes default_model= or model=, not both (they are the same setting)")
    if max_turns is not None and (not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1):
        raise InvalidArgumentError(f"configure(max_turns=...) must be a whole number >= 1, got {max_turns!r}")
    if min_turns is not None and (not isinstance(min_turns, int) or isinstance(min_turns, bool) or min_turns < 0):
        raise InvalidArgumentError(f"configure(min_turns=...) must be a whole number >= 0, got {min_turns!r}")
    chosen = default_model if default_model is not None else model
    if isinstance(chosen, ModelConfig):
        llm.configure(
            model=chosen.model,
            base_url=chosen.api_base or base_url,
            key=chosen.api_key,
            temperature=chosen.temperature if chosen.temperature is not None else temperature,
            max_tokens=chosen.max_tokens,
            api_key_env=api_key_env,
            timeout=timeout,
        )
    elif chosen is not None and not isinstance(chosen, str):
        raise InvalidArgumentError(
            f"configure(default_model=...) takes a model name or a ModelConfig, got {type(chosen).__name__}"
        )
    else:
        llm.configure(
            model=chosen, base_url=base_url, api_key_env=api_key_env, temperature=temperature, timeout=timeout
        )
    given = {
        "default_model": chosen,
        "max_turns": max_turns,
        "min_turns": min_turns,
        "verbose": verbose,
        "cache_key": cache_key,
        "debug": debug,
        "headless": headless,
        "fetch_remote_traces": fetch_remote_traces,
        "trace_wait_timeout": trace_wait_timeout,
        "trace_wait_extension": trace_wait_extension,
        "observability": observability,
    }
    settings = {**current_config().items(), **{name: value for name, value in given.items() if value is not None}}
    ScenarioConfig.default_config = ScenarioConfig(**settings)
    return ScenarioConfig.default_config
