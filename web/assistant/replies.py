"""What the assistant answers (``Reply``) and what one chat remembers (``Conversation``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Ref = tuple[str, int]  # (folder, uid)


@dataclass
class Reply:
    """An answer: text to stream and buttons for the next step."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Pending:
    """An action waiting for the user's confirmation."""

    id: str
    run: Callable[[], Reply]


@dataclass
class Clarification:
    """A question waiting for its answer: the choices shown and what to do with the one picked."""

    refs: list[Ref]  # one message per choice (for a thread: its newest message)
    labels: list[str]  # folded words naming each choice: people, addresses, subject
    then: Callable[[Ref], Reply]


@dataclass
class Conversation:
    """What one chat remembers between requests: language, last list, pending actions."""

    lang: str = "en"
    shown: list[Ref] = field(default_factory=list)
    current: Ref | None = None
    pending: dict[str, Pending] = field(default_factory=dict)
    awaiting: Callable[[str], Reply] | None = None
    clarifying: Clarification | None = None  # a "which one?" waiting for its answer
    today: dt.date | None = None  # fixed in tests; None means the real date
    last_search: Any = None  # the Criteria of the last list shown
    last_action: str = ""  # the last action on one message ("read", "summarize"...)

    def date(self) -> dt.date:
        """Today, as requests about time understand it."""
        return self.today or dt.date.today()
