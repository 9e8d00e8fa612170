"""The assistant's offline engine: every intent in French and English, on a real Maildir.

Also the parsing helpers (dates, addresses, quoted text, targets) and ambiguous or
unknown requests, which get a helpful answer and never an exception.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from support.web import ALICE, BOB, raw_message

from mailrs.accounts.users import add_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import Message
from mailrs.queue.spool import Spool
from mailrs.store.maildir import MaildirStore
from web.assistant import parsing
from web.assistant.actions import Actions, Conversation, Reply
from web.assistant.engine import OfflineEngine
from web.assistant.intents import classify
from web.assistant.language import detect_language
from web.assistant.streaming import tokens
from web.assistant.summarize import summarize_text, thread_key
from web.mailservice.mailbox import UserMailbox
from web.mailservice.sending import Outbox

LUNCH_BODY = (
    "Hi Alice. Shall we have lunch on Friday at noon? The new place downtown is good. "
    "Tell me if that works. I can also do Monday.\n\n-- \nDave\n"
)


@pytest.fixture
def engine(settings: Settings, database: Database, store: MaildirStore) -> Iterator[OfflineEngine]:
    """An offline engine on Alice's mailbox with three messages (newest: the lunch one)."""
    with database.session() as session:
        add_user(session, store, ALICE, "alice password 1")
        add_user(session, store, BOB, "bob password 22")
    store.deliver(
        ALICE, raw_message("Invoice 42", sender="Billing <billing@shop.test>", day=1), mtime=1e9
    )
    store.deliver(
        ALICE,
        raw_message("Report", sender="Bob <bob@example.test>", body="Figures attached.", day=2),
        mtime=1e9 + 10,
    )
    store.deliver(
        ALICE,
        raw_message("Lunch", sender="Dave <dave@remote.test>", body=LUNCH_BODY, day=3),
        mtime=1e9 + 20,
    )
    mailbox = UserMailbox(store, ALICE, settings)
    outbox = Outbox(settings, database, Spool(settings.spool_path))
    yield OfflineEngine(Actions(mailbox, outbox, Conversation()))
    mailbox.close()


def ask(engine: OfflineEngine, text: str) -> Reply:
    """One request; the answer must be a non-empty Reply."""
    reply = engine.respond(text)
    assert isinstance(reply, Reply) and reply.text.strip()
    return reply


def press(engine: OfflineEngine, reply: Reply, action: str = "confirm") -> Reply:
    """Press the confirm or cancel button of a reply."""
    button = next(b for b in reply.buttons if b.get("action") == action)
    return engine.button(action, button["id"])


# -- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Liste mes emails", "fr"),
        ("show my emails", "en"),
        ("Réponds au dernier", "fr"),
        ("read the last one", "en"),
        ("Recherche les emails de a@b.test", "fr"),
    ],
)
def test_language_detection(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_dates_are_parsed() -> None:
    today = dt.date(2025, 12, 10)  # a Wednesday
    assert parsing.since_date("depuis hier", today) == dt.date(2025, 12, 9)
    assert parsing.since_date("today", today) == today
    assert parsing.since_date("since 2025-11-02", today) == dt.date(2025, 11, 2)
    assert parsing.since_date("depuis le 3 mars", today) == dt.date(2025, 3, 3)
    assert parsing.since_date("since March 3", today) == dt.date(2025, 3, 3)
    assert parsing.since_date("les 7 derniers jours", today) == dt.date(2025, 12, 3)
    assert parsing.since_date("since monday", today) == dt.date(2025, 12, 8)
    assert parsing.since_date("this week", today) == dt.date(2025, 12, 8)
    assert parsing.since_date("since 2025-02-30", today) is None
    assert parsing.since_date("nothing here", today) is None


def test_addresses_quotes_and_targets() -> None:
    assert parsing.addresses("to a.b+c@ex.test, and z@y.co.") == ["a.b+c@ex.test", "z@y.co"]
    assert parsing.quoted('say "hi" and « salut » or “hey”') == ["hi", "salut", "hey"]
    assert parsing.target("lis le 3") == 3
    assert parsing.target("read #12") == 12
    assert parsing.target("the last one") == "last"
    assert parsing.target("le deuxième") == 2
    assert parsing.target("send to bob2@example.test") is None
    assert parsing.target("depuis le 3 mars") is None
    assert parsing.target("supprime ce message") == "current"


def test_streaming_tokens_rebuild_the_text() -> None:
    text = "Vos 3 messages :\n1. Dave — Lunch"
    pieces = tokens(text)
    assert "".join(pieces) == text and len(pieces) == 8


def test_summaries_skip_quotes_and_signatures() -> None:
    text = "Yes, Friday works. See you there!\n\nOn Mon, Dave wrote:\n> lunch?\n-- \nAlice"
    assert summarize_text(text) == "Yes, Friday works. See you there!"
    assert thread_key("Re: TR: Fwd: Lunch  plans") == "lunch plans"


# -- intents, in both languages ------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["Liste mes emails", "show my emails", "montre ma boîte", "list my mail"]
)
def test_list(engine: OfflineEngine, text: str) -> None:
    reply = ask(engine, text)
    lines = reply.text.splitlines()
    assert "Lunch" in lines[1] and "Report" in lines[2] and "Invoice 42" in lines[3]
    assert lines[1].startswith("1. ● Dave")
    assert any(b.get("text") for b in reply.buttons)
    assert ("messages" in lines[0]) and (("dans" in lines[0]) == (engine.conversation.lang == "fr"))


@pytest.mark.parametrize(
    ("text", "fr"), [("quels sont mes non lus ?", True), ("any unread emails?", False)]
)
def test_unread(engine: OfflineEngine, store: MaildirStore, text: str, fr: bool) -> None:
    lunch = store.list_messages(ALICE)[-1]
    store.set_flags(ALICE, "INBOX", lunch.key, "S")
    reply = ask(engine, text)
    assert ("non lus" in reply.text) == fr
    assert "Lunch" not in reply.text and "Report" in reply.text and "Invoice" in reply.text


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("lis le 2", "Report"),
        ("read the last one", "Lunch"),
        ("ouvre le dernier", "Lunch"),
        ("read 3", "Invoice 42"),
    ],
)
def test_read_marks_seen(
    engine: OfflineEngine, store: MaildirStore, text: str, subject: str
) -> None:
    reply = ask(engine, text)
    assert subject in reply.text
    flagged = [m for m in store.list_messages(ALICE) if "S" in m.flags]
    assert len(flagged) == 1
    assert {b["label"] for b in reply.buttons} & {"Reply", "Répondre"}


def test_read_uses_the_numbers_of_the_last_list(engine: OfflineEngine) -> None:
    ask(engine, "Recherche les emails de bob@example.test")
    assert "Report" in ask(engine, "read 1").text
    no_such = ask(engine, "read 5")
    assert "no message 5" in no_such.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Recherche les emails de bob@example.test", ["Report"]),
        ("search emails from dave", ["Lunch"]),
        ("cherche les emails avec l'objet invoice", ["Invoice 42"]),
        ("search emails about invoice", ["Invoice 42"]),
        ('cherche "Friday"', ["Lunch"]),
        ("find messages containing figures", ["Report"]),
        ("emails de Dave depuis le 2025-12-02", ["Lunch"]),
    ],
)
def test_search(engine: OfflineEngine, text: str, expected: list[str]) -> None:
    reply = ask(engine, text)
    found = [s for s in ("Lunch", "Report", "Invoice 42") if s in reply.text]
    assert found == expected, reply.text


def test_search_without_criteria_asks_what_to_look_for(engine: OfflineEngine) -> None:
    assert "Que dois-je chercher" in ask(engine, "recherche").text
    assert "No message matches" in ask(engine, "search emails from nobody@nowhere.test").text


@pytest.mark.parametrize(
    ("text", "subject", "body"),
    [
        (
            "Envoie un email à bob@example.test avec l'objet Bonjour et le message : Salut Bob",
            "Bonjour",
            "Salut Bob",
        ),
        (
            'send an email to bob@example.test subject "Lunch" saying "See you at noon"',
            "Lunch",
            "See you at noon",
        ),
    ],
)
def test_send_waits_for_the_confirm_button(
    engine: OfflineEngine,
    database: Database,
    store: MaildirStore,
    text: str,
    subject: str,
    body: str,
) -> None:
    reply = ask(engine, text)
    assert BOB in reply.text and subject in reply.text and body in reply.text
    assert {b.get("action") for b in reply.buttons} == {"confirm", "cancel"}
    with database.session() as session:
        assert session.scalars(select(Message)).all() == []  # nothing sent yet
    done = press(engine, reply)
    assert "bob@example.test" in done.text
    with database.session() as session:
        (message,) = session.scalars(select(Message)).all()
        assert message.auth_user == ALICE
    (sent,) = store.list_messages(ALICE, "Sent")
    copy = store.read(ALICE, "Sent", sent.key)
    assert f"Subject: {subject}".encode() in copy and body.encode() in copy
    assert "Rien" in press(engine, reply).text or "nothing" in press(engine, reply).text.lower()


def test_send_asks_for_missing_parts_and_cancel_works(
    engine: OfflineEngine, database: Database
) -> None:
    assert "À qui" in ask(engine, "Envoie un email").text
    ask_body = ask(engine, "Envoie un email à bob@example.test")
    assert "guillemets" in ask_body.text
    prepared = ask(engine, "Tu viens demain ?")  # taken as the body
    assert "Tu viens demain ?" in prepared.text
    assert "Annulé" in press(engine, prepared, "cancel").text
    with database.session() as session:
        assert session.scalars(select(Message)).all() == []


def test_send_to_unknown_local_address_is_refused_on_confirm(
    engine: OfflineEngine, store: MaildirStore
) -> None:
    reply = ask(engine, 'send an email to ghost@example.test saying "hello"')
    answer = press(engine, reply)
    assert "Not sent" in answer.text and "ghost@example.test" in answer.text
    assert store.list_messages(ALICE, "Sent") == []
    assert "nothing waiting" in engine.button("confirm", "stale-id").text
    ask(engine, 'send an email to bob@example.test saying "hello"')
    assert "no longer pending" in engine.button("confirm", "stale-id").text


def test_typed_yes_confirms(engine: OfflineEngine, store: MaildirStore) -> None:
    ask(engine, "Envoie un email à bob@example.test texte « Coucou »")
    assert "Envoyé" in ask(engine, "oui").text
    assert len(store.list_messages(ALICE, "Sent")) == 1


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("Réponds au dernier : merci, vendredi me va", "merci, vendredi me va"),
        ("reply to 1 saying thanks!", "thanks!"),
    ],
)
def test_reply(engine: OfflineEngine, store: MaildirStore, text: str, body: str) -> None:
    reply = ask(engine, text)
    assert "dave@remote.test" in reply.text and "Re: Lunch" in reply.text
    press(engine, reply)
    (sent,) = store.list_messages(ALICE, "Sent")
    copy = store.read(ALICE, "Sent", sent.key)
    assert b"Subject: Re: Lunch" in copy and body.encode() in copy and b"> Hi Alice." in copy
    lunch = store.list_messages(ALICE)[-1]
    assert "R" in lunch.flags  # answered, as IMAP shows it


@pytest.mark.parametrize("text", ["supprime le 2", "delete the second one"])
def test_delete_with_confirm(engine: OfflineEngine, store: MaildirStore, text: str) -> None:
    reply = ask(engine, text)
    assert "Report" in reply.text
    assert len(store.list_messages(ALICE)) == 3
    press(engine, reply)
    assert len(store.list_messages(ALICE)) == 2
    assert len(store.list_messages(ALICE, "Trash")) == 1


@pytest.mark.parametrize(
    "text", ["déplace le dernier vers Archive", "move the last one to the archive", "archive le 1"]
)
def test_move_with_confirm(engine: OfflineEngine, store: MaildirStore, text: str) -> None:
    reply = ask(engine, text)
    assert "Lunch" in reply.text and "Archive" in reply.text
    press(engine, reply)
    assert [m for m in store.list_messages(ALICE, "Archive")]


def test_move_without_folder_asks_where(engine: OfflineEngine) -> None:
    reply = ask(engine, "move 1")
    assert "Where to?" in reply.text and "Archive" in reply.text


@pytest.mark.parametrize(
    ("text", "flags"), [("marque le 1 comme lu", "S"), ("mark the last one as read", "S")]
)
def test_mark_read(engine: OfflineEngine, store: MaildirStore, text: str, flags: str) -> None:
    reply = ask(engine, text)
    assert store.list_messages(ALICE)[-1].flags == ""  # waits for the confirm button
    press(engine, reply)
    assert store.list_messages(ALICE)[-1].flags == flags
    reply = ask(engine, "mark 1 as unread" if "mark" in text else "marque le 1 comme non lu")
    assert store.list_messages(ALICE)[-1].flags == flags
    reply = press(engine, reply)
    assert store.list_messages(ALICE)[-1].flags == ""
    assert "unread" in reply.text or "non lu" in reply.text


@pytest.mark.parametrize("text", ["résume le dernier", "summarize the last one"])
def test_summarize_message(engine: OfflineEngine, text: str) -> None:
    reply = ask(engine, text)
    assert "Shall we have lunch on Friday at noon?" in reply.text
    assert "Dave" in reply.text
    assert "-- " not in reply.text and "Monday" not in reply.text  # three sentences at most


def test_summarize_thread(engine: OfflineEngine, store: MaildirStore) -> None:
    store.deliver(
        ALICE,
        raw_message(
            "Re: Lunch", sender="Bob <bob@example.test>", body="Count me in.\n> old", day=4
        ),
        mtime=1e9 + 30,
    )
    reply = ask(engine, "résume le fil du dernier")
    assert "2 messages" in reply.text and "Count me in." in reply.text and "Dave" in reply.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("blah blah", "did not understand"),
        ("je veux une pizza", "pas compris"),
        ("lis", "Quel message"),
        ("read", "Which message"),
        ("delete", "Which message"),
        ("supprime le 42", "pas de message 42"),
        ("oui", "compris"),
        ("", "did not understand"),
        ("🙂", "did not understand"),
        ("hello", "I can list"),
        ("bonjour", "Je peux lister"),
    ],
)
def test_ambiguous_and_unknown_requests_get_help(
    engine: OfflineEngine, text: str, expected: str
) -> None:
    reply = engine.respond(text)
    assert expected in reply.text
    assert isinstance(reply.buttons, list)


def test_empty_mailbox_answers(settings: Settings, database: Database, store: MaildirStore) -> None:
    with database.session() as session:
        add_user(session, store, "empty@example.test", "empty password 1")
    mailbox = UserMailbox(store, "empty@example.test", settings)
    engine = OfflineEngine(
        Actions(mailbox, Outbox(settings, database, Spool(settings.spool_path)), Conversation())
    )
    try:
        assert "is empty" in engine.respond("show my emails").text
        assert "vide" in engine.respond("lis le dernier").text
        assert "No unread" in engine.respond("unread").text
    finally:
        mailbox.close()


def test_classify_never_fails_on_odd_input() -> None:
    for text in ["", " ", "\x00", "é" * 5000, "@@@", '"""', "«", "1 2 3 4", "to: a@b", ":::"]:
        assert classify(text).kind
