"""QRESYNC (RFC 7162): what a client that knew a mailbox at some MODSEQ has missed.

The index remembers each expunged UID with the MODSEQ of its expunge
(``MailIndex.vanished_since``). Where that record does not reach back far enough (an
index older than it), every UID the client may know that is not in the mailbox is
reported as vanished: RFC 7162 allows UIDs expunged earlier, or never used, in
``VANISHED (EARLIER)``; a client only forgets what it does not have.
"""

from __future__ import annotations

from imapd.commands.base import Context
from imapd.parsed import Qresync
from imapd.protocol import flags_from_letters
from imapd.responses import Atom, Value, fetch_line, untagged
from imapd.sequences import SequenceSet, compress
from imapd.session import SelectedMailbox


def _in_set(uid: int, known: SequenceSet | None, largest: int) -> bool:
    if known is None:
        return True
    for first, last in known.ranges:
        low = largest if first is None else first
        high = largest if last is None else last
        if min(low, high) <= uid <= max(low, high):
            return True
    return False


def _spans(known: SequenceSet | None, largest: int) -> list[tuple[int, int]]:
    """The UID ranges a client may know, clipped to the UIDs ever handed out."""
    if known is None:
        return [(1, largest)] if largest else []
    spans = []
    for first, last in known.ranges:
        low = largest if first is None else first
        high = largest if last is None else last
        low, high = min(low, high), min(max(low, high), largest)
        if low <= high:
            spans.append((low, high))
    return spans


async def vanished_uids(
    ctx: Context, box: SelectedMailbox, modseq: int, known: SequenceSet | None
) -> list[int]:
    """UIDs in ``known`` (None: any) expunged after ``modseq``, ascending."""
    largest = box.uidnext - 1
    recorded = await ctx.user_mail().vanished_since(box.name, modseq)
    present = set(box.uids)
    if recorded is not None:
        return [u for u in recorded if u not in present and _in_set(u, known, largest)]
    gone: set[int] = set()
    for low, high in _spans(known, largest):
        gone.update(u for u in range(low, high + 1) if u not in present)
    return sorted(gone)


def changed_lines(box: SelectedMailbox, modseq: int, known: SequenceSet | None) -> list[bytes]:
    """``* n FETCH (UID FLAGS MODSEQ)`` for each message changed after ``modseq``."""
    largest = box.uidnext - 1
    lines = []
    for seq, message in enumerate(box.messages, start=1):
        if message.modseq <= modseq or not _in_set(message.uid, known, largest):
            continue
        names = flags_from_letters(message.flags, message.uid in box.recent, message.keywords)
        items: list[tuple[str, Value]] = [
            ("UID", message.uid),
            ("FLAGS", [Atom(f) for f in names]),
            ("MODSEQ", [message.modseq]),
        ]
        lines.append(fetch_line(seq, items))
    return lines


async def resync_lines(ctx: Context, box: SelectedMailbox, params: Qresync) -> list[bytes]:
    """SELECT ... (QRESYNC ...): ``VANISHED (EARLIER)``, then the changed messages' flags."""
    lines = []
    gone = await vanished_uids(ctx, box, params.modseq, params.known_uids)
    if gone:
        lines.append(untagged("VANISHED", "(EARLIER)", compress(gone)))
    lines += changed_lines(box, params.modseq, params.known_uids)
    return lines
