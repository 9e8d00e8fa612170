"""The held-out requests: heldout_en.yaml and heldout_fr.yaml against heldout_mailbox (other
people, vendors and topics than the evaluation set), written from how users ask before
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
from heldout_mailbox import OWNER, SEEDS, TODAY

from mailrs.accounts.users import add_user
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.store.maildir import MaildirStore

SEEDED = Seeded(SEEDS, OWNER, TODAY)
# Passing requests needed per language (the score recorded in the README).
FLOOR = {"en": 62, "fr": 62}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The held-out Maildir tree, built once and copied for each request."""
    return build_template(SEEDED, tmp_path_factory.mktemp("heldout-template"))


@pytest.fixture
def users(settings: Settings, database: Database, store: MaildirStore) -> Iterator[None]:
    """The mailbox owner exists (the outbox checks the sender)."""
    with database.session() as session:
        add_user(session, store, OWNER, "sam password 1")
    yield


def test_heldout_cases_are_well_formed() -> None:
    """At least 30 requests per language, each naming known messages."""
    check_well_formed(load_cases("heldout"), SEEDED, 30)


@pytest.mark.timeout(600)
def test_heldout_set(
    users: None,
    template: Path,
    tmp_path: Path,
    settings: Settings,
    database: Database,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run every held-out request; print the score; nothing changes before confirmation."""
    bench = Bench(SEEDED, template, tmp_path / "case", settings, database, press_confirm=True)
    outcomes = [run_case(case, bench) for case in load_cases("heldout")]
    with capsys.disabled():
        print("\n" + report(f"assistant held-out set, {dt.date.today().isoformat()}", outcomes))
    unconfirmed = [o.case["say"] for o in outcomes if o.unconfirmed_change]
    assert not unconfirmed, f"changed the mailbox before confirmation: {unconfirmed}"
    for lang, needed in FLOOR.items():
        got = sum(o.passed for o in outcomes if o.case["lang"] == lang)
        assert got >= needed, f"{lang}: {got} held-out requests pass, the floor is {needed}"
