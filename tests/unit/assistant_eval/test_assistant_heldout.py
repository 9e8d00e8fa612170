"""The held-out requests: heldout_*.yaml and heldout2_*.yaml against heldout_mailbox (other
people, vendors and topics than the evaluation set), heldout3_*.yaml against
heldout3_mailbox (two threads one name fits, two Marcs), written from how users ask before
looking at how the engine parses. They stand for requests the engine has never seen: when
one fails, fix the kind of request it stands for, never that sentence.

Besides the score (printed; the test fails under ``FLOOR``), two things must always hold:
nothing changes in the mailbox or the outbox's spool before the confirm button is pressed,
and pressing it then does what the answer said.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import heldout3_mailbox
import heldout_mailbox
import pytest
from eval_harness import (
    Bench,
    Seeded,
    build_template,
    check_well_formed,
    load_cases,
    report,
    run_case,
)

from mailrs.accounts.users import add_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.store.maildir import MaildirStore

SEEDED = Seeded(heldout_mailbox.SEEDS, heldout_mailbox.OWNER, heldout_mailbox.TODAY)
SEEDED3 = Seeded(heldout3_mailbox.SEEDS, heldout3_mailbox.OWNER, heldout3_mailbox.TODAY)
# Each batch's mailbox and the passing requests it needs per language (the score recorded
# in the README). heldout_*: the first batch; heldout2_*: a second one, written after the
# first round of fixes; heldout3_*: a third one, written before the work on clarifying
# questions, the index-only finder and dates/grammar. Each was measured before any change
# made for it.
BATCHES = {
    "heldout": (SEEDED, {"en": 62, "fr": 62}),
    "heldout2": (SEEDED, {"en": 25, "fr": 26}),
    "heldout3": (SEEDED3, {"en": 24, "fr": 25}),
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Each held-out Maildir tree, built once and copied for each request."""
    return {
        id(seeded): build_template(seeded, tmp_path_factory.mktemp("heldout-template"))
        for seeded in (SEEDED, SEEDED3)
    }


@pytest.fixture
def users(settings: Settings, database: Database, store: MaildirStore) -> Iterator[None]:
    """The mailbox owners exist (the outbox checks the sender)."""
    with database.session() as session:
        for seeded in (SEEDED, SEEDED3):
            add_user(session, store, seeded.owner, "held-out password 1")
    yield


def test_heldout_cases_are_well_formed() -> None:
    """At least 20 requests per language and batch, each naming known messages."""
    check_well_formed(load_cases("heldout"), SEEDED, 30)
    check_well_formed(load_cases("heldout2"), SEEDED, 20)
    check_well_formed(load_cases("heldout3"), SEEDED3, 20)


@pytest.mark.timeout(1200)
def test_heldout_set(
    users: None,
    templates: dict[int, Path],
    tmp_path: Path,
    settings: Settings,
    database: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run every held-out request; print the score; nothing changes before confirmation."""
    today = dt.date.today().isoformat()
    for batch, (seeded, floor) in BATCHES.items():
        bench = Bench(
            seeded, templates[id(seeded)], tmp_path / "case", settings, database, press_confirm=True
        )
        outcomes = [run_case(case, bench) for case in load_cases(batch)]
        with capsys.disabled():
            print("\n" + report(f"assistant held-out set {batch}, {today}", outcomes))
        unconfirmed = [o.case["say"] for o in outcomes if o.unconfirmed_change]
        assert not unconfirmed, f"changed the mailbox before confirmation: {unconfirmed}"
        for lang, needed in floor.items():
            got = sum(o.passed for o in outcomes if o.case["lang"] == lang)
            assert got >= needed, f"{batch} {lang}: {got} requests pass, the floor is {needed}"
