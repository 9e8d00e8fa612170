"""Message summaries for lists: encoded words, raw UTF-8, broken headers."""

from __future__ import annotations

import datetime as dt

from mailrs.store.summaries import summarize


def test_encoded_words_and_date() -> None:
    summary = summarize(
        b"From: =?utf-8?q?Ren=C3=A9e?= <renee@example.org>\r\n"
        b"Subject: =?iso-8859-1?q?caf=E9?=\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n"
        b"Message-ID: <a@b>\r\n\r\nbody"
    )
    assert summary.sender == "Renée <renee@example.org>"
    assert summary.subject == "café"
    assert summary.date == dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    assert summary.message_id == "<a@b>"


def test_raw_utf8_and_latin1_headers() -> None:
    assert summarize("Subject: Café — jeudi\r\n\r\nx".encode()).subject == "Café — jeudi"
    assert summarize("Subject: Café\r\n\r\nx".encode("latin-1")).subject == "Café"


def test_broken_headers_never_raise() -> None:
    summary = summarize(b"Subject: =?bogus?x?zz?=\r\nDate: not a date\r\n\r\n")
    assert summary.date is None
    assert summary.subject
    empty = summarize(b"")
    assert (empty.subject, empty.sender, empty.date) == ("", "", None)
    lf_only = summarize(b"Subject: bare LF\n\nbody\n")
    assert lf_only.subject == "bare LF"
