"""GoogleSynthesizer: Gemini text-to-speech (russo's ``russo.synthesizers.google``; extra ``google``).

Auth as in russo: ``api_key=``, or ``vertexai=True`` with ``project`` / ``location``, else
``GOOGLE_API_KEY`` / ``GOOGLE_CLOUD_PROJECT`` + ``GOOGLE_CLOUD_LOCATION`` from the environment. Beyond
russo, ``client=`` takes a configured ``genai.Client`` (a proxy, a local server via ``http_options``).
The API returns 16-bit mono PCM at 24 kHz; an answer without audio is an error, not an empty clip.
"""

from __future__ import annotations

from typing import Any, Literal

from ...model.errors import AgentResponseError
from ...model.extras import require
from ...model.providers import genai_client, sdk_error
from ...model.types import Audio

require("google.genai", "GoogleSynthesizer")

from google import genai  # noqa: E402 - after the check that names the extra to install; russo's tests patch it
from google.genai import types  # noqa: E402

__all__ = ["GoogleSynthesizer"]


def _client_from_environment(api_key: str | None, vertexai: bool, project: str | None, location: str | None) -> Any:
    """A ``genai.Client`` (the module attribute, so ``patch("russo_nb.synthesizers.google.genai")`` works)."""
    return genai_client(
        genai, "GoogleSynthesizer", api_key=api_key, vertexai=vertexai, project=project, location=location
    )


class GoogleSynthesizer:
    """Gemini TTS voice ``voice`` (``"Kore"``, ``"Puck"``, ...) with model ``model``."""

    def __init__(
        self,
        *,
        voice: str = "Kore",
        model: str = "gemini-2.5-flash-preview-tts",
        api_key: str | None = None,
        vertexai: bool = False,
        project: str | None = None,
        location: str | None = None,
        audio_format: Literal["wav", "mp3", "pcm", "ogg"] = "wav",
        sample_rate: int = 24000,
        client: Any | None = None,
    ) -> None:
        self.voice = voice
        self.model = model
        self.audio_format = audio_format
        self.sample_rate = sample_rate
        self.name = f"GoogleSynthesizer({voice})"
        self._client = client if client is not None else _client_from_environment(api_key, vertexai, project, location)

    async def synthesize(self, text: str) -> Audio:
        """The spoken ``text`` as 16-bit mono PCM."""
        config = types.GenerateContentConfig(
            response_modalities=["AUDIO"],
            speech_config=types.SpeechConfig(
                voice_config=types.VoiceConfig(prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=self.voice))
            ),
        )
        contents = types.Content(role="user", parts=[types.Part.from_text(text=text)])
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except Exception as exc:
            raise sdk_error(exc, self.name) from exc
        data = b""
        for candidate in (response.candidates or [])[:1]:
            for part in (candidate.content.parts if candidate.content else None) or []:
                if part.inline_data and part.inline_data.data:
                    data += part.inline_data.data
        if not data:
            raise AgentResponseError(f"{self.name}: the answer for {text[:60]!r} holds no audio")
        return Audio(data=data, format=self.audio_format, sample_rate=self.sample_rate)

    def __repr__(self) -> str:
        return f"GoogleSynthesizer(voice={self.voice!r}, model={self.model!r})"
