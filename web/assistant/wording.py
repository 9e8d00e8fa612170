"""Grammar the answers need in each language: counts with the right plural, French
elision ("d'Olivier", never "de Olivier") and dates written as each language writes them
("May 18" / "18 mai", "Monday, May 18, 2026, 16:20" / "lundi 18 mai 2026 à 16:20").
"""

from __future__ import annotations

import datetime as dt

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
}
WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
}
NOUNS = {  # singular and plural, per language
    "message": {"en": ("message", "messages"), "fr": ("message", "messages")},
    "attachment": {"en": ("attachment", "attachments"), "fr": ("pièce jointe", "pièces jointes")},
    "shown": {"en": ("shown", "shown"), "fr": ("affiché", "affichés")},
}
VOWELS = "aeiouyàâäéèêëîïôöùûüAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜ"


def plural(count: int, lang: str) -> bool:
    """Whether ``count`` takes the plural: English from 2 and for 0, French from 2."""
    return count >= 2 if lang == "fr" else count != 1


def count_of(count: int, noun: str, lang: str) -> str:
    """ "1 message", "3 messages", "2 pièces jointes"."""
    one, many = NOUNS[noun][lang if lang == "fr" else "en"]
    return f"{count} {many if plural(count, lang) else one}"


def of(name: str, lang: str) -> str:
    """ "from Anne" in English; "d'Anne" / "de Marc" in French."""
    if lang != "fr":
        return f"from {name}"
    return f"d'{name}" if name[:1] in VOWELS + "hH" else f"de {name}"


def day_month(when: dt.date, lang: str, today: dt.date | None = None) -> str:
    """ "May 18" / "18 mai" ("1er juin"), with the year when it is not this year's."""
    year = "" if today is None or when.year == today.year else str(when.year)
    if lang == "fr":
        day = "1er" if when.day == 1 else str(when.day)
        return f"{day} {MONTHS['fr'][when.month - 1]}" + (f" {year}" if year else "")
    return f"{MONTHS['en'][when.month - 1]} {when.day}" + (f", {year}" if year else "")


def long_date(when: dt.datetime, lang: str) -> str:
    """ "Monday, May 18, 2026, 16:20" / "lundi 18 mai 2026 à 16:20"."""
    weekday = WEEKDAYS["fr" if lang == "fr" else "en"][when.weekday()]
    if lang == "fr":
        return f"{weekday} {day_month(when, 'fr')} {when.year} à {when:%H:%M}"
    return f"{weekday}, {day_month(when, 'en')}, {when.year}, {when:%H:%M}"
