"""A second seeded mailbox, for the held-out requests: other people, vendors and topics
than eval_mailbox, so a pass shows the engine generalises rather than knows the names.

Sam (sam@example.test) receives invoices from two vendors (Initech, Umbrella Supplies), a
"Website redesign" thread, French mail from Jérôme Lefèvre, newsletters and a French promo,
an urgent unread security mail, a large video, a flagged contract and mail from two Toms.
``TODAY`` is a Tuesday.
"""

from __future__ import annotations

import datetime as dt

from eval_mailbox import Seed

TODAY = dt.date(2026, 3, 17)
OWNER = "sam@example.test"

INITECH = "Initech Billing <invoices@initech.test>"
PRIYA = "Priya Patel <priya@northwind.test>"
TOM_W = "Tom Wilson <tom.wilson@northwind.test>"
JEROME = "Jérôme Lefèvre <jerome.lefevre@agence.fr>"
LEA = "Léa Moreau <lea.moreau@studio-graphique.fr>"
SAM = "Sam Taylor <sam@example.test>"
DAILY = "Product Hunt Daily <hello@producthunt.test>"
REDESIGN = "Website redesign"
PDF = "application/pdf"
UNSUBSCRIBE = (("List-Unsubscribe", "<mailto:unsubscribe@producthunt.test>"),)

SEEDS: tuple[Seed, ...] = (
    Seed(
        "inv_jan",
        "Archive",
        INITECH,
        "Invoice #2026-001 (January)",
        "2026-01-05 08:00",
        "Hello Sam,\nyour invoice #2026-001 of 2,340.00 EUR is attached.\nInitech Billing",
        attachments=(("initech-2026-001.pdf", PDF, 30_000),),
        to=SAM,
    ),
    Seed(
        "inv_feb",
        "INBOX",
        INITECH,
        "Invoice #2026-014 (February)",
        "2026-02-04 08:00",
        "Hello Sam,\nyour invoice #2026-014 of 2,340.00 EUR is attached, due on March 4."
        "\nInitech Billing",
        attachments=(("initech-2026-014.pdf", PDF, 31_000),),
        to=SAM,
    ),
    Seed(
        "umbrella",
        "INBOX",
        "Umbrella Supplies <billing@umbrella.test>",
        "Umbrella Supplies invoice U-3310",
        "2026-02-20 14:00",
        "Dear customer,\nthe amount due for your office supplies order is 412.50 EUR.\n"
        "Umbrella Supplies",
        attachments=(("U-3310.pdf", PDF, 25_000),),
        to=SAM,
    ),
    Seed(
        "redesign1",
        "INBOX",
        PRIYA,
        REDESIGN,
        "2026-02-23 09:30",
        "Hi all,\nwe're kicking off the website redesign. The first mockups are due on "
        "March 20 and Tom will handle the CMS migration.\nPriya",
        to=SAM,
    ),
    Seed(
        "redesign2",
        "INBOX",
        TOM_W,
        "Re: " + REDESIGN,
        "2026-02-23 13:00",
        "Sounds good. I'll need access to the staging server for the migration.\nTom",
        to=SAM,
    ),
    Seed(
        "redesign3",
        "Sent",
        SAM,
        "Re: " + REDESIGN,
        "2026-02-24 10:00",
        "I'll take care of the copywriting.\nSam",
        to=PRIYA,
    ),
    Seed(
        "jerome1",
        "INBOX",
        JEROME,
        "Devis traduction",
        "2026-03-02 11:00",
        "Bonjour Sam,\nvoici le devis pour la traduction du site en allemand : 1 800 € HT. "
        "Il est valable jusqu'au 31 mars.\nCordialement,\nJérôme",
        attachments=(("devis-traduction.pdf", PDF, 48_000),),
        to=SAM,
    ),
    Seed(
        "jerome_sent",
        "Sent",
        SAM,
        "Re: Devis traduction",
        "2026-03-03 09:00",
        "Merci Jérôme, je valide le devis.\nSam",
        to=JEROME,
    ),
    Seed(
        "redesign4",
        "INBOX",
        LEA,
        "Re: " + REDESIGN,
        "2026-03-05 16:00",
        "Hello, here is the first homepage mockup. Feedback welcome!\nLéa",
        attachments=(("homepage-mockup.png", "image/png", 300_000),),
        to=SAM,
    ),
    Seed(
        "contract",
        "INBOX",
        "Nina Rossi <nina.rossi@legal.test>",
        "Contract renewal for 2026",
        "2026-03-06 10:00",
        "Hi Sam,\nplease sign the renewal contract and send it back by March 31.\nNina",
        flags="SF",
        to=SAM,
        attachments=(
            (
                "contract-2026.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                22_000,
            ),
        ),
    ),
    Seed(
        "inv_mar",
        "INBOX",
        INITECH,
        "Invoice #2026-027 (March)",
        "2026-03-09 08:00",
        "Hello Sam,\nyour invoice #2026-027 of 2,340.00 EUR is attached, due on April 8."
        "\nInitech Billing",
        flags="",
        attachments=(("initech-2026-027.pdf", PDF, 32_000),),
        to=SAM,
    ),
    Seed(
        "news_ph1",
        "INBOX",
        DAILY,
        "Top products of the day: AI note takers",
        "2026-03-10 07:00",
        "Today: five AI note takers compared. Unsubscribe anytime.",
        headers=UNSUBSCRIBE,
        to=SAM,
    ),
    Seed(
        "tom_becker",
        "INBOX",
        "Tom Becker <tom@becker-media.test>",
        "Demo video",
        "2026-03-11 15:00",
        "Hi Sam,\nhere is the recording of last week's demo.\nTom",
        attachments=(("demo.mp4", "video/mp4", 3_000_000),),
        to=SAM,
    ),
    Seed(
        "mum",
        "INBOX",
        "Mum <helen.taylor@family.test>",
        "Sunday lunch",
        "2026-03-12 19:00",
        "Are you coming for lunch on Sunday? Dad is making lasagna.\nLove, Mum",
        to=SAM,
    ),
    Seed(
        "jerome2",
        "INBOX",
        JEROME,
        "Rendez-vous de mardi prochain",
        "2026-03-13 09:20",
        "Bonjour Sam,\nje propose qu'on se voie mardi prochain à 14h dans nos locaux. "
        "Dis-moi si ça te va.\nJérôme",
        flags="",
        to=SAM,
    ),
    Seed(
        "promo",
        "INBOX",
        "Fnac <promo@fnac.test>",
        "Soldes de printemps : -30 % sur les casques",
        "2026-03-14 08:00",
        "Profitez de -30 % sur tous les casques audio. Se désabonner.",
        flags="",
        headers=(("List-Unsubscribe", "<mailto:unsubscribe@fnac.test>"),),
        to=SAM,
    ),
    Seed(
        "tom_wilson2",
        "INBOX",
        TOM_W,
        "Staging server access",
        "2026-03-16 09:00",
        "Hi Sam,\ncould you give me access to the staging server today?\nThanks, Tom",
        flags="",
        to=SAM,
    ),
    Seed(
        "redesign5",
        "INBOX",
        PRIYA,
        "Re: " + REDESIGN,
        "2026-03-16 17:45",
        "Quick update: the launch is postponed to April 14 because the CMS migration is "
        "late.\nPriya",
        flags="",
        to=SAM,
    ),
    Seed(
        "news_ph2",
        "INBOX",
        DAILY,
        "Top products of the day: password managers",
        "2026-03-17 07:00",
        "Today: the best password managers of the year. Unsubscribe anytime.",
        flags="",
        headers=UNSUBSCRIBE,
        to=SAM,
    ),
    Seed(
        "urgent",
        "INBOX",
        "IT Security <security@example.test>",
        "Action required: reset your password before Friday",
        "2026-03-17 08:15",
        "Your password expires on Friday, March 20. Reset it at https://id.example.test or "
        "you will lose access to email and VPN.\nIT Security",
        flags="",
        headers=(("Importance", "high"), ("X-Priority", "1")),
        to=SAM,
    ),
)
BY_ID = {seed.id: seed for seed in SEEDS}
