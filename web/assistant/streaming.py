"""Cutting an answer into tokens (a word with its following space) for streaming."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\s*\S+\s*|\s+")


def tokens(text: str) -> list[str]:
    """The pieces of ``text`` to stream, word by word; joined they give ``text`` back."""
    return _TOKEN.findall(text)
