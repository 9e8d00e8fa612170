"""The [assistant] section: the chat assistant's engine and limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mailrs.config.fields import Section
from mailrs.errors import ConfigError

ENGINES = ("offline", "openai")


@dataclass(frozen=True)
class AssistantSettings(Section):
    """The chat assistant: the offline engine or an OpenAI-compatible endpoint."""

    section: ClassVar[str] = "assistant"

    engine: str = "offline"
    endpoint: str = ""
    model: str = ""
    api_key: str = ""
    timeout_secs: float = 30.0
    history_limit: int = 50
    max_message_chars: int = 4000

    def validate(self) -> None:
        """A known engine, an endpoint URL for openai, positive limits."""
        if self.engine not in ENGINES:
            raise ConfigError(f"assistant.engine: must be offline or openai, got {self.engine!r}")
        if self.engine == "openai" and not self.endpoint.startswith(("http://", "https://")):
            raise ConfigError("assistant.endpoint: an http(s) URL is needed for engine = openai")
        if self.timeout_secs <= 0 or self.history_limit < 0:
            raise ConfigError("assistant.timeout_secs/history_limit: must be positive")
        if self.max_message_chars <= 0:
            raise ConfigError("assistant.max_message_chars: must be greater than 0")
