"""The errors a user can cause, each naming what was wrong and how to fix it.

Every error raised for bad input is a :class:`RussoError`, so callers can catch one
class. Subclasses also derive from the matching built-in (``ValueError``,
``TypeError``, ``AssertionError``) so existing ``except`` clauses keep working.
"""

from __future__ import annotations

__all__ = [
    "AgentConnectionError",
    "AgentHTTPError",
    "AgentResponseError",
    "ConfigurationError",
    "ExpectationError",
    "InvalidArgumentError",
    "PatternTimeoutError",
    "ProtocolError",
    "RetryableError",
    "RussoError",
    "StoreBusyError",
    "SuiteFileError",
    "ToolCallAssertionError",
    "TooManyBlockingCallsError",
    "UnknownNameError",
]


def one_line(message: str) -> str:
    """``message`` on one line: lines joined with ``"; "``, pydantic's "For further information" links dropped."""
    if "\n" not in message and "\r" not in message:
        return message
    lines = [line.strip() for line in message.splitlines()]
    kept = [line for line in lines if line and not line.startswith("For further information visit")]
    return "; ".join(kept)


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message, or its type's name when it has none: what a one-line error quotes."""
    lines = str(exc).splitlines()
    return lines[0] if lines else type(exc).__name__


class RussoError(Exception):
    """Base class of every error russo_nb raises for input a user can fix.

    Its message is one line (pydantic's multi-line validation texts are joined with ``"; "``), so the API
    and the ``russo`` command say the same thing; :class:`ToolCallAssertionError` keeps its diff's lines.
    """

    single_line = True

    def __init__(self, *args: object) -> None:
        if self.single_line and len(args) == 1 and isinstance(args[0], str):
            args = (one_line(args[0]),)
        super().__init__(*args)


class InvalidArgumentError(RussoError, ValueError):
    """An argument is out of range or of the wrong kind (``runs=0``, no prompts, ...)."""


class ExpectationError(RussoError, ValueError):
    """An expectation is not a tool call (``tool_call(...)``, a dict, or ``"name(arg=...)"``)."""


class ProtocolError(RussoError, TypeError):
    """An object handed in as agent, synthesizer or evaluator lacks the method it needs."""


class UnknownNameError(RussoError, LookupError):
    """A name (in a magic, a suite file, a component reference) does not exist."""


class SuiteFileError(RussoError, ValueError):
    """A suite file cannot be read or does not validate; names the file and the path inside it."""


class ConfigurationError(RussoError, RuntimeError):
    """Something required is not configured (a model endpoint, an API key variable, ...)."""


class ToolCallAssertionError(RussoError, AssertionError):
    """Raised by :func:`russo_nb.assert_tool_calls` with the diff of what did not match."""

    single_line = False  # the diff is one line per call


class RetryableError(RuntimeError):
    """A transient failure of the agent's service, worth trying again: HTTP 429 / 5xx, a WebSocket closed
    with a "try again later" code. ``retry_after`` is the pause the server asked for (seconds, or None).

    Not a :class:`RussoError`: nothing the user wrote is wrong. The engine retries it when ``retries=`` is
    set (no ``retry_on=`` needed) and waits at least ``retry_after`` before the next attempt.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class AgentResponseError(ValueError):
    """The agent answered, but not with what was expected: not JSON, the wrong shape, a malformed tool call,
    or an answer over the size cap. Recorded as that run's error."""


class AgentHTTPError(RuntimeError):
    """The agent's server answered with an error status, redirected elsewhere, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AgentConnectionError(RuntimeError):
    """The agent's connection broke (closed before the answer was complete, refused, ...)."""


class PatternTimeoutError(RussoError, TimeoutError):
    """A user-supplied regular expression ran past its time budget (catastrophic backtracking)."""


class StoreBusyError(RussoError, RuntimeError):
    """The history store is locked by another process for longer than its busy timeout."""


class TooManyBlockingCallsError(RussoError, RuntimeError):
    """A run needed one more thread for a blocking call, but the job already runs
    :data:`russo_nb.model.threads.MAX_THREADS` (stuck ones included). Recorded as that run's error."""
