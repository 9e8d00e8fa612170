"""Learning from the user: a message moved into Junk is spam, one moved out of it is ham.

The mailbox service calls ``learn_from_move`` after a copy or move (IMAP COPY/MOVE, the
web's move and bulk actions all go through it). The user's own classifier learns, and,
when ``spam.filter`` is ``rspamd``, rspamd's controller is told too. Learning never
makes the move fail: an error is logged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from mailrs.config import Settings
from mailrs.inbound.spam.bayes import Classifier, classifier_path
from mailrs.store.maildir import MaildirStore

log = logging.getLogger(__name__)
JUNK = "Junk"
TRASH = "Trash"


def verdict_of_move(source: str, destination: str) -> bool | None:
    """True (spam) into Junk, False (ham) out of Junk to a folder other than Trash, else None."""
    if destination == JUNK and source != JUNK:
        return True
    if source == JUNK and destination not in (JUNK, TRASH):
        return False
    return None


def learn_from_move(
    settings: Settings | None,
    user_dir: Path,
    source: str,
    destination: str,
    messages: Iterable[Callable[[], bytes]],
) -> int:
    """Teach the user's classifier (and rspamd) what a move says; how many were learnt."""
    spam = verdict_of_move(source, destination)
    if spam is None:
        return 0
    learnt = 0
    try:
        with Classifier(classifier_path(user_dir)) as classifier:
            for read in messages:
                data = read()
                learnt += classifier.learn(data, spam)
                if settings is not None and settings.spam.filter == "rspamd":
                    _rspamd_learn(settings, data, spam)
    except Exception as exc:  # the user's move has happened; learning is best effort
        log.warning("spam learning in %s failed: %s", user_dir, exc)
    return learnt


def _rspamd_learn(settings: Settings, data: bytes, spam: bool) -> None:
    from mailrs.inbound.spam.rspamd import learn

    try:
        learn(settings, data, spam)
    except Exception as exc:
        log.warning("rspamd learn failed: %s", exc)


def learn_copies(
    settings: Settings | None,
    store: MaildirStore,
    address: str,
    source: str,
    destination: str,
    copied: list[tuple[str, str]],
) -> int:
    """``learn_from_move`` for the messages (key, file name) a copy put in ``destination``."""
    if not copied or verdict_of_move(source, destination) is None:
        return 0
    readers = [
        functools.partial(store.read, address, destination, key, name) for key, name in copied
    ]
    return learn_from_move(settings, store.user_dir(address), source, destination, readers)
