"""Short extractive summaries of a message or a thread, without any outside service.

Quoted replies (``>`` lines, "On … wrote:"), signatures and forwarded headers are left
out; the first sentences of what remains make the summary.
"""

from __future__ import annotations

import re

MAX_SENTENCES = 3
MAX_CHARS = 400
_QUOTE_INTRO = re.compile(r"^(on .+ wrote:|le .+ a [ée]crit ?:|-{5,}.*(forwarded|transf).*)$", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|tr|aw|wg)\s*(\[\d+\])?\s*:\s*)+", re.I)


def own_text(text: str) -> str:
    """The part of a body the sender wrote (no quotes, no signature, no forwarded part)."""
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in ("--", "-- ") or _QUOTE_INTRO.match(stripped):
            break
        if stripped.startswith(">"):
            continue
        kept.append(stripped)
    return " ".join(" ".join(kept).split())


def summarize_text(text: str) -> str:
    """The first sentences of the sender's own words, at most ``MAX_CHARS`` characters."""
    words = own_text(text)
    if not words:
        return ""
    sentences = _SENTENCE.split(words)
    summary = " ".join(sentences[:MAX_SENTENCES])
    if len(summary) > MAX_CHARS:
        summary = summary[: MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return summary


def bare_subject(subject: str) -> str:
    """The subject without its Re:/Fwd:/TR: prefixes, as written."""
    return _SUBJECT_PREFIX.sub("", subject).strip()


def thread_key(subject: str) -> str:
    """The subject without Re:/Fwd:/TR: prefixes, lower-cased: messages of one thread share it."""
    return " ".join(_SUBJECT_PREFIX.sub("", subject).split()).lower()
