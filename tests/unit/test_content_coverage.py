"""Which messages a search must parse first: the index remembers, per process, up to which
UID a mailbox's messages all have content, and never trusts that after a rebuild, a
new index file, or for a message appended since."""

from __future__ import annotations

from pathlib import Path

from mailrs.store.content import content_of
from mailrs.store.mailbox import MailboxService, MessageRef
from mailrs.store.maildir import MaildirStore

USER = "ann@example.test"


def _message(n: int) -> bytes:
    return f"From: Sender {n} <s{n}@example.org>\r\nSubject: note {n}\r\n\r\nbody {n}\r\n".encode()


def _service(tmp_path: Path, count: int) -> MailboxService:
    store = MaildirStore(tmp_path)
    store.create_user(USER)
    service = MailboxService(store, USER, content_parser=content_of)
    for n in range(count):
        service.append("INBOX", _message(n))
    return service


def _lacking(service: MailboxService) -> list[int]:
    return service.index.without_content("INBOX", [m.uid for m in service.messages("INBOX")])


def test_only_new_messages_lack_content_after_a_search(tmp_path: Path) -> None:
    service = _service(tmp_path, 80)  # more than are looked up one by one
    assert len(_lacking(service)) == 80
    service.ensure_content("INBOX", [MessageRef.of(m) for m in service.messages("INBOX")])
    assert _lacking(service) == []
    assert _lacking(service) == []  # remembered: only UIDs above the covered one are looked at
    appended = service.append("INBOX", _message(99)).uid
    assert _lacking(service) == [appended]
    service.ensure_content("INBOX", [MessageRef.of(m) for m in service.messages("INBOX")])
    assert _lacking(service) == []
    assert service.search_text("INBOX", "hfrom", "s99@example.org") == {appended}


def test_a_rebuild_or_a_new_index_file_is_not_trusted(tmp_path: Path) -> None:
    service = _service(tmp_path, 70)
    service.ensure_content("INBOX", [MessageRef.of(m) for m in service.messages("INBOX")])
    assert _lacking(service) == []
    service.rebuild_index()  # drops every parsed content, keeps the UIDs
    assert len(_lacking(service)) == 70
    service.ensure_content("INBOX", [MessageRef.of(m) for m in service.messages("INBOX")])
    assert _lacking(service) == []
    path = service.index.path
    service.close()
    path.unlink()  # a lost index: a fresh one (new UIDVALIDITY) has no content at all
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    assert len(_lacking(service)) == 70
