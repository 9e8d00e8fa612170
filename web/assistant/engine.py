"""The offline assistant: rules over the request (``intents``, ``understand``) and the
shared actions.

The kind of request comes from ``intents.classify``; which messages it is about comes
from ``understand.describe`` (senders from the user's own correspondents, dates, topics,
flags). Follow-ups ("it", "the second one", "the one from Alice", "no, the other one",
"and from Carol?") use what the conversation showed last.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from web.assistant import parsing
from web.assistant.actions import Actions, Conversation, Reply
from web.assistant.clarify import choose
from web.assistant.finder import Criteria, Facts, topic_matches
from web.assistant.intents import COMMAND_WORDS, Intent, classify
from web.assistant.language import detect_language, fold
from web.assistant.lexicon import STOP_WORDS, repair_verb, split_imperative, stem, words
from web.assistant.phrases import say
from web.assistant.replies import Ref
from web.assistant.summarize import thread_key
from web.assistant.understand import Described, describe, who
from web.mailservice.errors import ServiceError

BODY_AFTER = re.compile(
    r"\b(?:saying|say|that says|tell (?:him|her|them)|en disant|disant|pour (?:lui |leur )?dire"
    r"(?: que| qu')?|que\s|qu'|that(?!\s+(?:\w+\s+)?(?:sent|wrote|says|said|came)\b)\s)\s*(.+)$",
    re.IGNORECASE,
)
THANKS = re.compile(r"\b(?:pour (?:la|le|les|lui) remercier|to thank (?:her|him|them))\b", re.I)
TOPIC_CUES = (
    r"\b(?:e-?mails?|mails?|messages?|courriels?|about|sur|concernant|au sujet|regarding|"
    r"where|ou est|any|des|les|write|wrote|written|emailed|ecrit)\b"
)


class OfflineEngine:
    """Answers requests with the built-in rules; needs no outside service."""

    def __init__(self, actions: Actions) -> None:
        self.actions = actions

    @property
    def conversation(self) -> Conversation:
        """The state of this chat."""
        return self.actions.conv

    def respond(self, text: str, on_token: Callable[[str], None] | None = None) -> Reply:
        """The answer to one typed request (computed at once: ``on_token`` is not used)."""
        conv = self.conversation
        conv.lang = detect_language(text, conv.lang)
        text = split_imperative(repair_verb(text))
        intent = classify(text, pending=bool(conv.pending), today=conv.date())
        question, conv.clarifying = conv.clarifying, None
        if question is not None and _answers(intent, text):
            chosen = choose(text, question)
            if chosen is not None:
                conv.clarifying = None
                conv.shown = list(question.refs)
                return self._guarded(lambda: question.then(chosen))
        awaiting, conv.awaiting = conv.awaiting, None
        if awaiting is not None and intent.kind in ("unknown", "pick"):
            return self._guarded(lambda: awaiting(text.strip()))
        return self._guarded(lambda: self.run(intent, text))

    def button(self, action: str, pid: str | None) -> Reply:
        """The answer to a pressed confirm or cancel button."""
        if action == "confirm":
            return self._guarded(lambda: self.actions.confirm(pid))
        if action == "cancel":
            return self.actions.cancel(pid)
        return Reply(say("unknown", self.conversation.lang))

    def _guarded(self, call) -> Reply:  # type: ignore[no-untyped-def]
        try:
            reply: Reply = call()
        except ServiceError as exc:
            return Reply(say("error", self.conversation.lang, reason=str(exc)))
        return reply

    def describe(self, text: str) -> Described:
        """The criteria of a request, against the user's correspondents."""
        finder = self.actions.finder
        return describe(
            text, self.conversation.date(), finder.contacts(), finder.vocabulary(), COMMAND_WORDS
        )

    def run(self, intent: Intent, text: str = "") -> Reply:
        """Carry out one intent."""
        a = self.actions
        lang = self.conversation.lang
        writes = intent.kind in ("reply", "send", "forward")
        body = intent.body or (_body(text) if writes else "")
        body = re.sub(r"^(?:que\s+|qu'|that\s+)", "", body, flags=re.I)
        if body and intent.target is not None:  # "the second draft" in the text is no target
            intent = dataclasses.replace(intent, target=parsing.target(text.replace(body, " ")))
        seen = text.replace(body, " ") if body else text
        d = self.describe(seen) if text else None
        crit = d.criteria if d else Criteria()
        match intent.kind:
            case "confirm":
                return a.confirm()
            case "cancel":
                return a.cancel()
            case "help":
                return Reply(say("help", lang), _starters(a))
            case "other":
                return self._other()
            case "pick":
                return self._pick(d)
            case "refine":
                return self._refine(crit)
            case "count":
                return a.count(crit)
            case "stats":
                return a.stats(crit)
            case "digest":
                if not (crit.start or crit.end):
                    crit.unread = True
                return a.digest(crit)
            case "urgent":
                crit.urgent = False
                return a.urgent(crit)
            case "attachments":
                return a.attachments(crit)
            case "send":
                return self._send(intent, d, body)
            case "forward":
                return self._on_one(intent, d, lambda t: a.prepare_forward(t, self._to(intent, d)))
            case "reply":
                if d and d.to_names:
                    crit.senders += tuple(n for n in d.to_names if "@" not in n)
                about = self._about(intent, d, body)
                if about is not None:
                    return a.prepare_reply(about, body)
                return self._on_one(intent, d, lambda t: a.prepare_reply(t, body), "reply")
            case "delete":
                crit.folders = tuple(f for f in crit.folders if f != "Trash")  # where it goes
                return self._on_one(intent, d, a.prepare_delete)
            case "move":
                folder = intent.folder
                crit.folders = ()
                if folder == "Trash":
                    return self._on_one(intent, d, a.prepare_delete)
                return self._on_one(intent, d, lambda t: a.prepare_move(t, folder))
            case "mark_read" | "mark_unread":
                read = intent.kind == "mark_read"
                if not read:  # "unread" names the new state, not the messages meant
                    crit.unread = False
                if crit.newsletter or (d and re.search(r"\b(all|tous|toutes)\b", fold(text))):
                    crit.unread = crit.unread and not read
                    refs: list[int | str | Ref | None] = [f.ref for f in a.finder.find(crit)]
                    return a.prepare_mark(refs, read)
                return self._on_one(intent, d, lambda t: a.prepare_mark([t], read))
            case "flag":
                crit.flagged = False
                return self._on_one(intent, d, a.prepare_flag)
            case "summarize":
                if intent.thread:
                    return self._on_one(intent, d, a.summarize_thread, "thread", any_one=True)
                return self._on_one(intent, d, a.summarize, "summarize")
            case "read":
                if intent.target is None and crit.folders and _only_folders(crit):
                    return a.list_messages(crit.folders[0])
                return self._on_one(intent, d, a.read, "read")
        return self._lists(intent, crit, text)

    def _lists(self, intent: Intent, crit: Criteria, text: str = "") -> Reply:
        a = self.actions
        if crit.folders and _only_folders(crit):
            return a.list_messages(crit.folders[0])
        if crit.unread and dataclasses.replace(crit, unread=False).empty:
            return a.unread()
        only_topics = dataclasses.replace(crit, topics=()).empty
        if only_topics and intent.kind == "unknown" and not re.search(TOPIC_CUES, fold(text)):
            return Reply(say("unknown", self.conversation.lang), _starters(a))
        if not crit.empty:
            return a.search(criteria=crit)
        match intent.kind:
            case "list":
                return a.list_messages(intent.folder or "INBOX", intent.since)
            case "unread":
                return a.unread(intent.since)
            case "search":
                return a.search(intent.sender, intent.subject, intent.text, intent.since)
        return Reply(say("unknown", self.conversation.lang), _starters(a))

    # -- one message ---------------------------------------------------------------------------

    def _about(self, intent: Intent, d: Described | None, body: str) -> Ref | None:
        """Of one sender's messages, the one a reply's words are about ("reply to Dave
        saying Friday works" answers his mail about Friday), when exactly one shares them."""
        if not body or d is None or d.ambiguous or intent.target is not None:
            return None
        if not d.criteria.senders or d.criteria.topics:
            return None
        found = self.actions.finder.find(d.criteria)
        if len({f.summary.sender_address.lower() for f in found}) != 1:
            return None
        said = {stem(w) for w in words(fold(body)) if len(w) >= 4 and w not in STOP_WORDS}
        scored = [(sum(topic_matches(f.words, w) for w in said), f) for f in found]
        best = max((score for score, _ in scored), default=0)
        winners = [f for score, f in scored if score == best]
        return winners[0].ref if best and len(winners) == 1 else None

    def _on_one(
        self,
        intent: Intent,
        d: Described | None,
        act: Callable[[int | str | Ref | None], Reply],
        name: str = "",
        any_one: bool = False,
    ) -> Reply:
        """Find the one message the request means (or ask), then act on it."""
        a = self.actions
        if name:
            self.conversation.last_action = name
        crit = d.criteria if d else Criteria()
        described = not dataclasses.replace(crit, latest=False, folders=()).empty
        if not described or intent.target not in (None, "last"):
            return act(intent.target)
        if name == "thread" and intent.target is None:
            threads = self._threads(crit)
            if len(threads) == 1:
                return act(threads[0].ref)
            if threads:
                return a.clarify(threads, act, threads=True)
        found = a.pick(crit, latest=intent.target == "last" or crit.latest or any_one)
        if isinstance(found, list):
            best = _best(found, crit)
            if len(best) == 1 or (not (d and d.ambiguous) and _same_sender(best)):
                return act(best[0].ref)
            return a.clarify(best, act)
        if isinstance(found, tuple):
            return act(found)
        return found

    def _threads(self, crit: Criteria) -> list[Facts]:
        """The newest message of each thread a request fits, when it fits more than one
        (the one conversation among single messages, when only one has replies)."""
        best = _best(self.actions.finder.find(crit), crit)
        firsts = {thread_key(f.summary.subject): f for f in reversed(best)}
        if len(firsts) < 2:
            return []
        sizes: dict[str, int] = dict.fromkeys(firsts, 0)
        for folder in ("INBOX", "Archive", "Sent"):
            for facts in self.actions.finder.facts(folder):
                key = thread_key(facts.summary.subject)
                if key in sizes:
                    sizes[key] += 1
        talks = [key for key, size in sizes.items() if size > 1]
        if len(talks) == 1:  # one of them is a conversation, the others single messages
            return [firsts[talks[0]]]
        return list(reversed(firsts.values()))

    def _other(self) -> Reply:
        conv = self.conversation
        others = [r for r in conv.shown if r != conv.current]
        if not others:
            return Reply(say("which", conv.lang))
        return self._again(others[0])

    def _again(self, ref: Ref) -> Reply:
        a = self.actions
        match self.conversation.last_action:
            case "summarize":
                return a.summarize(ref)
            case "thread":
                return a.summarize_thread(ref)
        return a.read(ref)

    def _pick(self, d: Described | None) -> Reply:
        conv = self.conversation
        if d is not None and d.names:
            for ref in conv.shown:
                summary = self.actions._summary(ref)
                if all(fold(n) in fold(summary.sender) for n in d.names):
                    return self._again(ref)
        if conv.shown:
            return self._again(conv.shown[0])
        return Reply(say("which", conv.lang))

    def _refine(self, crit: Criteria) -> Reply:
        last = self.conversation.last_search
        if not isinstance(last, Criteria):
            return self._lists(Intent("search"), crit)
        merged = dataclasses.replace(last)
        for field in ("senders", "topics", "kinds", "folders"):
            if getattr(crit, field):
                setattr(merged, field, getattr(crit, field))
        if crit.start or crit.end:
            merged.start, merged.end = crit.start, crit.end
        for flag in ("unread", "flagged", "attachments", "newsletter"):
            if getattr(crit, flag):
                setattr(merged, flag, True)
        return self.actions.search(criteria=merged)

    # -- writing ---------------------------------------------------------------------------------

    def _to(self, intent: Intent, d: Described | None) -> list[str]:
        """Recipients: addresses given, or correspondents named."""
        found = [a for a in intent.to]
        if d is not None:
            contacts = self.actions.finder.contacts()
            for name in (*d.to_names, *d.names):
                if "@" in name:
                    continue
                people = who(name, contacts)
                if len({a for _, a in people}) == 1:
                    found.append(people[0][1])
        return list(dict.fromkeys(found))

    def _send(self, intent: Intent, d: Described | None, body: str) -> Reply:
        to = self._to(intent, d)
        return self.actions.prepare_send(to, intent.subject, body)


def _body(text: str) -> str:
    if THANKS.search(text):
        return "Merci !" if "remercier" in text.lower() else "Thank you!"
    match = BODY_AFTER.search(text)
    if not match:
        return ""
    return re.sub(r"^(?:que\s+|qu'|that\s+)", "", match.group(1).strip(" ."), flags=re.I)


def _answers(intent: Intent, text: str) -> bool:
    """Whether a turn may answer a clarifying question ("the second one", "Marc Petit",
    "celui sur l'hôtel") rather than be a request of its own ("delete the first one")."""
    if intent.kind in ("unknown", "pick"):
        return True
    return intent.kind in ("read", "search", "list") and len(text.split()) <= 4


def _only_folders(crit: Criteria) -> bool:
    return dataclasses.replace(crit, folders=(), latest=False).empty


def _best(found: list[Facts], crit: Criteria) -> list[Facts]:
    """Messages whose subject has every topic word, when there are some."""
    if crit.topics:
        in_subject = [
            f for f in found if all(topic_matches(fold(f.summary.subject), t) for t in crit.topics)
        ]
        if in_subject:
            return in_subject
    return found


def _same_sender(found: list[Facts]) -> bool:
    return len({f.summary.sender_address.lower() for f in found}) == 1


def _starters(actions: Actions) -> list[dict[str, str]]:
    return [
        actions.button("list", "list_text"),
        actions.button("unread", "unread_text"),
        actions.button("read_latest", "read_latest_text"),
    ]
