"""A conversation as chat bubbles: the OpenAI-format messages of a scenario run or a multi-turn prompt run.

Shared by the run detail, the explorer's transcripts and a scenario run's own HTML. Everything
a message holds (text, tool calls, arguments) is escaped; a turn whose clip is at hand gets a player.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...model.types import format_call
from .kit import escape_text

__all__ = ["audio_tag", "transcript_html"]


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict):
                texts.append(str(part.get("text") or part.get("transcript") or f"[{part.get('type', 'part')}]"))
            else:
                texts.append(str(part))
        return " ".join(texts)
    return json.dumps(content, default=str) if isinstance(content, dict) else str(content)


def _message_calls(message: dict[str, Any]) -> list[str]:
    calls = []
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict):
            calls.append(str(call))
            continue
        function = call.get("function") or call
        name = function.get("name", "?")
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                calls.append(f"{name}({arguments})")
                continue
        if isinstance(arguments, dict):
            calls.append(format_call(str(name), arguments))
        else:
            calls.append(f"{name}({arguments!r})")
    return calls


def audio_tag(clip: Any) -> str:
    """An ``<audio>`` player with the clip embedded (a data URI), or '' if it cannot be encoded."""
    try:
        encoded = base64.b64encode(clip.to_wav_bytes()).decode("ascii")
    except Exception:  # a clip in a format without a WAV form: the bubble still shows its text
        return ""
    return f'<audio class="russo-turn-audio" controls preload="none" src="data:audio/wav;base64,{encoded}"></audio>'


def transcript_html(
    messages: Sequence[dict[str, Any]],
    *,
    verdict: Any = None,
    max_messages: int = 200,
    audio: Mapping[str, Any] | None = None,
) -> str:
    """A conversation as chat bubbles: user right, assistant left, tool calls and results inline.

    ``audio`` maps a message's ``audio_key`` to the clip the agent heard (voice scenarios):
    that bubble then carries a player, so each turn can be listened to.
    """
    bubbles = []
    for message in list(messages)[:max_messages]:
        if not isinstance(message, dict):
            bubbles.append(f"<div class='msg system'>{escape_text(str(message))}</div>")
            continue
        role = str(message.get("role", "?"))
        css = role if role in ("user", "assistant", "tool", "system") else "system"
        text = _content_text(message.get("content"))
        calls = _message_calls(message)
        label = role
        if role == "tool" and message.get("name"):
            label = f"tool {message['name']}"
        body = escape_text(text, 2000) if text else ""
        body += "".join(f"<span class='call'>→ {escape_text(call, 300)}</span>" for call in calls)
        clip = audio.get(str(message.get("audio_key"))) if audio and message.get("audio_key") else None
        if clip is not None:
            body += audio_tag(clip)
        if not body:  # an empty turn (a reply with neither text nor a call) is not a bubble
            continue
        bubbles.append(f"<div class='msg {css}'><span class='role'>{escape_text(label)}</span>{body}</div>")
    if len(messages) > max_messages:
        bubbles.append(f"<div class='msg system'>… {len(messages) - max_messages} more messages omitted</div>")
    verdict_html = verdict if isinstance(verdict, str) else ""
    return f"<div class='chat'>{''.join(bubbles)}</div>{verdict_html}"
