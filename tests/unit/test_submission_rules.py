"""Submitted mail: Message-ID and Date added when missing; who may use which sender."""

from __future__ import annotations

import email
import email.policy

import pytest

from mailrs.accounts.users import ensure_domain
from mailrs.db.engine import Database
from mailrs.db.models import Alias
from mailrs.queue.submission import complete_headers, header_names, sender_allowed


def test_missing_message_id_and_date_are_added() -> None:
    raw = b"From: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n"
    done = complete_headers(raw, "mx.example.test")
    parsed = email.message_from_bytes(done, policy=email.policy.default)
    assert parsed["Message-ID"].endswith("@mx.example.test>")
    assert parsed["Date"].datetime is not None
    assert done.endswith(raw) and b"\r\n" in done.split(b"Subject")[0]


def test_existing_headers_are_kept_and_body_lines_are_not_headers() -> None:
    raw = b"Message-Id: <x@y>\nDATE: Mon, 1 Jan 2024 00:00:00 +0000\n\nDate: not a header\n"
    assert complete_headers(raw, "h") == raw
    body_only = b"Subject: s\n\nMessage-ID: <in body>\n"
    assert b"Message-ID: <" in complete_headers(body_only, "h").split(b"Subject")[0]
    assert header_names(b"X-A: 1\r\n folded: no\r\nB: 2\r\n\r\nC: 3") == {"x-a", "b"}


def test_each_message_gets_its_own_id() -> None:
    ids = {complete_headers(b"Subject: s\r\n\r\n", "h").split(b"\r\n")[0] for _ in range(20)}
    assert len(ids) == 20 and all(i.startswith(b"Message-ID: <") for i in ids)


@pytest.mark.parametrize(
    ("policy", "sender", "allowed"),
    [
        ("own", "alice@example.test", True),
        ("own", "ALICE@example.test", True),
        ("own", "alice+lists@example.test", True),
        ("own", "sales@example.test", True),  # an alias that reaches alice
        ("own", "bob@example.test", False),
        ("own", "alice@other.test", False),
        ("own", "", True),
        ("domain", "bob@example.test", True),
        ("domain", "alice@other.test", False),
        ("any", "anyone@anywhere.test", True),
    ],
)
def test_sender_policy(database: Database, policy: str, sender: str, allowed: bool) -> None:
    with database.session() as session:
        domain = ensure_domain(session, "example.test")
        session.add(
            Alias(
                source="sales@example.test", destination="alice@example.test", domain_id=domain.id
            )
        )
        session.commit()
        assert sender_allowed(session, "alice@example.test", sender, policy) is allowed


def test_unknown_policy_is_an_error(database: Database) -> None:
    with database.session() as session, pytest.raises(ValueError):
        sender_allowed(session, "alice@example.test", "x@y.test", "everyone")
