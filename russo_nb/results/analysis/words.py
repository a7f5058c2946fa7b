"""Word-level alignment of what was said against what was heard, and its word error rate.

The prompt and the recognizer's transcription are compared as words (lower case, punctuation
dropped, since recognizers write neither): a Levenshtein alignment marks each word as kept,
substituted, deleted (said but not heard) or inserted (heard but not said). The word error rate
is ``(substitutions + deletions + insertions) / words said`` — it can exceed 1 when the recognizer
heard many words that were never said.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ...model.columns import Run
    from ...model.types import AgentResponse

__all__ = ["WordDiff", "WordOp", "heard_text", "normalize_words", "response_heard", "word_diff"]

WordOpKind = Literal["equal", "sub", "del", "ins"]

_WORD = re.compile(r"[\w']+", re.UNICODE)


def normalize_words(text: str | None) -> list[str]:
    """The words of ``text`` as a recognizer writes them: lower case, no punctuation."""
    if not text:
        return []
    return [word.strip("'") for word in _WORD.findall(text.lower()) if word.strip("'")]


@dataclass(frozen=True)
class WordOp:
    """One step of the alignment: ``said`` is the prompt's word, ``heard`` the transcription's."""

    kind: WordOpKind
    said: str | None = None
    heard: str | None = None


@dataclass(frozen=True)
class WordDiff:
    """The alignment of a reference (said) against a hypothesis (heard), with its error counts."""

    ops: list[WordOp] = field(default_factory=list)

    @property
    def substitutions(self) -> int:
        return sum(1 for op in self.ops if op.kind == "sub")

    @property
    def deletions(self) -> int:
        return sum(1 for op in self.ops if op.kind == "del")

    @property
    def insertions(self) -> int:
        return sum(1 for op in self.ops if op.kind == "ins")

    @property
    def reference_words(self) -> int:
        """How many words were said (the WER's denominator)."""
        return sum(1 for op in self.ops if op.kind != "ins")

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float | None:
        """Word error rate; None when nothing was said (no denominator)."""
        words = self.reference_words
        return self.errors / words if words else None

    def rendered(self, formats: Mapping[str, Callable[[WordOp], str]]) -> list[str]:
        """Each op through the formatter of its kind (``equal``, ``sub``, ``del``, ``ins``): the text and
        the notebook's HTML render a diff this one way."""
        return [formats[op.kind](op) for op in self.ops]

    def __str__(self) -> str:
        parts = self.rendered(
            {
                "equal": lambda op: op.said or "",
                "sub": lambda op: f"[{op.said}->{op.heard}]",
                "del": lambda op: f"[-{op.said}]",
                "ins": lambda op: f"[+{op.heard}]",
            }
        )
        wer = self.wer
        rate = "n/a" if wer is None else f"{wer:.0%}"
        return f"{' '.join(parts)} (WER {rate})"


def word_diff(said: str | None, heard: str | None) -> WordDiff:
    """Align the words of ``said`` (the prompt) with ``heard`` (the transcription).

    Among alignments of equal cost, words left over at the end of the longer text are read as
    missed (or extra) and a substitution is kept where the two texts are in step, so "book a
    flight to oslo please" vs "book a flight to osaka" reads as oslo -> osaka and a missed "please".
    """
    ref = normalize_words(said)
    hyp = normalize_words(heard)
    n, m = len(ref), len(hyp)
    # cost[i][j]: edit distance between ref[:i] and hyp[:j]
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = i
    for j in range(1, m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        row, above = cost[i], cost[i - 1]
        word = ref[i - 1]
        for j in range(1, m + 1):
            diagonal = above[j - 1] + (0 if word == hyp[j - 1] else 1)
            row[j] = min(diagonal, above[j] + 1, row[j - 1] + 1)
    ops: list[WordOp] = []
    i, j = n, m
    while i > 0 or j > 0:
        here = cost[i][j]
        if i > 0 and j > 0 and ref[i - 1] == hyp[j - 1] and here == cost[i - 1][j - 1]:
            ops.append(WordOp("equal", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and j > 0 and here == cost[i - 1][j - 1] + 1 and (i == j or n == m):
            ops.append(WordOp("sub", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and here == cost[i - 1][j] + 1:
            ops.append(WordOp("del", said=ref[i - 1]))
            i -= 1
        elif j > 0 and here == cost[i][j - 1] + 1:
            ops.append(WordOp("ins", heard=hyp[j - 1]))
            j -= 1
        else:
            ops.append(WordOp("sub", ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
    ops.reverse()
    return WordDiff(ops)


def heard_text(run: Run) -> str | None:
    """What a voice agent reports it heard (its transcription of the prompt audio), or None.

    Agents report it in their raw payload as ``transcript`` (the offline LocalVoiceAgent does);
    a text-mode run, a scenario run or an agent that does not say has none.
    """
    return response_heard(run.response)


def response_heard(response: AgentResponse | None) -> str | None:
    """What an agent's response says it heard (see :func:`heard_text`), or None."""
    raw = response.raw if response is not None else None
    if isinstance(raw, dict):
        for key in ("transcript", "heard", "input_transcript"):
            value = raw.get(key)
            if isinstance(value, str):
                return value
    return None
