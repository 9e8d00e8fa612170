"""The assistant's grammar (plurals, French elision, dates as each language writes them)
and how an answer to a clarifying question picks one of the choices."""

from __future__ import annotations

import datetime as dt

import pytest

from web.assistant.clarify import choose
from web.assistant.phrases import say, short_date
from web.assistant.replies import Clarification, Reply
from web.assistant.wording import count_of, day_month, long_date, of


@pytest.mark.parametrize(
    ("count", "noun", "lang", "expected"),
    [
        (1, "message", "en", "1 message"),
        (0, "message", "en", "0 messages"),
        (2, "message", "en", "2 messages"),
        (1, "message", "fr", "1 message"),
        (0, "message", "fr", "0 message"),
        (3, "attachment", "fr", "3 pièces jointes"),
        (1, "attachment", "fr", "1 pièce jointe"),
        (1, "shown", "fr", "1 affiché"),
        (5, "shown", "fr", "5 affichés"),
    ],
)
def test_counts_agree(count: int, noun: str, lang: str, expected: str) -> None:
    """A count takes the singular or plural each language wants."""
    assert count_of(count, noun, lang) == expected


@pytest.mark.parametrize(
    ("name", "lang", "expected"),
    [
        ("Olivier Blanc", "fr", "d'Olivier Blanc"),
        ("Anne", "fr", "d'Anne"),
        ("Élodie", "fr", "d'Élodie"),
        ("Hugo", "fr", "d'Hugo"),
        ("Marc", "fr", "de Marc"),
        ("Olivier", "en", "from Olivier"),
    ],
)
def test_french_elides_de(name: str, lang: str, expected: str) -> None:
    """French writes "d'" for "de" before a vowel or a mute h."""
    assert of(name, lang) == expected


def test_dates_as_each_language_writes_them() -> None:
    """Dates read "May 18" / "18 mai" ("1er juin"), with weekday, time, and another year."""
    when = dt.datetime(2026, 5, 18, 16, 20)
    assert day_month(when, "en") == "May 18"
    assert day_month(when, "fr") == "18 mai"
    assert day_month(dt.date(2026, 6, 1), "fr") == "1er juin"
    assert day_month(when, "en", today=dt.date(2027, 1, 2)) == "May 18, 2026"
    assert day_month(when, "fr", today=dt.date(2027, 1, 2)) == "18 mai 2026"
    assert long_date(when, "en") == "Monday, May 18, 2026, 16:20"
    assert long_date(when, "fr") == "lundi 18 mai 2026 à 16:20"
    assert short_date(dt.datetime(2026, 12, 1, 9, 5), "fr") == "1er déc. 09:05"
    assert short_date(dt.datetime(2026, 12, 1, 9, 5), "en") == "Dec 1, 09:05"


def test_phrases_elide_and_agree() -> None:
    """The confirm texts elide; the list head agrees with the count shown."""
    text = say("delete_confirm", "fr", subject="Photos", of_sender=of("Olivier Blanc", "fr"))
    assert text == "Mettre « Photos » d'Olivier Blanc à la corbeille ?"
    head = say("list_head", "fr", shown=count_of(1, "shown", "fr"), folder="INBOX", total=1)
    assert "(1 affiché, 1 en tout)" in head


def _question() -> Clarification:
    return Clarification(
        refs=[("INBOX", 7), ("INBOX", 3)],
        labels=[
            "offsite hotel booking julie garnier nora blake julie.garnier@events.test",
            "offsite planning marc lambert anne roche nora blake marc.lambert@conseil.test",
        ],
        then=lambda ref: Reply(str(ref)),
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("the second one", ("INBOX", 3)),
        ("le premier", ("INBOX", 7)),
        ("2", ("INBOX", 3)),
        ("the one about the hotel", ("INBOX", 7)),
        ("celui sur l'hôtel", ("INBOX", 7)),
        ("celle de Marc Lambert", ("INBOX", 3)),
        ("Julie", ("INBOX", 7)),
        ("the one with Nora", None),  # both threads have her: no choice named
        ("the fifth one", None),
        ("show my unread mail", None),
    ],
)
def test_an_answer_picks_one_choice(answer: str, expected: tuple[str, int] | None) -> None:
    """Numbers, ordinals, names and subject words pick a choice; a tie or nothing picks none."""
    assert choose(answer, _question()) == expected
