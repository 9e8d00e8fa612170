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
# Passing requests needed per batch and language (the score recorded in the README).
# heldout_*: the first batch; heldout2_*: a second one, written after the first round of
# fixes and measured before any change made for it.
FLOOR = {"heldout": {"en": 62, "fr": 62}, "heldout2": {"en": 25, "fr": 26}}


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
    check_well_formed(load_cases("heldout2"), SEEDED, 20)


@pytest.mark.timeout(1200)
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
    today = dt.date.today().isoformat()
    for batch, floor in FLOOR.items():
        outcomes = [run_case(case, bench) for case in load_cases(batch)]
        with capsys.disabled():
            print("\n" + report(f"assistant held-out set {batch}, {today}", outcomes))
        unconfirmed = [o.case["say"] for o in outcomes if o.unconfirmed_change]
        assert not unconfirmed, f"changed the mailbox before confirmation: {unconfirmed}"
        for lang, needed in floor.items():
            got = sum(o.passed for o in outcomes if o.case["lang"] == lang)
            assert got >= needed, f"{batch} {lang}: {got} requests pass, the floor is {needed}"
