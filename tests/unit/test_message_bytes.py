"""``message_bytes``: the one builder of what spam scoring, delivery and relay see."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailrs.config import Settings
from mailrs.db.models import Message, utcnow
from mailrs.errors import SpoolError
from mailrs.queue.message_bytes import message_bytes, return_path
from mailrs.queue.spool import Spool, new_queue_id

ADDED = "Received: from client.test ([192.0.2.7])\r\n\tby mx.example.test (mailrs); x\r\n"
FORGED = b"Authentication-Results: mx.example.test; dmarc=pass header.from=bank.test\r\n"
OTHERS = b"Authentication-Results: other.test; spf=fail\r\n"
BODY = b"From: x@bank.test\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def spool(settings: Settings) -> Spool:
    spool = Spool(settings.spool_path)
    spool.ensure()
    return spool


def message(spool: Spool, client: str, auth_user: str | None = None) -> Message:
    queue_id = new_queue_id()
    spool.write(queue_id, FORGED + OTHERS + BODY)
    return Message(
        queue_id=queue_id,
        mail_from="x@bank.test",
        size=0,
        received_at=utcnow(),
        received_by="mx.example.test",
        client_addr=client,
        auth_user=auth_user,
        added_headers=ADDED,
    )


def checking(settings: Settings) -> Settings:
    return replace(settings, spam=replace(settings.spam, check_sender_auth=True))


def test_mail_from_outside_loses_results_forged_in_our_name(
    settings: Settings, spool: Spool
) -> None:
    outside = message(spool, "192.0.2.7")
    data = message_bytes(checking(settings), spool, outside)
    assert data == ADDED.encode() + OTHERS + BODY


def test_trusted_or_authenticated_mail_keeps_its_bytes(settings: Settings, spool: Spool) -> None:
    for trusted in (message(spool, "127.0.0.1"), message(spool, "192.0.2.7", "bob@example.test")):
        data = message_bytes(checking(settings), spool, trusted)
        assert data == ADDED.encode() + FORGED + OTHERS + BODY
    unchecked = message(spool, "192.0.2.7")  # check_sender_auth off: nothing is ours to strip
    assert message_bytes(settings, spool, unchecked) == ADDED.encode() + FORGED + OTHERS + BODY


def test_a_mailbox_copy_starts_with_return_path(settings: Settings, spool: Spool) -> None:
    outside = message(spool, "192.0.2.7")
    data = message_bytes(checking(settings), spool, outside, for_mailbox=True)
    assert data.startswith(b"Return-Path: <x@bank.test>\r\nReceived: from client.test")
    assert data == return_path("x@bank.test") + message_bytes(checking(settings), spool, outside)
    assert return_path("") == b"Return-Path: <>\r\n"


def test_added_headers_keep_undecodable_bytes(settings: Settings, spool: Spool) -> None:
    raw = message(spool, "127.0.0.1")
    raw.added_headers = "X-Odd: caf\udce9\r\n"  # a byte that was not UTF-8, surrogate-escaped
    assert message_bytes(settings, spool, raw).startswith(b"X-Odd: caf\xe9\r\n")


def test_a_lost_spool_file_is_a_spool_error(settings: Settings, spool: Spool) -> None:
    lost = message(spool, "127.0.0.1")
    spool.remove(lost.queue_id)
    with pytest.raises(SpoolError):
        message_bytes(settings, spool, lost)
