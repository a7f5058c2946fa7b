"""litellm's response objects, reproduced for tests because litellm itself is not installed.

litellm 1.110.2 adds 238 MB to this environment (186 MB for litellm alone, 18 new packages) and takes
about 27 s to import, so the dev extra does without it. What LangWatch Scenario's examples hand back
is ``litellm.completion(...).choices[0].message``: a ``litellm.types.utils.Message``. These classes
behave as that one does (read from litellm's source, written here, not copied):

- everything is an ``openai._models.BaseModel`` (litellm's ``OpenAIObject``), so extra attributes are kept;
- a ``Message`` is made with ``content`` / ``role`` / ``tool_calls`` / ``function_call`` set (None when
  not given, an empty tool list becomes None) and the optional fields it was not given (``audio``,
  ``refusal``, ``reasoning_content``, ...) *deleted* from the instance, so ``model_dump()`` leaves them out;
  ``provider_specific_fields`` is a field, None unless the provider sent some;
- a tool call sets ``function`` / ``id`` / ``type`` as attributes after construction (an id is made up
  when none is given) and its ``function.arguments`` is always a string;
- ``message["content"]`` and ``message.get("content")`` work as attribute reads.

:func:`completion` is ``litellm.completion`` for the ``openai/`` provider: the prefix is dropped and
the request goes through the real ``openai`` client to ``api_base`` (else ``OPENAI_BASE_URL``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

import openai
from openai._models import BaseModel as OpenAIObject
from pydantic import Field


class SafeDelete:
    """litellm's SafeAttributeModel: deleting an attribute that is not set is a no-op."""

    def __delattr__(self, name: str) -> None:
        try:
            if name in type(self).__pydantic_fields__ and name in self.__dict__:
                object.__delattr__(self, name)
                return
            super().__delattr__(name)
        except AttributeError:
            pass


class Function(OpenAIObject):
    arguments: str
    name: str | None

    def __init__(self, arguments: dict | str | None = None, name: str | None = None, **params: Any) -> None:
        text = json.dumps(arguments) if isinstance(arguments, dict) else (arguments or "")
        super().__init__(arguments=text, name=name)


class ChatCompletionMessageToolCall(OpenAIObject):
    def __init__(self, function: dict | Function, id: str | None = None, type: str | None = None, **params: Any):
        super().__init__(**params)
        self.function = Function(**function) if isinstance(function, dict) else function
        self.id = id if id is not None else str(uuid.uuid4())
        self.type = type if type is not None else "function"


class Message(SafeDelete, OpenAIObject):
    content: str | None
    role: Literal["assistant", "user", "system", "tool", "function"]
    refusal: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None
    function_call: Any | None
    audio: Any | None = None
    reasoning_content: str | None = None
    provider_specific_fields: dict[str, Any] | None = Field(default=None)

    def __init__(
        self,
        content: str | None = None,
        role: str = "assistant",
        function_call: Any = None,
        tool_calls: list | None = None,
        provider_specific_fields: dict[str, Any] | None = None,
        **params: Any,
    ) -> None:
        calls = [ChatCompletionMessageToolCall(**call) if isinstance(call, dict) else call for call in tool_calls or []]
        super().__init__(
            content=content, role=role or "assistant", function_call=function_call, tool_calls=calls or None, **params
        )
        for optional in ("audio", "refusal", "reasoning_content"):
            if optional not in params:
                delattr(self, optional)  # litellm deletes the optional fields it was not given
        if provider_specific_fields:
            self.provider_specific_fields = provider_specific_fields

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


class Choices(OpenAIObject):
    finish_reason: str
    index: int
    message: Message


class ModelResponse(OpenAIObject):
    id: str
    model: str | None = None
    object: str = "chat.completion"
    choices: list[Choices]


def completion(
    model: str, messages: list[Any], *, api_base: str | None = None, api_key: str | None = None, **kwargs: Any
) -> ModelResponse:
    """``litellm.completion`` for ``openai/<model>``: real HTTP through the openai client, litellm's objects back."""
    provider, _, name = model.partition("/")
    assert provider == "openai", "only litellm's openai/ provider is reproduced here"
    client = openai.OpenAI(base_url=api_base, api_key=api_key)  # None: OPENAI_BASE_URL / OPENAI_API_KEY, as litellm
    wire = [m if isinstance(m, dict) else m.model_dump(exclude_none=True) for m in messages]
    raw = client.chat.completions.create(model=name, messages=wire, **kwargs)
    choices = []
    for choice in raw.choices:
        sent = choice.message.model_dump(exclude_none=True)
        message = Message(
            content=sent.get("content"),
            role=sent.get("role", "assistant"),
            tool_calls=sent.get("tool_calls"),
            provider_specific_fields={"served_by": "local"},
        )
        choices.append(Choices(finish_reason=choice.finish_reason or "stop", index=choice.index, message=message))
    return ModelResponse(id=raw.id, model=raw.model, choices=choices)
