"""The assistant's basic actions: lists, reading, and changes that wait for a confirmation.

Every action answers with a ``Reply`` (text and buttons) in the conversation's language.
Anything that sends or removes mail is only *prepared*: it waits as a ``Pending`` action
until the user presses the confirm button (or says yes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Callable

from web.assistant.phrases import label, say, short_date
from web.assistant.replies import Conversation, Pending, Ref, Reply
from web.assistant.summarize import summarize_text, thread_key
from web.assistant.wording import count_of, long_date, of
from web.mailservice.compose import Draft, parse_addresses, reply_draft
from web.mailservice.errors import ServiceError
from web.mailservice.mailbox import MessageSummary, UserMailbox
from web.mailservice.reading import view_message
from web.mailservice.sending import Outbox, send_draft

LIST_SIZE = 10
READ_CHARS = 1500
MAX_PENDING = 10


class CoreActions:
    """The assistant's basic actions on one user's mail."""

    def __init__(self, mailbox: UserMailbox, outbox: Outbox, conversation: Conversation) -> None:
        self.mailbox = mailbox
        self.outbox = outbox
        self.conv = conversation

    @property
    def lang(self) -> str:
        """The conversation's language."""
        return self.conv.lang

    def button(self, key: str, text_key: str, **values: object) -> dict[str, str]:
        """A button that sends a request as if typed."""
        return {
            "label": label(key, self.lang, **values),
            "text": label(text_key, self.lang, **values),
        }

    # -- lists ---------------------------------------------------------------------------

    def _line(self, number: int, summary: MessageSummary) -> str:
        subject = summary.subject or say("no_subject", self.lang)
        when = short_date(summary.date, self.lang)
        mark = "● " if summary.unread else ""
        return f"{number}. {mark}{summary.sender_name} — {subject} ({when})"

    def _show(self, head: str, summaries: list[MessageSummary]) -> Reply:
        self.conv.shown = [(s.folder, s.uid) for s in summaries]
        self.conv.current = self.conv.shown[0] if len(summaries) == 1 else None
        lines = [head, *(self._line(i, s) for i, s in enumerate(summaries, 1))]
        buttons = [self.button("read_n", "read_n_text", n=1)] if summaries else []
        if len(summaries) > 1:
            buttons.append(self.button("read_n", "read_n_text", n=2))
        buttons.append(self.button("unread", "unread_text"))
        return Reply("\n".join(lines), buttons)

    def list_messages(self, folder: str = "INBOX", since: dt.date | None = None) -> Reply:
        """The newest messages of a folder."""
        page = self.mailbox.page(folder, 1, LIST_SIZE)
        rows = [m for m in page.messages if since is None or m.date.date() >= since]
        if not rows:
            return Reply(
                say("list_empty", self.lang, folder=page.folder),
                [self.button("unread", "unread_text")],
            )
        shown = count_of(len(rows), "shown", self.lang)
        head = say("list_head", self.lang, shown=shown, folder=page.folder, total=page.total)
        return self._show(head, rows)

    # -- one message ---------------------------------------------------------------------

    def resolve(self, target: int | str | Ref | None) -> Ref | Reply:
        """The message a target names, or a Reply that asks which one."""
        if isinstance(target, tuple):
            return target
        if target is None or target == "current":
            if self.conv.current is not None:
                return self.conv.current
            if len(self.conv.shown) == 1:
                return self.conv.shown[0]
            if target is None:
                return Reply(
                    say("which", self.lang), [self.button("read_latest", "read_latest_text")]
                )
            target = "last"
        if target == "last":
            messages = self.mailbox.messages("INBOX")
            if not messages:
                return Reply(say("empty_box", self.lang))
            return ("INBOX", messages[-1].uid)
        assert isinstance(target, int)
        if self.conv.shown:
            if 1 <= target <= len(self.conv.shown):
                return self.conv.shown[target - 1]
            shown = count_of(len(self.conv.shown), "shown", self.lang)
            return Reply(say("no_such", self.lang, n=target, shown=shown))
        newest = list(reversed(self.mailbox.messages("INBOX")))
        if 1 <= target <= len(newest):
            return ("INBOX", newest[target - 1].uid)
        return Reply(
            say("no_such", self.lang, n=target, shown=count_of(len(newest), "shown", self.lang))
        )

    def _summary(self, ref: Ref) -> MessageSummary:
        return self.mailbox.summary(ref[0], self.mailbox.get(*ref))

    def _after_read_buttons(self) -> list[dict[str, str]]:
        words = {
            "en": (
                "reply to this one",
                "summarize this one",
                "move this one to Archive",
                "delete this one",
            ),
            "fr": (
                "réponds à ce message",
                "résume ce message",
                "déplace ce message vers Archive",
                "supprime ce message",
            ),
        }[self.lang]
        keys = ("reply", "summarize", "archive", "delete")
        return [{"label": label(k, self.lang), "text": t} for k, t in zip(keys, words, strict=True)]

    def read(self, target: int | str | Ref | None) -> Reply:
        """Show one message and mark it as read."""
        ref = self.resolve(target)
        if isinstance(ref, Reply):
            return ref
        view = view_message(self.mailbox.raw(*ref))
        when = long_date(self._summary(ref).date, self.lang)
        self.mailbox.set_flags(*ref, add="S")
        self.conv.current = ref
        body = view.text.strip()
        if len(body) > READ_CHARS:
            body = body[:READ_CHARS].rsplit(" ", 1)[0] + " …"
        subject = view.subject or say("no_subject", self.lang)
        colon = " :" if self.lang == "fr" else ":"  # French puts a space before the colon
        head = ("De" if self.lang == "fr" else "From") + f"{colon} {view.sender}\n"
        head += ("Objet" if self.lang == "fr" else "Subject") + f"{colon} {subject}\n"
        head += f"Date{colon} {when}\n\n"
        return Reply(head + body, self._after_read_buttons())

    def mark(self, target: int | str | Ref | None, read: bool = True) -> Reply:
        """Mark a message as read or unread."""
        ref = self.resolve(target)
        if isinstance(ref, Reply):
            return ref
        if read:
            self.mailbox.set_flags(*ref, add="S")
        else:
            self.mailbox.set_flags(*ref, remove="S")
        self.conv.current = ref
        subject = self._summary(ref).subject or say("no_subject", self.lang)
        key = "marked_read" if read else "marked_unread"
        return Reply(say(key, self.lang, subject=subject), [self.button("unread", "unread_text")])

    def summarize(self, target: int | str | Ref | None, thread: bool = False) -> Reply:
        """A short summary of a message, or of every message of its thread."""
        ref = self.resolve(target)
        if isinstance(ref, Reply):
            return ref
        self.conv.current = ref
        view = view_message(self.mailbox.raw(*ref))
        subject = view.subject or say("no_subject", self.lang)
        if not thread:
            when = long_date(self._summary(ref).date, self.lang)
            of_sender = of(view.sender, self.lang)
            head = say("summary_head", self.lang, subject=subject, of_sender=of_sender, date=when)
            return Reply(f"{head}\n{summarize_text(view.text) or '…'}", self._after_read_buttons())
        key = thread_key(view.subject)
        parts: list[tuple[float, str, str]] = []
        for folder in ("INBOX", "Sent", "Archive"):
            try:
                messages = self.mailbox.messages(folder)
            except ServiceError:
                continue
            for message in messages:
                summary = self.mailbox.summary(folder, message)
                if thread_key(summary.subject) != key:
                    continue
                text = view_message(self.mailbox.raw(folder, message.uid)).text
                parts.append((summary.date.timestamp(), summary.sender_name, summarize_text(text)))
        parts.sort()
        people = ", ".join(dict.fromkeys(name for _, name, _ in parts))
        lines = [say("thread_head", self.lang, subject=subject, count=len(parts), people=people)]
        lines += [f"- {name}: {text or '…'}" for _, name, text in parts]
        return Reply("\n".join(lines), self._after_read_buttons())

    # -- changes that wait for a confirmation -----------------------------------------------

    def _pending(
        self, run: Callable[[], Reply], text: str, confirm_key: str = "confirm_action"
    ) -> Reply:
        pid = secrets.token_urlsafe(8)
        while len(self.conv.pending) >= MAX_PENDING:
            self.conv.pending.pop(next(iter(self.conv.pending)))
        self.conv.pending[pid] = Pending(pid, run)
        buttons = [
            {"label": label(confirm_key, self.lang), "action": "confirm", "id": pid},
            {"label": label("cancel", self.lang), "action": "cancel", "id": pid},
        ]
        return Reply(text, buttons)

    def _send_now(self, draft: Draft, answered: Ref | None = None) -> Reply:
        try:
            with self.outbox.database.session() as session:
                send_draft(self.outbox, session, self.mailbox, draft)
        except ServiceError as exc:
            return Reply(say("send_failed", self.lang, reason=str(exc)))
        if answered is not None:
            with contextlib.suppress(ServiceError):  # moved meanwhile: sent all the same
                self.mailbox.set_flags(*answered, add="R")
        return Reply(
            say("sent", self.lang, to=", ".join(draft.to)), [self.button("list", "list_text")]
        )

    def prepare_send(
        self, to: list[str] | tuple[str, ...], subject: str = "", body: str = ""
    ) -> Reply:
        """Check a new message and ask for confirmation before sending it."""
        try:
            recipients = parse_addresses(list(to))
        except ServiceError as exc:
            return Reply(say("send_failed", self.lang, reason=str(exc)))
        if not recipients:
            return Reply(say("send_to", self.lang))
        if not body:
            self.conv.awaiting = lambda text: self.prepare_send(recipients, subject, text)
            return Reply(say("send_body", self.lang))
        draft = Draft(to=recipients, subject=subject, text=body)
        text = say(
            "send_confirm",
            self.lang,
            to=", ".join(recipients),
            subject=subject or say("no_subject", self.lang),
            body=body,
        )
        return self._pending(lambda: self._send_now(draft), text, "confirm")

    def prepare_reply(self, target: int | str | Ref | None, body: str = "") -> Reply:
        """A reply to a message, waiting for confirmation."""
        ref = self.resolve(target)
        if isinstance(ref, Reply):
            return ref
        self.conv.current = ref
        if not body:
            self.conv.awaiting = lambda text: self.prepare_reply("current", text)
            return Reply(say("send_body", self.lang))
        view = view_message(self.mailbox.raw(*ref))
        draft = reply_draft(view, self.mailbox.address, body)
        text = say(
            "reply_confirm", self.lang, to=", ".join(draft.to), subject=draft.subject, body=body
        )
        return self._pending(lambda: self._send_now(draft, answered=ref), text, "confirm")

    def prepare_delete(self, target: int | str | Ref | None) -> Reply:
        """Ask before moving a message to Trash."""
        ref = self.resolve(target)
        if isinstance(ref, Reply):
            return ref
        summary = self._summary(ref)
        subject = summary.subject or say("no_subject", self.lang)

        def run() -> Reply:
            outcome = self.mailbox.delete(*ref)
            self.conv.current = None
            self.conv.shown = [r for r in self.conv.shown if r != ref]
            return Reply(
                say("deleted" if outcome == "trash" else "deleted_for_good", self.lang),
                [self.button("list", "list_text")],
            )

        of_sender = of(summary.sender_name, self.lang)
        return self._pending(
            run, say("delete_confirm", self.lang, subject=subject, of_sender=of_sender)
        )

    def prepare_move(self, target: int | str | Ref | None, folder: str | None) -> Reply:
        """Ask before moving a message to another folder."""
        ref = self.resolve(target)
        if isinstance(ref, Reply):
            return ref
        known = [f.name for f in self.mailbox.folders()]
        if not folder or folder not in known:
            self.conv.current = ref
            return Reply(say("move_where", self.lang, folders=", ".join(known)))
        summary = self._summary(ref)
        subject = summary.subject or say("no_subject", self.lang)

        def run() -> Reply:
            uid = self.mailbox.move(*ref, folder)
            self.conv.current = (folder, uid)
            self.conv.shown = [r for r in self.conv.shown if r != ref]
            return Reply(say("moved", self.lang, folder=folder), [self.button("list", "list_text")])

        return self._pending(run, say("move_confirm", self.lang, subject=subject, folder=folder))

    def confirm(self, pid: str | None = None) -> Reply:
        """Carry out a pending action (the newest one when no id is given)."""
        if not self.conv.pending:
            return Reply(say("nothing_pending", self.lang))
        if pid is None:
            pid = next(reversed(self.conv.pending))
        pending = self.conv.pending.pop(pid, None)
        if pending is None:
            return Reply(say("expired", self.lang))
        try:
            return pending.run()
        except ServiceError as exc:
            return Reply(say("error", self.lang, reason=str(exc)))

    def cancel(self, pid: str | None = None) -> Reply:
        """Drop a pending action (all of them when no id is given)."""
        if pid is None:
            self.conv.pending.clear()
        elif self.conv.pending.pop(pid, None) is None:
            return Reply(say("expired", self.lang))
        return Reply(say("cancelled", self.lang), [self.button("list", "list_text")])
