"""A third seeded mailbox, for the third held-out batch: two threads a user calls by the
same name ("the offsite thread": "Offsite planning" and "Offsite hotel booking"), two
people with the same first name (Marc Lambert, a colleague, and Marc Petit, a lawyer),
senders whose names start with a vowel (Anne, Olivier: French elides "de" before them),
one-of and many-of counts, and dates an answer must write as each language does.

Nora (nora@example.test) has five unread messages. ``TODAY`` is a Wednesday.
"""

from __future__ import annotations

import datetime as dt

from eval_mailbox import Seed

TODAY = dt.date(2026, 5, 20)
OWNER = "nora@example.test"

NORA = "Nora Blake <nora@example.test>"
MARC_L = "Marc Lambert <marc.lambert@lambert-conseil.test>"
MARC_P = "Marc Petit <marc.petit@petit-avocats.test>"
ANNE = "Anne Roche <anne.roche@lambert-conseil.test>"
JULIE = "Julie Garnier <julie.garnier@events.test>"
OLIVIER = "Olivier Blanc <olivier.blanc@agence-ob.fr>"
PLANNING = "Offsite planning"
HOTEL = "Offsite hotel booking"
PDF = "application/pdf"

SEEDS: tuple[Seed, ...] = (
    Seed(
        "off1",
        "INBOX",
        MARC_L,
        PLANNING,
        "2026-04-14 09:00",
        "Hi Nora,\nlet's plan the team offsite for June. I suggest Annecy, two days. "
        "Can you check the budget?\nMarc",
        to=NORA,
    ),
    Seed(
        "off2",
        "INBOX",
        ANNE,
        "Re: " + PLANNING,
        "2026-04-15 11:30",
        "Annecy works for me. The budget is 6,000 EUR for 14 people.\nAnne",
        to=NORA,
    ),
    Seed(
        "off3",
        "Sent",
        NORA,
        "Re: " + PLANNING,
        "2026-04-16 08:45",
        "Great, I'll book the venue. Dates: June 11 and 12.\nNora",
        to=MARC_L,
    ),
    Seed(
        "invoice",
        "Archive",
        "Orange <facture@orange.test>",
        "Votre facture d'avril",
        "2026-04-28 06:00",
        "Bonjour,\nvotre facture d'avril de 39,99 € est disponible en pièce jointe.\nOrange",
        attachments=(("facture-avril.pdf", PDF, 20_000),),
        to=NORA,
    ),
    Seed(
        "bank",
        "INBOX",
        "Banque Horizon <alertes@banque-horizon.test>",
        "Votre relevé de compte de mai est disponible",
        "2026-05-03 06:00",
        "Bonjour,\nvotre relevé de compte du mois est disponible dans votre espace client.\n"
        "Banque Horizon",
        to=NORA,
    ),
    Seed(
        "hotel1",
        "INBOX",
        JULIE,
        HOTEL,
        "2026-05-04 10:00",
        "Hi Nora,\nthe Hotel du Lac has 14 rooms free on June 10 and 11. Should I book them?"
        "\nJulie",
        to=NORA,
    ),
    Seed(
        "hotel_sent",
        "Sent",
        NORA,
        "Re: " + HOTEL,
        "2026-05-05 09:00",
        "Yes please, book the 14 rooms.\nNora",
        to=JULIE,
    ),
    Seed(
        "anne2",
        "INBOX",
        ANNE,
        "Contrat de prestation signé",
        "2026-05-11 10:00",
        "Bonjour Nora,\nvoici le contrat de prestation signé par nos deux parties.\n"
        "Bonne journée,\nAnne",
        attachments=(("contrat-signe.pdf", PDF, 40_000),),
        to=NORA,
    ),
    Seed(
        "marc_l2",
        "INBOX",
        MARC_L,
        "Quarterly figures",
        "2026-05-12 09:15",
        "Hi Nora,\nthe Q1 figures are attached. Revenue is up 8 percent.\nMarc",
        attachments=(
            (
                "q1-figures.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                18_000,
            ),
        ),
        to=NORA,
    ),
    Seed(
        "marc_p",
        "INBOX",
        MARC_P,
        "Lease renewal",
        "2026-05-15 14:00",
        "Dear Ms Blake,\nthe new lease is attached for your signature. Please return it by "
        "June 1.\nMarc Petit, attorney",
        flags="",
        attachments=(("lease-2026.pdf", PDF, 60_000),),
        to=NORA,
    ),
    Seed(
        "news",
        "INBOX",
        "The Verge <newsletter@theverge.test>",
        "This week in tech",
        "2026-05-17 07:00",
        "The week's biggest stories in tech. Unsubscribe at any time.",
        flags="",
        headers=(("List-Unsubscribe", "<mailto:unsubscribe@theverge.test>"),),
        to=NORA,
    ),
    Seed(
        "hotel2",
        "INBOX",
        JULIE,
        "Re: " + HOTEL,
        "2026-05-18 16:20",
        "Hi Nora,\nthe hotel needs the room list by May 29, or we lose the group rate.\nJulie",
        flags="",
        to=NORA,
    ),
    Seed(
        "olivier",
        "INBOX",
        OLIVIER,
        "Photos de la soirée",
        "2026-05-19 18:00",
        "Bonjour Nora,\nvoici les photos de la soirée de jeudi.\nOlivier",
        flags="",
        attachments=(
            ("soiree-1.jpg", "image/jpeg", 200_000),
            ("soiree-2.jpg", "image/jpeg", 210_000),
        ),
        to=NORA,
    ),
    Seed(
        "dentist",
        "INBOX",
        "Cabinet dentaire du Parc <rdv@dentiste-parc.test>",
        "Rappel : rendez-vous du 2 juin à 9h30",
        "2026-05-20 07:30",
        "Bonjour,\nnous vous rappelons votre rendez-vous du mardi 2 juin à 9h30.\n"
        "Cabinet dentaire du Parc",
        flags="",
        to=NORA,
    ),
)
BY_ID = {seed.id: seed for seed in SEEDS}
