"""Assistant benchmark: what a chat request costs as the mailbox grows.

Usage: ``python bench/assistant_bench.py [--sizes 200,1000,3000]``

For each size, builds a throw-away installation under a temporary directory (config,
SQLite database, one user), writes N messages into INBOX (every third an invoice with a
PDF, a quarter unread, a dozen senders), lets one topic search parse them into the mailbox
index (once for the life of the index, as IMAP SEARCH would), then opens a new chat and
times each request and counts the messages the Maildir store hands out for it. Nothing is
asserted: this prints figures (``tests/unit/test_assistant_reads.py`` asserts the reads).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.counting_store import CountingStore  # noqa: E402

from mailrs.accounts.users import add_user  # noqa: E402
from mailrs.config import Settings, load_settings  # noqa: E402
from mailrs.db.engine import Database  # noqa: E402
from mailrs.db.migrate import upgrade  # noqa: E402
from mailrs.queue.spool import Spool  # noqa: E402
from web.assistant.actions import Actions  # noqa: E402
from web.assistant.engine import OfflineEngine  # noqa: E402
from web.assistant.replies import Conversation  # noqa: E402
from web.mailservice.mailbox import UserMailbox  # noqa: E402
from web.mailservice.sending import Outbox  # noqa: E402

USER = "bench@example.test"
TODAY = dt.date(2026, 3, 1)
REQUESTS = (
    "how many unread emails do I have?",
    "show my unread emails",
    "invoices from Acme with attachments",
    "who wrote to me the most this month?",
    "any pdfs from Acme?",
    "emails from Bob last week",
    "anything urgent?",
    "summarize my unread mail",
    "read the first one",
)


def message(number: int) -> bytes:
    """One generated message."""
    senders = [f"Person {i} <p{i}@example.org>" for i in range(10)]
    senders += ["Acme Billing <billing@acme.test>", "Bob Martin <bob@example.org>"]
    mail = EmailMessage(policy=SMTP)
    mail["From"] = senders[number % len(senders)]
    mail["To"] = USER
    mail["Subject"] = f"Invoice {number}" if number % 3 == 0 else f"Notes on topic {number}"
    when = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=number * 3)
    mail["Date"] = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
    mail.set_content(f"Message {number}. " + "Some words of a realistic length. " * 40)
    if number % 3 == 0:
        mail.add_attachment(b"%PDF" * 5000, maintype="application", subtype="pdf", filename="i.pdf")
    return mail.as_bytes()


def settings_in(work: Path) -> Settings:
    """A development configuration under ``work`` with a migrated database."""
    config = work / "mailrs.toml"
    config.write_text(
        'mode = "development"\n[smtp]\nlocal_domains = ["example.test"]\n'
        '[api]\njwt_secret = "bench-only-not-a-secret-0123456789"\n'
        '[storage]\ndata_dir = "data"\n'
    )
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    return settings


def run(size: int) -> None:
    """Seed ``size`` messages, index them once, then time a new chat's requests."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        settings = settings_in(work)
        database = Database.from_settings(settings)
        store = CountingStore(settings.maildir_path)
        with database.session() as session:
            add_user(session, store, USER, "bench password 123")
        with UserMailbox(store, USER, settings) as mailbox:
            for number in range(size):
                flags = "" if number % 4 == 0 else "S"
                mailbox.append("INBOX", message(number), flags=flags)
        outbox = Outbox(settings, database, Spool(settings.spool_path))
        started = time.perf_counter()
        with UserMailbox(store, USER, settings) as mailbox:
            conversation = Conversation(today=TODAY)
            OfflineEngine(Actions(mailbox, outbox, conversation)).respond("emails about invoices")
        print(
            f"\n{size} messages: first parse into the index {time.perf_counter() - started:.2f} s"
        )
        with UserMailbox(store, USER, settings) as mailbox:
            engine = OfflineEngine(Actions(mailbox, outbox, Conversation(today=TODAY)))
            for request in REQUESTS:
                store.reads = 0
                started = time.perf_counter()
                engine.respond(request)
                took = (time.perf_counter() - started) * 1000
                print(f"  {request:<40} {took:8.1f} ms  {store.reads:5d} messages read")
        database.dispose()


def main() -> None:
    """Run the benchmark for each size given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,3000")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run(size)


if __name__ == "__main__":
    main()
