"""A realistic seeded mailbox for the assistant's evaluation set.

Alice (alice@example.test) receives two vendors' invoices (Acme, Globex), a six-message
"Project Phoenix" thread, newsletters, mail in French from Maria Dupont, an urgent unread
mail, attachments of several kinds, and mail from two other Alices. Every message has a
fixed Date so requests about time are judged against ``TODAY`` (a Wednesday).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP

from web.mailservice.mailbox import UserMailbox

TODAY = dt.date(2025, 12, 10)
OWNER = "alice@example.test"


@dataclass(frozen=True)
class Seed:
    """One message of the seeded mailbox, named by a short id the cases use."""

    id: str
    folder: str
    sender: str
    subject: str
    date: str  # "YYYY-MM-DD HH:MM"
    body: str
    flags: str = "S"
    to: str = OWNER
    attachments: tuple[tuple[str, str, int], ...] = ()  # (name, mime type, size)
    headers: tuple[tuple[str, str], ...] = ()
    reply_to: str = ""


ACME = "Acme Billing <billing@acme.test>"
GLOBEX = "Globex Accounts <accounts@globex.test>"
BOB = "Bob Martin <bob@example.test>"
CAROL = "Carol Smith <carol@example.test>"
DAVE = "Dave Brown <dave@remote.test>"
MARIA = "Maria Dupont <maria.dupont@partenaire.fr>"
PHOENIX = "Project Phoenix kickoff"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SEEDS: tuple[Seed, ...] = (
    Seed(
        "acme_oct",
        "Archive",
        ACME,
        "Invoice INV-0998 for October",
        "2025-10-02 09:00",
        "Dear customer,\nplease find attached invoice INV-0998 for 1,100.00 EUR.\nAcme Billing",
        attachments=(("INV-0998.pdf", PDF, 40_000),),
    ),
    Seed(
        "acme_nov",
        "INBOX",
        ACME,
        "Invoice INV-1001 for November",
        "2025-11-03 09:00",
        "Dear customer,\nplease find attached invoice INV-1001 for 1,250.00 EUR, "
        "due on December 3.\nAcme Billing",
        attachments=(("INV-1001.pdf", PDF, 42_000),),
    ),
    Seed(
        "photos",
        "INBOX",
        CAROL,
        "Photos from the offsite",
        "2025-11-15 18:30",
        "Hi all, here are the photos from the offsite. Enjoy!\nCarol",
        attachments=(("offsite-photos.zip", "application/zip", 1_100_000),),
    ),
    Seed(
        "globex_nov",
        "INBOX",
        GLOBEX,
        "Your Globex invoice G-7781",
        "2025-11-20 07:45",
        "Hello,\nyour invoice G-7781 of 980.00 USD is available. Payment is due within "
        "30 days.\nGlobex Accounts",
        attachments=(("G-7781.pdf", PDF, 35_000),),
    ),
    Seed(
        "phoenix1",
        "INBOX",
        BOB,
        PHOENIX,
        "2025-11-24 10:00",
        "Hi team,\nProject Phoenix starts next week. The goal is to migrate the billing "
        "system to the new platform by March. Please send me your availability.\nBob",
    ),
    Seed(
        "phoenix2",
        "INBOX",
        CAROL,
        "Re: " + PHOENIX,
        "2025-11-24 14:20",
        "I can lead the data migration. I am available from Tuesday.\nCarol\n\n"
        "> Project Phoenix starts next week.",
    ),
    Seed(
        "phoenix3",
        "Sent",
        "Alice <alice@example.test>",
        "Re: " + PHOENIX,
        "2025-11-25 09:10",
        "Count me in for the API part. Can we meet on Thursday?\nAlice",
        to=BOB,
    ),
    Seed(
        "phoenix4",
        "INBOX",
        BOB,
        "Re: " + PHOENIX,
        "2025-11-26 11:00",
        "Great. Kickoff meeting on Thursday at 10 in room B. Budget is approved.\nBob",
    ),
    Seed(
        "phoenix5",
        "INBOX",
        CAROL,
        "Re: " + PHOENIX,
        "2025-12-02 16:40",
        "Here is the migration plan with the timeline. Risks are listed on the second "
        "sheet.\nCarol",
        attachments=(("phoenix-plan.xlsx", XLSX, 58_000),),
    ),
    Seed(
        "phoenix6",
        "INBOX",
        DAVE,
        "Re: " + PHOENIX,
        "2025-12-09 17:05",
        "The test environment is ready. We are one week late on the API; I suggest moving "
        "the demo to January 15.\nDave",
        flags="",
    ),
    Seed(
        "budget",
        "INBOX",
        BOB,
        "Budget 2026",
        "2025-11-28 12:00",
        "Alice, the 2026 budget draft is attached. Please review it before Friday.\nBob",
        flags="SF",
        attachments=(("budget-2026.xlsx", XLSX, 31_000),),
    ),
    Seed(
        "news1",
        "INBOX",
        "Tech Weekly <newsletter@techweekly.test>",
        "The Weekly Tech Digest #48",
        "2025-12-01 06:00",
        "This week: new laptops, a security update and ten tips for remote teams. "
        "Unsubscribe at any time.",
        headers=(("List-Unsubscribe", "<mailto:unsubscribe@techweekly.test>"),),
    ),
    Seed(
        "alice_martin",
        "INBOX",
        "Alice Martin <alice.martin@client.test>",
        "Question about the contract",
        "2025-12-02 11:30",
        "Hello Alice,\ncould you confirm the renewal date of our contract? Thanks.\nAlice Martin",
    ),
    Seed(
        "maria1",
        "INBOX",
        MARIA,
        "Réunion de jeudi",
        "2025-12-04 09:15",
        "Bonjour Alice,\npouvons-nous déplacer la réunion de jeudi à 15h ? "
        "Je serai en déplacement le matin.\nMerci,\nMaria",
    ),
    Seed(
        "maria_sent",
        "Sent",
        "Alice <alice@example.test>",
        "Re: Réunion de jeudi",
        "2025-12-04 10:00",
        "Bonjour Maria, 15h me convient. Alice",
        to=MARIA,
    ),
    Seed(
        "deals",
        "INBOX",
        "MegaStore <deals@megastore.test>",
        "Winter sale: 50% off",
        "2025-12-05 08:00",
        "Our winter sale starts today: 50% off on all coats. Unsubscribe here.",
        flags="",
        headers=(("List-Unsubscribe", "<mailto:unsubscribe@megastore.test>"),),
    ),
    Seed(
        "alice_chen",
        "INBOX",
        "Alice Chen <alice.chen@design.test>",
        "Logo drafts",
        "2025-12-06 15:00",
        "Hi Alice, here are the new logo drafts. Which one do you prefer?\nAlice Chen",
        flags="",
        attachments=(("logo-v2.png", "image/png", 120_000),),
    ),
    Seed(
        "acme_dec",
        "INBOX",
        ACME,
        "Invoice INV-1002 for December",
        "2025-12-08 09:00",
        "Dear customer,\nplease find attached invoice INV-1002 for 1,250.00 EUR, "
        "due on January 8.\nAcme Billing",
        flags="",
        attachments=(("INV-1002.pdf", PDF, 43_000),),
    ),
    Seed(
        "news2",
        "INBOX",
        "Tech Weekly <newsletter@techweekly.test>",
        "The Weekly Tech Digest #49",
        "2025-12-08 06:00",
        "This week: the best keyboards of the year and a guide to password managers.",
        flags="",
        headers=(("List-Unsubscribe", "<mailto:unsubscribe@techweekly.test>"),),
    ),
    Seed(
        "lunch",
        "INBOX",
        DAVE,
        "Lunch on Friday?",
        "2025-12-09 12:10",
        "Hi Alice, shall we have lunch on Friday at noon? The new Italian place is good.\nDave",
    ),
    Seed(
        "maria2",
        "INBOX",
        MARIA,
        "Compte rendu de la réunion",
        "2025-12-09 18:00",
        "Bonjour Alice,\nvoici le compte rendu de la réunion de jeudi. Les décisions : "
        "le lancement est repoussé au 15 janvier et le budget est validé.\nBonne soirée,\n"
        "Maria",
        flags="",
        attachments=(("compte-rendu.pdf", PDF, 64_000),),
    ),
    Seed(
        "urgent",
        "INBOX",
        "Ops Team <ops@example.test>",
        "URGENT: server certificate expires tomorrow",
        "2025-12-10 07:30",
        "The TLS certificate of mail.example.test expires tomorrow at 23:59. Please renew "
        "it today or customers will see errors.\nOps",
        flags="",
        headers=(("Importance", "high"), ("X-Priority", "1")),
    ),
)
BY_ID = {seed.id: seed for seed in SEEDS}


def message_bytes(seed: Seed) -> bytes:
    """The RFC 5322 bytes of one seeded message."""
    message = EmailMessage(policy=SMTP)
    message["From"] = seed.sender
    message["To"] = seed.to
    message["Subject"] = seed.subject
    when = dt.datetime.strptime(seed.date, "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
    message["Date"] = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
    message["Message-ID"] = f"<{seed.id}@eval.test>"
    for name, value in seed.headers:
        message[name] = value
    message.set_content(seed.body)
    for filename, mime, size in seed.attachments:
        main, sub = mime.split("/", 1)
        message.add_attachment(b"x" * size, maintype=main, subtype=sub, filename=filename)
    return message.as_bytes()


def seed_mailbox(
    mailbox: UserMailbox, seeds: tuple[Seed, ...] = SEEDS
) -> dict[tuple[str, int], str]:
    """Store every seed in ``mailbox``; returns (folder, uid) -> seed id."""
    known = {info.name for info in mailbox.folders()}
    refs: dict[tuple[str, int], str] = {}
    for seed in sorted(seeds, key=lambda s: s.date):
        if seed.folder not in known:
            mailbox.service.create_folder(seed.folder)
            known.add(seed.folder)
        uid = mailbox.append(seed.folder, message_bytes(seed), flags=seed.flags)
        refs[(seed.folder, uid)] = seed.id
    return refs
