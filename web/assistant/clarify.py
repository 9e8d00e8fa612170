"""Clarifying questions: when a request fits several threads or several people, the
assistant lists them and the next answer picks one.

The answer may be a number or an ordinal ("the second one", "le premier"), a name ("Marc
Petit", "celle d'Alice Martin") or words of a subject ("the one about the hotel",
"celui sur l'hôtel"). ``choose`` finds the one choice it names, or None when it names
none (the answer is then read as a new request).
"""

from __future__ import annotations

import re

from web.assistant import parsing
from web.assistant.language import fold
from web.assistant.lexicon import STOP_WORDS, stem, words
from web.assistant.replies import Clarification, Ref

# words an answer to "which one?" uses that name no choice
ANSWER_WORDS = frozenset(
    [
        "one",
        "ones",
        "the",
        "that",
        "this",
        "celui",
        "celle",
        "ceux",
        "celles-la",
        "celui-la",
        "celle-la",
        "thread",
        "fil",
        "conversation",
        "discussion",
        "which",
        "lequel",
        "laquelle",
        "mean",
        "veux",
        "dire",
        "about",
        "sur",
        "with",
        "avec",
    ]
)


def choose(text: str, question: Clarification) -> Ref | None:
    """The choice an answer names, or None."""
    number = parsing.target(text)
    if isinstance(number, int):
        return question.refs[number - 1] if 1 <= number <= len(question.refs) else None
    said = [
        stem(w)
        for w in words(fold(parsing.without_quotes_and_addresses(text)))
        if len(w) >= 3 and w not in STOP_WORDS and w not in ANSWER_WORDS
    ]
    said += [a.lower() for a in parsing.addresses(text)]
    if not said:
        return None
    scores = [sum(_names(label, w) for w in said) for label in question.labels]
    best = max(scores)
    if best == 0 or scores.count(best) > 1:
        return None
    return question.refs[scores.index(best)]


def _names(label: str, word: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(word)}", label) is not None
