"""The assistant's actions over the mail service, shared by the offline and the LLM engine.

Every action answers with a ``Reply`` (text and buttons) in the conversation's language.
Anything that sends, moves, flags or removes mail is only *prepared*: it waits as a
``Pending`` action until the user presses the confirm button (or says yes). Lists,
counts, statistics, digests and summaries read the mail through ``Finder``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from web.assistant.core import LIST_SIZE, CoreActions
from web.assistant.finder import Criteria, Facts, Finder, topic_matches
from web.assistant.language import fold
from web.assistant.phrases import say, say_n, short_date, state_word
from web.assistant.replies import Clarification, Conversation, Pending, Ref, Reply
from web.assistant.summarize import bare_subject, summarize_text, thread_key
from web.assistant.wording import count_of, day_month, of
from web.mailservice.compose import Draft, parse_addresses
from web.mailservice.mailbox import UserMailbox
from web.mailservice.reading import view_message
from web.mailservice.sending import Outbox

__all__ = ["Actions", "Conversation", "Pending", "Ref", "Reply"]
DIGEST_SIZE = 8
MAX_CHOICES = 5


class Actions(CoreActions):
    """The assistant's actions on one user's mail."""

    def __init__(self, mailbox: UserMailbox, outbox: Outbox, conversation: Conversation) -> None:
        super().__init__(mailbox, outbox, conversation)
        self.finder = Finder(mailbox)

    # -- finding -----------------------------------------------------------------------------

    def search(
        self,
        sender: str = "",
        subject: str = "",
        text: str = "",
        since: object = None,
        *,
        criteria: Criteria | None = None,
    ) -> Reply:
        """Messages by sender, recipients, topic words, dates and flags, newest first."""
        if criteria is None:
            topics = tuple(fold(w) for w in f"{subject} {text}".split())
            criteria = Criteria(
                senders=(fold(sender),) if sender else (),
                topics=topics,
                start=since if since else None,  # type: ignore[arg-type]
            )
        if criteria.empty:
            return Reply(say("search_what", self.lang), [self.button("list", "list_text")])
        self.conv.last_search = criteria
        found = self.finder.find(criteria)
        if not found:
            self.conv.shown, self.conv.current = [], None
            return Reply(say("search_none", self.lang), [self.button("list", "list_text")])
        if len(found) > LIST_SIZE:
            head = say("search_head_more", self.lang, count=len(found), shown=LIST_SIZE)
        else:
            head = say_n("search_head", self.lang, len(found))
        return self._show(head, [f.summary for f in found[:LIST_SIZE]])

    def unread(self, since: dt.date | None = None) -> Reply:
        """The unread messages of INBOX, newest first (from the index: no message is read)."""
        found = self.finder.find(Criteria(unread=True, folders=("INBOX",), start=since))
        if not found:
            return Reply(say("unread_none", self.lang), [self.button("list", "list_text")])
        head = say_n("unread_head", self.lang, len(found), total=len(found))
        return self._show(head, [f.summary for f in found[:LIST_SIZE]])

    def pick(self, criteria: Criteria, latest: bool = False) -> Ref | Reply | list[Facts]:
        """The one message criteria describe; a Reply when none; the candidates when unsure."""
        found = self.finder.find(criteria)
        if not found:
            return Reply(say("search_none", self.lang), [self.button("list", "list_text")])
        if criteria.topics:  # prefer messages whose subject has every topic word
            in_subject = [
                f
                for f in found
                if all(topic_matches(fold(f.summary.subject), t) for t in criteria.topics)
            ]
            found = in_subject or found
        senders = {f.summary.sender_address.lower() for f in found}
        if len(found) == 1 or latest or len(senders) == 1:
            return found[0].ref
        return found

    def clarify(
        self, candidates: list[Facts], then: Callable[[Ref], Reply], threads: bool = False
    ) -> Reply:
        """Ask which of several messages (or, with ``threads``, which of the threads they
        start) is meant; the answer (a number, an ordinal, a name, subject words) goes on."""
        if threads:
            refs, labels, lines = self._thread_choices(candidates)
        else:
            by_sender = {f.summary.sender_address.lower(): f for f in reversed(candidates)}
            if len(by_sender) > 1:  # two Marcs: one choice per person, their newest message
                candidates = [f for f in candidates if f in by_sender.values()]
            shown = candidates[:MAX_CHOICES]
            refs = [f.ref for f in shown]
            labels = [
                fold(f"{f.summary.sender_name} {f.summary.sender_address} {f.summary.subject}")
                for f in shown
            ]
            lines = [
                f"{f.summary.sender_name} — {f.summary.subject} "
                f"({short_date(f.summary.date, self.lang)})"
                for f in shown
            ]
        self.conv.shown, self.conv.current = refs, None
        self.conv.clarifying = Clarification(refs, labels, then)
        choices = "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
        return Reply(say("clarify_thread" if threads else "clarify", self.lang, choices=choices))

    def _thread_choices(self, candidates: list[Facts]) -> tuple[list[Ref], list[str], list[str]]:
        """One choice per thread the candidates belong to, newest thread first."""
        keys = list(dict.fromkeys(thread_key(f.summary.subject) for f in candidates))
        keys = keys[:MAX_CHOICES]
        members: dict[str, list[Facts]] = {key: [] for key in keys}
        for folder in ("INBOX", "Archive", "Sent"):
            for facts in self.finder.facts(folder):
                key = thread_key(facts.summary.subject)
                if key in members:
                    members[key].append(facts)
        refs, labels, lines = [], [], []
        for key in keys:
            parts = sorted(members[key], key=lambda f: f.summary.date, reverse=True)
            received = [f for f in parts if f.summary.folder != "Sent"] or parts
            newest = received[0]
            people = ", ".join(dict.fromkeys(f.summary.sender_name for f in reversed(parts)))
            subject = bare_subject(newest.summary.subject)
            addresses = " ".join(f.summary.sender_address for f in parts)
            refs.append(newest.ref)
            labels.append(fold(f"{subject} {people} {addresses}"))
            when = day_month(parts[0].summary.date, self.lang, self.conv.date())
            lines.append(
                f"“{subject}” — {count_of(len(parts), 'message', self.lang)}, {people} "
                f"({say('last_on', self.lang, date=when)})"
            )
        return refs, labels, lines

    # -- answers about the mailbox ---------------------------------------------------------

    def count(self, criteria: Criteria, what: str = "") -> Reply:
        """How many messages fit."""
        found = self.finder.find(criteria)
        if not found:
            return Reply(say("count_none", self.lang, what=what))
        return Reply(say_n("count", self.lang, len(found), what=what))

    def stats(self, criteria: Criteria, what: str = "") -> Reply:
        """Who wrote most, among the messages that fit."""
        found = [f for f in self.finder.find(criteria) if not f.newsletter] or self.finder.find(
            criteria
        )
        tally = Counter(f.summary.sender_name for f in found)
        lines = [say("stats_head", self.lang, what=what)]
        for name, number in tally.most_common(5):
            lines.append(say_n("stats_line", self.lang, number, name=name))
        return Reply("\n".join(lines))

    def _brief(self, facts: Facts) -> str:
        gist = summarize_text(facts.body).split(". ")[0][:140]
        when = short_date(facts.summary.date, self.lang)
        mark = "● " if facts.summary.unread else ""
        return f"{mark}{facts.summary.sender_name} — {facts.summary.subject} ({when}): {gist}"

    def digest(self, criteria: Criteria) -> Reply:
        """A digest of unread (or the given) mail: who wrote, about what, in a sentence."""
        found = self.finder.find(criteria)
        if not found:
            return Reply(say("digest_none", self.lang), [self.button("list", "list_text")])
        found.sort(key=lambda f: (not f.urgent, -f.summary.date.timestamp()))
        shown = found[:DIGEST_SIZE]
        self.conv.shown = [f.ref for f in shown]
        self.conv.current = shown[0].ref if len(shown) == 1 else None
        lines = [say_n("digest_head", self.lang, len(found))]
        lines += [f"{i}. {self._brief(f)}" for i, f in enumerate(shown, 1)]
        return Reply("\n".join(lines), [self.button("read_n", "read_n_text", n=1)])

    def urgent(self, criteria: Criteria) -> Reply:
        """Messages that look urgent (marked so, or saying so), else the newest unread."""
        found = [f for f in self.finder.find(criteria) if f.urgent]
        if not found:
            unread = self.finder.find(Criteria(unread=True))[:3]
            subjects = ", ".join(f"“{f.summary.subject}”" for f in unread) or "—"
            return Reply(say("urgent_none", self.lang, subjects=subjects))
        self.conv.shown = [f.ref for f in found[:LIST_SIZE]]
        self.conv.current = found[0].ref if len(found) == 1 else None
        lines = [say_n("urgent_head", self.lang, len(found))]
        lines += [f"{i}. {self._brief(f)}" for i, f in enumerate(found[:LIST_SIZE], 1)]
        return Reply("\n".join(lines), [self.button("read_n", "read_n_text", n=1)])

    def attachments(self, criteria: Criteria) -> Reply:
        """The attachments of the messages that fit (by sender, type, date)."""
        from web.assistant.finder import _matches_kind

        criteria.attachments = True
        found = self.finder.find(criteria)
        rows = []
        for facts in found:
            for attachment in facts.attachments:
                if criteria.kinds and not _matches_kind(attachment, criteria.kinds):
                    continue
                when = short_date(facts.summary.date, self.lang)
                size = f"{max(1, attachment.size // 1000)} k" + ("B" if self.lang == "en" else "o")
                rows.append(
                    f"{attachment.filename} ({size}) — {facts.summary.sender_name}, "
                    f"{facts.summary.subject} ({when})"
                )
        if not rows:
            return Reply(say("attachments_none", self.lang))
        self.conv.shown = [f.ref for f in found[:LIST_SIZE]]
        self.conv.current = found[0].ref if len(found) == 1 else None
        lines = [say_n("attachments_head", self.lang, len(rows))]
        lines += [f"{i}. {row}" for i, row in enumerate(rows[:20], 1)]
        return Reply("\n".join(lines))

    def summarize_thread(self, target: int | str | Ref | None) -> Reply:
        """Every message of a thread (received, archived and sent), summarised in order."""
        ref = self.resolve(target)
        if isinstance(ref, Reply):
            return ref
        self.conv.current = ref
        view = view_message(self.mailbox.raw(*ref))
        key = thread_key(view.subject)
        parts: list[Facts] = []
        for folder in ("INBOX", "Archive", "Sent"):
            parts += [f for f in self.finder.facts(folder) if thread_key(f.summary.subject) == key]
        parts.sort(key=lambda f: f.summary.date)
        people = ", ".join(dict.fromkeys(f.summary.sender_name for f in parts))
        subject = bare_subject(view.subject)
        lines = [say_n("thread_head", self.lang, len(parts), subject=subject, people=people)]
        for facts in parts:
            when = short_date(facts.summary.date, self.lang)
            lines.append(
                f"- {facts.summary.sender_name} ({when}): {summarize_text(facts.body) or '…'}"
            )
        return Reply("\n".join(lines), self._after_read_buttons())

    # -- more changes that wait for a confirmation ------------------------------------------

    def prepare_forward(
        self, target: int | str | Ref | None, to: list[str] | tuple[str, ...], note: str = ""
    ) -> Reply:
        """A forward of a message, waiting for confirmation."""
        ref = self.resolve(target)
        if isinstance(ref, Reply):
            return ref
        self.conv.current = ref
        recipients = parse_addresses(list(to))
        if not recipients:
            return Reply(say("send_to", self.lang))
        view = view_message(self.mailbox.raw(*ref))
        subject = (
            view.subject
            if view.subject.lower().startswith(("fwd:", "tr:"))
            else (("Tr: " if self.lang == "fr" else "Fwd: ") + view.subject)
        )
        header = (
            f"---------- Forwarded message ----------\nFrom: {view.sender}\n"
            f"Date: {view.date}\nSubject: {view.subject}\n\n"
        )
        draft = Draft(
            to=recipients,
            subject=subject,
            text=(note + "\n\n" if note else "") + header + view.text,
        )
        text = say(
            "forward_confirm",
            self.lang,
            subject=view.subject,
            to=", ".join(recipients),
            note=f"\n{note}" if note else "",
        )
        return self._pending(lambda: self._send_now(draft), text, "confirm")

    def prepare_flag(self, target: int | str | Ref | None) -> Reply:
        """Ask before flagging a message."""
        ref = self.resolve(target)
        if isinstance(ref, Reply):
            return ref
        self.conv.current = ref
        summary = self._summary(ref)
        subject = summary.subject or say("no_subject", self.lang)

        def run() -> Reply:
            self.mailbox.set_flags(*ref, add="F")
            return Reply(say("flagged", self.lang, subject=subject))

        of_sender = of(summary.sender_name, self.lang)
        return self._pending(
            run, say("flag_confirm", self.lang, subject=subject, of_sender=of_sender)
        )

    def prepare_mark(self, targets: list[int | str | Ref | None], read: bool = True) -> Reply:
        """Ask before marking one or several messages read or unread."""
        refs: list[Ref] = []
        for target in targets:
            ref = self.resolve(target)
            if isinstance(ref, Reply):
                return ref
            refs.append(ref)
        if not refs:
            return Reply(say("search_none", self.lang))
        subjects = [self._summary(r).subject or say("no_subject", self.lang) for r in refs]
        state = state_word(read, self.lang, len(refs))
        if len(refs) == 1:
            self.conv.current = refs[0]
            text = say("mark_confirm_one", self.lang, subject=subjects[0], state=state)
        else:
            listed = "; ".join(f"“{s}”" for s in subjects[:5])
            text = say(
                "mark_confirm_many", self.lang, count=len(refs), state=state, subjects=listed
            )

        def run() -> Reply:
            for ref in refs:
                if read:
                    self.mailbox.set_flags(*ref, add="S")
                else:
                    self.mailbox.set_flags(*ref, remove="S")
            if len(refs) == 1:
                key = "marked_read" if read else "marked_unread"
                return Reply(say(key, self.lang, subject=subjects[0]))
            return Reply(say("marked_many", self.lang, count=len(refs), state=state))

        return self._pending(run, text)

    def summarize(self, target: int | str | Ref | None, thread: bool = False) -> Reply:
        """A short summary of a message, or of its whole thread."""
        if thread:
            return self.summarize_thread(target)
        return super().summarize(target)
