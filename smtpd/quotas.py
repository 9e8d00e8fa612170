"""Quota checks for the SMTP dialogue: is a recipient full, does a message fit anyone.

RFC 5321 gives one reply after DATA for the whole transaction, so, as Postfix does,
the message is accepted when it fits at least one recipient (delivery then refuses the
copies that do not fit, and the sender gets a 5.2.2 bounce for those) and refused with
552 5.2.2 only when it fits none. A recipient with a remote target (an alias that
forwards) always counts as fitting. Blocking (database and index): run in a thread.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from mailrs.accounts.quota import fits, is_full, quota_of
from mailrs.accounts.resolve import Resolution
from mailrs.store.maildir import MaildirStore
from mailrs.store.usage import mailbox_usage


def resolution_quota(
    session: Session, store: MaildirStore, resolution: Resolution
) -> tuple[bool, bool]:
    """(full, unlimited) of one recipient's targets.

    full: every target is a local account already at or over its quota. unlimited: some
    target takes any message (a remote one, or an account without a quota), so the
    transaction needs no size check at DATA.
    """
    if resolution.remote:
        return False, True
    if not resolution.local:
        return False, False
    full = True
    for target in resolution.local:
        limit = quota_of(session, target)
        if limit is None:
            return False, True
        full = full and is_full(limit, mailbox_usage(store, target))
    return full, False


def fits_someone(
    session: Session, store: MaildirStore, resolutions: Iterable[Resolution], size: int
) -> bool:
    """True when a message of ``size`` bytes fits at least one target of the transaction."""
    for resolution in resolutions:
        if resolution.remote:
            return True
        for target in resolution.local:
            limit = quota_of(session, target)
            if limit is None or fits(limit, mailbox_usage(store, target), size):
                return True
    return False
