"""The data that flows through a run: audio, tool calls, evaluations and batch results.

Every model is pydantic v2, so results validate, serialize to JSON and load back.
Field and property names follow the russo API; everything added beyond it has a
default, so ``SingleRunResult(prompt=, run_index=, eval_result=)`` and
``BatchResult(runs=[...])`` can still be built by hand.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import traceback as traceback_module
import uuid
import wave
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from .plain_text import terminal_safe
from .rendering import Rendered

__all__ = [
    "AgentResponse",
    "Audio",
    "BatchMetadata",
    "BatchResult",
    "ColumnarRuns",
    "ConditionValue",
    "Conditions",
    "EvalResult",
    "RetriedAttempt",
    "RunError",
    "RunKind",
    "RunStatus",
    "SingleRunResult",
    "ToolCall",
    "ToolCallMatch",
    "format_call",
    "format_usage",
    "runs_by",
    "prompt_id",
    "retried_text",
    "as_batch_result",
]

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
K = TypeVar("K")

RunStatus = Literal["passed", "failed", "error", "timeout", "cancelled"]
RunKind = Literal["prompt", "scenario"]
"""What a run is: one prompt sent once (:class:`SingleRunResult`) or a scenario's conversation."""
"""How a run ended. ``error``, ``timeout`` and ``cancelled`` runs never count as passed."""

AudioFormat = Literal["wav", "pcm", "mp3", "ogg"]

ConditionValue = str | int | float | bool | None
"""What one condition of a run holds: a scalar (NaN allowed: it is a float). See :mod:`russo_nb.model.conditions`."""

Conditions = dict[str, ConditionValue]
"""A run's conditions: condition name → scalar (a voice, an SNR, an agent version ...)."""


@functools.lru_cache(maxsize=8192)  # a batch's runs share their prompts (a scenario run's id is asked per run)
def prompt_id(prompt: str) -> str:
    """A short stable id for a prompt text (first 10 hex digits of its SHA-1 of its UTF-8).

    A lone surrogate (a scenario name or a prompt read from a file decoded badly) is hashed as its own
    code unit (``surrogatepass``): every text gets an id, and the id of valid text is unchanged."""
    return hashlib.sha1(prompt.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def format_usage(usage: dict[str, float]) -> str:
    """``"1,234 tokens (1,000 in, 234 out), 12.3 s of audio"`` from a usage dict or its totals."""
    parts = []
    if "total_tokens" in usage:
        split = [
            f"{usage[k]:,.0f} {label}" for k, label in (("input_tokens", "in"), ("output_tokens", "out")) if k in usage
        ]
        parts.append(f"{usage['total_tokens']:,.0f} tokens" + (f" ({', '.join(split)})" if split else ""))
    if "audio_s" in usage:
        parts.append(f"{usage['audio_s']:,.1f} s of audio sent")
    return ", ".join(parts) or ", ".join(f"{key}={value:g}" for key, value in usage.items())


def format_call(name: str, arguments: dict[str, Any]) -> str:
    """Render a call as Python source, ``book_flight(from_city='NYC')``; parseable back."""
    args = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    return f"{name}({args})"


_FIELD_SETS: dict[type, set[str]] = {}


def _with_defaults(cls: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` and the default of every field of ``cls`` they leave out (a required one left out: TypeError)."""
    out = dict(values)
    for name, info in cls.model_fields.items():
        if name not in out:
            if info.is_required():
                raise TypeError(f"{cls.__name__} needs {name!r}")
            out[name] = info.get_default(call_default_factory=True)
    return out


def construct_fast(cls: type[M], values: dict[str, Any]) -> M:
    """Build a model from trusted field values without validation.

    The engine's hot path makes several models per run; this skips pydantic's
    per-field bookkeeping and shares one fields-set per class, which halves the
    time and memory of a 100,000-run batch. ``values`` names every field, or the
    fields it leaves out get their defaults (a field added to a run model since the
    caller was written: see :data:`russo_nb.model.run_fields.FIELDS`).
    """
    fields_set = _FIELD_SETS.get(cls)
    if fields_set is None:
        fields_set = _FIELD_SETS[cls] = set(cls.model_fields)
    if len(values) < len(fields_set):
        values = _with_defaults(cls, values)
    obj = cls.__new__(cls)
    setattr_ = object.__setattr__
    setattr_(obj, "__dict__", values)
    setattr_(obj, "__pydantic_fields_set__", fields_set)
    setattr_(obj, "__pydantic_extra__", None)
    setattr_(obj, "__pydantic_private__", None)
    return obj


def record_template(cls: type[BaseModel], given: Iterable[str]) -> dict[str, Any]:
    """Every field of ``cls``, in order, at its default: what a hot path copies and fills in
    (``{**template, "prompt": ...}``) so that it names only the fields it knows (the engine's runs).

    Fields without one shared default (required ones, those made by a factory) must be among
    ``given``, the fields the caller always sets (TypeError otherwise, at import); they stand at None.
    A field added to ``cls`` later is not in the template: :func:`construct_fast` gives it its default.
    """
    template: dict[str, Any] = {}
    given = set(given)
    for name, info in cls.model_fields.items():
        if info.is_required() or info.default_factory is not None:
            if name not in given:
                raise TypeError(f"{cls.__name__}.{name} has no shared default: the caller must set it")
            template[name] = None
        else:
            template[name] = info.default
    return template


def record_builder(cls: type[M], given: Sequence[str]) -> Callable[..., M]:
    """A function building ``cls`` from the ``given`` fields' values (positional, in ``given``'s order), every
    other field at its default (:func:`record_template`): the engine's finished run, named once by the model.

    Generated once (as dataclasses generate ``__init__``): its body is one dict literal of every field in the
    model's order, set on the object as :func:`construct_fast` does — as cheap as a literal written by hand
    (``benchmarks/runner_overhead.py``), without a second list of the fields to keep in step. A field added
    to ``cls`` later is in the record at its default (a model changed at run time, its :func:`construct_fast`
    cache cleared: construct_fast fills it in); one without a shared default must be among ``given``.
    """
    names = list(given)
    unknown = [name for name in names if name not in cls.model_fields]
    if unknown or len(set(names)) != len(names):
        raise TypeError(f"{cls.__name__} has no fields {unknown} (or a field is given twice): {names}")
    template = record_template(cls, names)
    space: dict[str, Any] = {
        "_new": object.__new__,
        "_set": object.__setattr__,
        "_cls": cls,
        "_sets": _FIELD_SETS,
        "_construct": construct_fast,
    }
    items = []
    for index, name in enumerate(cls.model_fields):
        if name in names:
            items.append(f"{name!r}: _{names.index(name)}")
        else:
            space[f"_default_{index}"] = template[name]
            items.append(f"{name!r}: _default_{index}")
    source = (
        f"def build_{cls.__name__}({', '.join(f'_{index}' for index in range(len(names)))}):\n"
        f"    values = {{{', '.join(items)}}}\n"
        "    fields = _sets.get(_cls)\n"
        "    if fields is None or len(values) != len(fields):  # first use, or the model changed since\n"
        "        return _construct(_cls, values)\n"
        "    obj = _new(_cls)\n"  # what construct_fast does, without a second call
        "    _set(obj, '__dict__', values)\n"
        "    _set(obj, '__pydantic_fields_set__', fields)\n"
        "    _set(obj, '__pydantic_extra__', None)\n"
        "    _set(obj, '__pydantic_private__', None)\n"
        "    return obj\n"
    )
    exec(compile(source, f"<record_builder {cls.__name__}>", "exec"), space)  # names only the model's own fields
    build: Callable[..., M] = space[f"build_{cls.__name__}"]
    build.__doc__ = f"{cls.__name__}({', '.join(names)}), every other field at its default."
    return build


class Audio(BaseModel):
    """A clip of audio: PCM samples (or a WAV container) with its format.

    ``data`` holds raw little-endian PCM frames; a WAV container is accepted too and
    its frames are used where samples are needed (see :attr:`pcm`).
    """

    data: bytes
    format: AudioFormat = "wav"
    sample_rate: int = Field(24000, ge=1, le=1_000_000, description="frames per second")
    channels: int = Field(1, ge=1, le=64)
    sample_width: int = Field(2, ge=1, le=8, description="bytes per sample")

    @property
    def is_container(self) -> bool:
        """True when ``data`` is a whole WAV file rather than bare PCM frames."""
        return self.data[:4] == b"RIFF" and self.data[8:12] == b"WAVE"

    @property
    def pcm(self) -> bytes:
        """The PCM frames, with any WAV header removed."""
        if not self.is_container:
            return self.data
        with wave.open(io.BytesIO(self.data), "rb") as reader:
            return reader.readframes(reader.getnframes())

    @property
    def duration_s(self) -> float:
        """Length of the clip in seconds."""
        frame = max(1, self.channels * self.sample_width)
        return len(self.pcm) / frame / max(1, self.sample_rate)

    def to_wav_bytes(self) -> bytes:
        """The clip as a complete WAV file (RIFF container) in memory."""
        if self.format not in ("wav", "pcm"):
            return self.data
        if self.is_container:
            return self.data
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as writer:
            writer.setnchannels(self.channels)
            writer.setsampwidth(self.sample_width)
            writer.setframerate(self.sample_rate)
            writer.writeframes(self.data)
        return buffer.getvalue()

    @classmethod
    def from_wav_bytes(cls, data: bytes) -> Audio:
        """Read a WAV file held in memory into bare PCM frames and their format."""
        with wave.open(io.BytesIO(data), "rb") as reader:
            return cls(
                data=reader.readframes(reader.getnframes()),
                format="wav",
                sample_rate=reader.getframerate(),
                channels=reader.getnchannels(),
                sample_width=reader.getsampwidth(),
            )

    @classmethod
    def load(cls, path: str | Path) -> Audio:
        """Read a WAV file from disk."""
        return cls.from_wav_bytes(Path(path).read_bytes())

    def save(self, path: str | Path) -> Path:
        """Write the clip to ``path``: a real WAV container for ``.wav``, raw bytes otherwise."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() == ".wav":
            target.write_bytes(self.to_wav_bytes())
        else:
            target.write_bytes(self.data)
        return target

    def content_key(self) -> str:
        """A hash of the samples and format, for de-duplicating identical clips."""
        digest = hashlib.sha1(self.data)
        digest.update(f"{self.format}/{self.sample_rate}/{self.channels}/{self.sample_width}".encode())
        return digest.hexdigest()[:16]

    def __repr__(self) -> str:
        return (
            f"Audio({self.duration_s:.2f}s, {self.sample_rate} Hz, {self.channels} ch, "
            f"{8 * self.sample_width}-bit, {len(self.data)} bytes)"
        )

    __str__ = __repr__

    def _repr_html_(self) -> str:
        """An ``<audio>`` player with the clip embedded, for notebooks."""
        import base64

        encoded = base64.b64encode(self.to_wav_bytes()).decode("ascii")
        return f'<audio controls src="data:audio/wav;base64,{encoded}"></audio>'


class ToolCall(BaseModel):
    """A provider-neutral tool (function) call: a name and its arguments."""

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ToolCall):
            return NotImplemented
        return self.name == other.name and self.arguments == other.arguments

    def __hash__(self) -> int:
        return hash((self.name, json.dumps(self.arguments, sort_keys=True, default=repr)))

    def __str__(self) -> str:
        return format_call(self.name, self.arguments)


class AgentResponse(BaseModel):
    """What an agent answered: its tool calls, any text it said, the raw payload, and what it cost.

    ``usage`` holds what the adapter learned, by name: ``input_tokens``, ``output_tokens``,
    ``total_tokens``, ``audio_s`` (seconds of audio sent); absent counts are left out.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    tool_calls: list[ToolCall] = Field(default_factory=list)
    text: str | None = None
    raw: Any | None = None
    usage: dict[str, float] | None = None


class ToolCallMatch(BaseModel):
    """How one expected call fared: the actual call it matched (or came closest to)."""

    expected: ToolCall
    actual: ToolCall | None = None
    matched: bool = False
    details: str = ""


class EvalResult(BaseModel):
    """The evaluation of one agent response against the expected tool calls."""

    passed: bool
    expected: list[ToolCall]
    actual: list[ToolCall]
    matches: list[ToolCallMatch] = Field(default_factory=list)
    details: str = ""

    @property
    def match_rate(self) -> float:
        """Fraction of expected tool calls that matched (1.0 when nothing was expected)."""
        if not self.expected:
            return 1.0
        return sum(1 for match in self.matches if match.matched) / len(self.expected)

    def extra_calls(self, made: Sequence[ToolCall] | None = None) -> list[ToolCall]:
        """The calls among ``made`` (default: :attr:`actual`) that no expected call was paired with, in order."""
        paired = [match.actual for match in self.matches if match.actual is not None]
        return [call for call in (self.actual if made is None else made) if not any(call == m for m in paired)]

    def summary(self) -> str:
        """A readable verdict with one line per expected call and the diff of each miss."""
        status = "PASSED" if self.passed else "FAILED"
        lines = [f"{status} ({self.match_rate:.0%} match rate)"]
        for match in self.matches:
            icon = "+" if match.matched else "-"
            got = f" -> {terminal_safe(match.actual)}" if match.actual is not None else " -> (no match)"
            lines.append(f"  [{icon}] {terminal_safe(match.expected)}{got}")
            if match.details:
                lines.append(f"      {terminal_safe(match.details)}")
        if self.details:
            lines.append(f"  {terminal_safe(self.details)}")
        return "\n".join(lines)


MAX_TRACEBACK_CHARS = 20_000
"""A recorded traceback keeps at most this many characters: its end (the innermost frames and the message)."""


def format_traceback(exc: BaseException, limit: int = MAX_TRACEBACK_CHARS) -> str:
    """``exc``'s formatted traceback, cut to its last ``limit`` characters (a marker says how much was cut)."""
    try:
        text = "".join(traceback_module.format_exception(type(exc), exc, exc.__traceback__))
    except Exception as problem:  # a broken __str__ must not lose the run
        text = f"{type(exc).__name__} (traceback not available: {type(problem).__name__})"
    if len(text) > limit:
        cut = len(text) - limit
        text = f"... ({cut} characters of the traceback cut)\n" + text[-limit:]
    return text


def _exception_message(exc: BaseException) -> str:
    try:
        return str(exc) or repr(exc)
    except Exception:
        return f"<{type(exc).__name__} whose message cannot be shown>"


class RunError(BaseModel):
    """An exception captured from one run, so the batch it belongs to is never lost.

    ``traceback`` is the formatted traceback (at most :data:`MAX_TRACEBACK_CHARS`, the
    innermost end kept) so an agent's bug can be located from the results, an export or
    the history store; ``''`` for errors that have none (a timeout, a cancelled run).
    """

    type: str
    message: str
    stage: str = ""
    traceback: str = ""
    cause: str = ""
    """What it was raised from (``raise ... from``, or while handling another error) as ``Type: message``."""
    agent: str = ""
    """The agent that raised it, when a scenario's agent did: its class (a wrapped agent's name for wrappers)."""

    @classmethod
    def from_exception(cls, exc: BaseException, stage: str = "") -> RunError:
        """The error a run records for ``exc``: its type, message, stage, cause and bounded traceback."""
        cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        return cls(
            type=type(exc).__name__,
            message=_exception_message(exc),
            stage=stage,
            traceback=format_traceback(exc),
            cause=f"{type(cause).__name__}: {_exception_message(cause)}" if cause is not None else "",
        )

    def __str__(self) -> str:
        where = f" during {self.stage}" if self.stage else ""
        who = f" in {self.agent}" if self.agent else ""
        return f"{self.type}{where}{who}: {self.message}"


MAX_RETRIED_KEPT = 10
"""Most earlier attempts a run keeps (the last ones: the newest failure is the most telling)."""
MAX_RETRIED_MESSAGE = 500
"""Longest message an earlier attempt keeps (longer ones are cut, a marker says so)."""


class RetriedAttempt(BaseModel):
    """An earlier attempt of a run that failed and was retried: why, and how long the engine waited.

    Kept short and bounded (at most :data:`MAX_RETRIED_KEPT` per run, messages cut to
    :data:`MAX_RETRIED_MESSAGE` characters, no traceback) so a batch of many retried runs stays small,
    yet a run that passed on its second try still shows the 429 its first try met.
    """

    type: str
    message: str = ""
    stage: str = ""
    retry_after: float | None = None
    """The server's hint in seconds (``Retry-After``), when the error carried one."""
    waited_s: float | None = None
    """Seconds the engine waited before the next attempt (backoff, at least ``retry_after``)."""

    @classmethod
    def from_exception(cls, exc: BaseException, stage: str = "", waited_s: float | None = None) -> RetriedAttempt:
        """The record of a failed attempt raised as ``exc``, message cut to :data:`MAX_RETRIED_MESSAGE`."""
        message = _exception_message(exc)
        if len(message) > MAX_RETRIED_MESSAGE:
            message = message[: MAX_RETRIED_MESSAGE - 20] + f"... ({len(message)} chars)"
        hint = getattr(exc, "retry_after", None)
        retry_after = float(hint) if isinstance(hint, (int, float)) and not isinstance(hint, bool) else None
        return cls(type=type(exc).__name__, message=message, stage=stage, retry_after=retry_after, waited_s=waited_s)

    def __str__(self) -> str:
        return terminal_safe(f"{self.type}: {self.message}" if self.message else self.type)


def retried_text(retried: Sequence[RetriedAttempt] | None) -> str:
    """``"2 retried, last RetryableError"``: short text of a run's earlier attempts ('' when none)."""
    if not retried:
        return ""
    return f"{len(retried)} retried, last {retried[-1].type}"


class SingleRunResult(BaseModel):
    """One run of one prompt: the evaluation plus how the run went.

    Its JSON keeps NaN and infinity (``ser_json_inf_nan="constants"``), so a condition or
    a time that is NaN is NaN again when a stored run is read back.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, ser_json_inf_nan="constants")

    prompt: str
    run_index: int
    eval_result: EvalResult
    status: RunStatus | None = None
    error: RunError | None = None
    latency_s: float | None = None
    synth_s: float | None = None
    attempts: int = 1
    audio_key: str | None = None
    response: AgentResponse | None = None
    prompt_id: str | None = None
    effects: list[str] = Field(default_factory=list)
    seed: int | None = None
    started_at: float | None = None
    transcript: list[dict[str, Any]] | None = None
    retried: tuple[RetriedAttempt, ...] = ()
    """The earlier attempts that failed and were retried (oldest first, at most :data:`MAX_RETRIED_KEPT`)."""
    conditions: Conditions = Field(default_factory=dict)
    """What the run ran under, name → scalar (``{"voice": "en-us", "snr_db": 10}``); empty for a plain batch."""

    @model_validator(mode="after")
    def _fill_derived(self) -> SingleRunResult:
        if self.status is None:
            self.status = "passed" if self.eval_result.passed else "failed"
        if self.prompt_id is None:
            self.prompt_id = prompt_id(self.prompt)
        return self

    @property
    def passed(self) -> bool:
        """True when the run finished and its evaluation passed."""
        return self.status == "passed"

    # -- the Run protocol (russo_nb.model.columns.Run), shared with scenario runs -------------------
    @property
    def expected_calls(self) -> list[ToolCall]:
        """The tool calls the run expected."""
        return self.eval_result.expected

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The tool calls the agent made."""
        return self.eval_result.actual

    @property
    def match_rate(self) -> float:
        """Fraction of expected calls that matched (1.0 when nothing was expected)."""
        return self.eval_result.match_rate

    @property
    def text(self) -> str | None:
        """What the agent said besides its calls (None when nothing, or no response was kept)."""
        return self.response.text if self.response is not None else None

    @property
    def kind(self) -> RunKind:
        """``"prompt"``: one prompt sent once (a scenario run says ``"scenario"``)."""
        return "prompt"

    # -- scenario fields of the Run protocol: neutral on a prompt run ----------------------------
    @property
    def reasoning(self) -> str | None:
        """A prompt run has no judge: None."""
        return None

    @property
    def passed_criteria(self) -> list[str]:
        """A prompt run has no criteria: empty."""
        return []

    @property
    def failed_criteria(self) -> list[str]:
        """A prompt run has no criteria: empty."""
        return []

    @property
    def score(self) -> float | None:
        """A prompt run has no scorers: None."""
        return None

    @property
    def scores(self) -> dict[str, float]:
        """A prompt run has no scorers: empty."""
        return {}

    @property
    def turns(self) -> int | None:
        """A prompt run is one exchange, not counted in turns: None."""
        return None

    @property
    def total_time(self) -> float | None:
        """Not tracked for a prompt run (``latency_s`` is its time inside the agent): None."""
        return None

    @property
    def audio(self) -> dict[str, Audio]:
        """A prompt run carries no clips (the batch keeps them by ``audio_key``): empty."""
        return {}


def _now() -> datetime:
    return datetime.now(timezone.utc)


class BatchMetadata(BaseModel):
    """The parameters of a batch, so two batches can be compared and stored."""

    batch_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    name: str | None = None
    kind: Literal["prompts", "scenarios"] = "prompts"
    agent: str | None = None
    synthesizer: str | None = None
    evaluator: str | None = None
    evaluator_params: dict[str, Any] = Field(default_factory=dict)
    effects: list[str] = Field(default_factory=list)
    seed: int | None = None
    runs_per_prompt: int | None = None
    max_concurrency: int | None = None
    timeout: float | None = None
    retries: int = 0
    started_at: datetime = Field(default_factory=_now)
    finished_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def duration_s(self) -> float | None:
        """Wall-clock seconds the batch took, once finished."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@runtime_checkable
class ColumnarRuns(Protocol):
    """Runs kept as columns (a loaded CSV / Parquet batch, :class:`russo_nb.model.lazy_runs.LazyRuns`).

    Counts and run-table cells come from the columns without building a run object per row;
    indexing or iterating still yields :class:`SingleRunResult` objects.
    """

    def status_counts(self) -> dict[str, int]:
        """How many runs ended in each status, in first-seen order."""
        ...

    def field_values(self, name: str) -> tuple[Sequence[int] | None, list[Any]] | None:
        """Run field ``name`` for every row: ``(None, values)`` or ``(codes, distinct values)``; None: not stored."""
        ...


def count_statuses(runs: Sequence[Any]) -> dict[str, int]:
    """How many of ``runs`` ended in each status, in first-seen order (no status counts as failed)."""
    if isinstance(runs, ColumnarRuns):
        return runs.status_counts()
    counts: dict[str, int] = {}
    for run in runs:
        status = run.status or "failed"
        counts[status] = counts.get(status, 0) + 1
    return counts


def runs_by(runs: Iterable[R], key: Callable[[R], K]) -> dict[K, list[R]]:
    """``runs`` grouped by ``key(run)`` (a prompt, a scenario name), groups and runs in first-seen order.

    The runs themselves, as ``by_prompt`` hands them out; counting groups (rates, intervals) is the one
    per-prompt aggregation, :func:`russo_nb.results.analysis.rows.group_runs`.
    """
    groups: dict[K, list[R]] = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    return groups


class RunCounts:
    """Counts every batch shares, from its runs' ``status`` (prompt runs and scenario runs alike).

    Every count comes from :attr:`status_counts`, which a batch whose runs are kept as columns
    reads from its status column without building the runs.
    """

    runs: list[Any]

    @field_serializer("runs", mode="wrap")
    def _dump_runs(self, runs: Any, handler: Any) -> Any:
        """Runs loaded lazily (kept as columns, records or rows) dump as the list of runs they stand for
        (pydantic reads only real lists): for every batch model built on these counts."""
        return handler(runs if type(runs) is list else list(runs))

    @property
    def total(self) -> int:
        """Number of runs, cancelled ones included."""
        return len(self.runs)

    @property
    def passed_count(self) -> int:
        """Number of runs that passed."""
        return self.status_counts.get("passed", 0)

    @property
    def cancelled_count(self) -> int:
        """Runs that never finished (an interrupted batch): counted, never scored as failures."""
        return self.status_counts.get("cancelled", 0)

    @property
    def finished_count(self) -> int:
        """Runs that ran to the end (passed, failed, error, timeout): the denominator of ``pass_rate``."""
        return self.total - self.cancelled_count

    @property
    def failed_count(self) -> int:
        """Finished runs that did not pass (failed, error or timeout); cancelled runs are not failures."""
        return self.finished_count - self.passed_count

    @property
    def passed(self) -> bool:
        """True only if every run ran and passed."""
        return self.passed_count == self.total

    @property
    def pass_rate(self) -> float:
        """passed / finished runs (cancelled runs left out); NaN when no run finished, as ``summarize`` says."""
        counts = self.status_counts
        finished = sum(counts.values()) - counts.get("cancelled", 0)
        return counts.get("passed", 0) / finished if finished else math.nan

    def tally(self) -> Any:
        """How the runs ended (:class:`russo_nb.model.thresholds.RunTally`): finished, passed, cancelled, ..."""
        from .thresholds import tally_counts

        return tally_counts(self.status_counts)

    @property
    def status_counts(self) -> dict[str, int]:
        """How many runs ended in each status (first-seen order)."""
        return count_statuses(self.runs)


class BatchResult(RunCounts, Rendered, BaseModel):
    """All runs of a batch (prompts × runs), the distinct audio clips, and the parameters.

    ``passed`` is True only if every run passed; ``pass_rate`` is the fraction that did.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    runs: list[SingleRunResult] = Field(default_factory=list)
    audio: dict[str, Audio] = Field(default_factory=dict)
    metadata: BatchMetadata = Field(default_factory=BatchMetadata)

    @property
    def match_rate(self) -> float:
        """Mean match rate across runs."""
        if not self.runs:
            return 1.0
        return sum(run.eval_result.match_rate for run in self.runs) / self.total

    @property
    def prompts(self) -> list[str]:
        """The distinct prompts, in the order they first appear."""
        if isinstance(self.runs, ColumnarRuns):
            stored = self.runs.field_values("prompt")
            if stored is not None:
                codes, values = stored
                if codes is None:
                    return list(dict.fromkeys(values))
                import numpy as np

                _, first = np.unique(np.asarray(codes, dtype=np.int64), return_index=True)
                return list(dict.fromkeys(values[int(code)] for code in np.asarray(codes)[np.sort(first)]))
        return list(self.by_prompt())

    def by_prompt(self) -> dict[str, list[SingleRunResult]]:
        """Runs grouped by prompt text, keeping first-seen order."""
        return runs_by(self.runs, lambda run: run.prompt)

    def audio_for(self, run: SingleRunResult) -> Audio | None:
        """The clip the run's agent heard, from the batch's audio store."""
        if run.audio_key is None:
            return None
        return self.audio.get(run.audio_key)

    def iter_failures(self) -> Iterator[SingleRunResult]:
        """Runs that did not pass, in order."""
        return (run for run in self.runs if run.status != "passed")

    @property
    def usage(self) -> dict[str, float]:
        """Totals of what the agent's adapter reported per run (tokens, audio seconds); empty when none.

        Counts the answer each run kept; usage of retried attempts is not known.
        """
        runs = self.runs
        stored = runs.field_values("response") if isinstance(runs, ColumnarRuns) else None
        if stored is None:
            weighted: Any = ((run.response, 1) for run in runs)
        else:  # runs kept as columns: each distinct response once, times how many runs kept it
            codes, values = stored
            if codes is None:
                weighted = ((value, 1) for value in values)
            else:
                import numpy as np

                counts = np.bincount(np.asarray(codes, dtype=np.int64), minlength=len(values)).tolist()
                weighted = ((value, count) for value, count in zip(values, counts, strict=True) if count)
        totals: dict[str, float] = {}
        for response, count in weighted:
            usage = response.usage if response is not None else None
            for key, value in (usage or {}).items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                    totals[key] = totals.get(key, 0.0) + float(value) * count
        return totals

    def to_dataframe(self) -> Any:
        """One row per run as a pandas DataFrame (see :func:`russo_nb.analysis.runs_frame` for the columns)."""
        from .rendering import render

        return render("runs_frame", self)

    def __repr__(self) -> str:
        return (
            f"BatchResult({self.passed_count}/{self.finished_count} passed, "
            f"pass_rate={self.pass_rate:.1%}, prompts={len(self.prompts)}"
            + (f", cancelled={self.cancelled_count})" if self.cancelled_count else ")")
        )


def as_batch_result(result: Any) -> BatchResult:
    """A BatchResult as it is; a scenario batch through its ``to_batch_result()``; else a clear error."""
    from .errors import InvalidArgumentError

    if isinstance(result, BatchResult):
        return result
    convert = getattr(result, "to_batch_result", None)
    if callable(convert):
        return convert()
    raise InvalidArgumentError(
        f"expected a BatchResult (or a ScenarioBatch), got {type(result).__name__}; "
        "pass the result of russo_nb.run(...)"
    )
