"""Actions on several messages at once (read, unread, flag, move, archive, delete) and
their undo: a move or a delete to Trash returns an ``Undo`` that moves the messages back
through the same mailbox service."""

from __future__ import annotations

from dataclasses import dataclass

from web.mailservice.errors import BadInput, NotFound
from web.mailservice.mailbox import TRASH, UserMailbox, folder_name

ARCHIVE = "Archive"
MAX_SELECTED = 500
ACTIONS = ("read", "unread", "flag", "unflag", "move", "archive", "delete")


@dataclass(frozen=True)
class Undo:
    """How to reverse a move: the messages' UIDs in ``folder``, to go back to ``source``."""

    folder: str
    uids: tuple[int, ...]
    source: str

    def as_dict(self) -> dict[str, object]:
        """A plain form for the session."""
        return {"folder": self.folder, "uids": list(self.uids), "source": self.source}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Undo:
        """The record back from the session; BadInput when it is not one."""
        try:
            uids = data["uids"]
            assert isinstance(uids, list)
            return cls(str(data["folder"]), tuple(int(u) for u in uids), str(data["source"]))
        except (KeyError, TypeError, ValueError, AssertionError) as exc:
            raise BadInput("nothing to undo") from exc


@dataclass(frozen=True)
class Outcome:
    """What an action did: a message for the user and, for a move, its undo."""

    message: str
    undo: Undo | None = None


def parse_uids(values: list[str]) -> list[int]:
    """UIDs from form values (each a UID or a comma-separated conversation); BadInput else."""
    uids: list[int] = []
    try:
        for value in values:
            uids.extend(int(part) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise BadInput("bad message selection") from exc
    if not uids:
        raise BadInput("select at least one message")
    if len(uids) > MAX_SELECTED or any(uid < 1 for uid in uids):
        raise BadInput(f"select between 1 and {MAX_SELECTED} messages")
    return list(dict.fromkeys(uids))


def _plural(count: int) -> str:
    return f"{count} message{'s' if count != 1 else ''}"


def _move(mailbox: UserMailbox, folder: str, uids: list[int], target: str) -> Outcome:
    mailbox.messages(target)  # NotFound for a folder that does not exist
    if target == folder:
        raise BadInput(f"the messages are in {target} already")
    copied = mailbox.service.move(folder, uids, target)
    if not copied.pairs:
        raise NotFound("none of these messages is here any more")
    undo = Undo(target, tuple(new for _, new in copied.pairs), folder)
    return Outcome(f"{_plural(len(copied.pairs))} moved to {target}.", undo)


def apply(
    mailbox: UserMailbox, folder: str, uids: list[int], action: str, destination: str = ""
) -> Outcome:
    """Do ``action`` to the messages ``uids`` of ``folder``."""
    source = folder_name(folder)
    present = {m.uid for m in mailbox.messages(source)}
    chosen = [uid for uid in uids if uid in present]
    if not chosen:
        raise NotFound("none of these messages is here any more")
    if action in ("read", "unread", "flag", "unflag"):
        letter = "S" if action in ("read", "unread") else "F"
        for uid in chosen:
            if action in ("read", "flag"):
                mailbox.set_flags(source, uid, add=letter)
            else:
                mailbox.set_flags(source, uid, remove=letter)
        label = {"read": "marked read", "unread": "marked unread"}.get(action, action + "ged")
        return Outcome(f"{_plural(len(chosen))} {label}.")
    if action == "move":
        return _move(mailbox, source, chosen, folder_name(destination))
    if action == "archive":
        return _move(mailbox, source, chosen, ARCHIVE)
    if action == "delete":
        if source != TRASH:
            return _move(mailbox, source, chosen, TRASH)
        mailbox.service.expunge_uids(source, chosen)
        return Outcome(f"{_plural(len(chosen))} deleted for good.")
    raise BadInput(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")


def undo(mailbox: UserMailbox, record: Undo) -> str:
    """Move the messages of an undo record back; the message for the user."""
    copied = mailbox.service.move(record.folder, list(record.uids), record.source)
    if not copied.pairs:
        raise NotFound("these messages have moved on; nothing to undo")
    return f"{_plural(len(copied.pairs))} back in {record.source}."
