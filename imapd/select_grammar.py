"""The grammar of SELECT and EXAMINE: a mailbox and the select parameters CONDSTORE and
QRESYNC (RFC 7162) on the cursor."""

from __future__ import annotations

from imapd import arguments
from imapd.cursor import Cursor
from imapd.parsed import MailboxArgs, Qresync


def _qresync(cur: Cursor) -> Qresync:
    """``(uidvalidity mod-sequence [known-uids] [(known-seqs known-uids)])`` (RFC 7162)."""
    cur.char("(", "expected '(' after QRESYNC")
    uidvalidity = cur.number()
    if uidvalidity == 0:
        raise cur.error("UIDVALIDITY is a non-zero number")
    cur.sp()
    modseq = arguments.modseq(cur)
    known = match = None
    if cur.maybe(" ") and cur.peek() != ord("("):
        known = arguments.sequence_set(cur)
        if known.saved:
            raise cur.error("expected known UIDs")
        cur.maybe(" ")
    if cur.maybe("("):
        seqs = arguments.sequence_set(cur)
        cur.sp()
        uids = arguments.sequence_set(cur)
        cur.char(")", "expected ')' after the sequence match data")
        if seqs.saved or uids.saved:
            raise cur.error("expected a sequence set")
        match = (seqs, uids)
    cur.char(")", "expected ')' after the QRESYNC parameters")
    return Qresync(uidvalidity, modseq, known, match)


def parse_select(cur: Cursor) -> MailboxArgs:
    """``SELECT/EXAMINE mailbox [(CONDSTORE | QRESYNC (...) ...)]``."""
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    condstore = False
    qresync = None
    if cur.maybe(" "):
        cur.char("(", "expected select parameters")
        while True:
            word = cur.atom().upper()
            if word == "CONDSTORE":
                condstore = True
            elif word == "QRESYNC" and qresync is None:
                cur.sp()
                qresync = _qresync(cur)
            else:
                raise cur.error(f"unknown select parameter {word[:40]}")
            if not cur.maybe(" "):
                break
        cur.char(")")
    cur.end()
    return MailboxArgs(mailbox, condstore, qresync)
