"""Pieces of a request: addresses, quoted text, dates, message numbers and folder names."""

from __future__ import annotations

import datetime as dt
import re

from web.assistant.language import fold

ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
QUOTED = re.compile(r'"([^"]*)"|«\s*([^»]*?)\s*»|“([^”]*)”|‘([^’]*)’')
LAST = re.compile(
    r"\b(?:dernier|derniere|plus recent|plus recente|last|latest|newest|most recent)\b"
)
CURRENT = re.compile(
    r"\b(?:celui-ci|celui ci|celle-ci|ce message|cet email|this one|this message|this email)\b"
)
ORDINALS = {
    "premier": 1,
    "premiere": 1,
    "first": 1,
    "deuxieme": 2,
    "second": 2,
    "troisieme": 3,
    "third": 3,
    "quatrieme": 4,
    "fourth": 4,
    "cinquieme": 5,
    "fifth": 5,
}
_NUMBER = re.compile(r"(?<![\w.@:/-])(?:#|n°|no\.?\s*)?(\d{1,4})(?![\w.@:/-])")
FOLDER_WORDS = {
    "inbox": "INBOX",
    "boite de reception": "INBOX",
    "reception": "INBOX",
    "corbeille": "Trash",
    "poubelle": "Trash",
    "trash": "Trash",
    "bin": "Trash",
    "archives": "Archive",
    "archive": "Archive",
    "archiver": "Archive",
    "indesirables": "Junk",
    "spam": "Junk",
    "junk": "Junk",
    "pourriel": "Junk",
    "envoyes": "Sent",
    "sent": "Sent",
    "brouillons": "Drafts",
    "drafts": "Drafts",
}
WEEKDAYS = {
    "lundi": 0,
    "monday": 0,
    "mardi": 1,
    "tuesday": 1,
    "mercredi": 2,
    "wednesday": 2,
    "jeudi": 3,
    "thursday": 3,
    "vendredi": 4,
    "friday": 4,
    "samedi": 5,
    "saturday": 5,
    "dimanche": 6,
    "sunday": 6,
}
MONTHS = {
    "janvier": 1,
    "january": 1,
    "jan": 1,
    "fevrier": 2,
    "february": 2,
    "feb": 2,
    "mars": 3,
    "march": 3,
    "avril": 4,
    "april": 4,
    "apr": 4,
    "mai": 5,
    "may": 5,
    "juin": 6,
    "june": 6,
    "juillet": 7,
    "july": 7,
    "aout": 8,
    "august": 8,
    "aug": 8,
    "septembre": 9,
    "september": 9,
    "sep": 9,
    "octobre": 10,
    "october": 10,
    "oct": 10,
    "novembre": 11,
    "november": 11,
    "nov": 11,
    "decembre": 12,
    "december": 12,
    "dec": 12,
}


def addresses(text: str) -> list[str]:
    """Every email address in the text, in order."""
    return [a.rstrip(".") for a in ADDRESS.findall(text)]


def quoted(text: str) -> list[str]:
    """Every quoted passage ("…", «…», “…”), in order."""
    return [next(g for g in m.groups() if g is not None) for m in QUOTED.finditer(text)]


def without_quotes_and_addresses(text: str) -> str:
    """The text with quoted passages and addresses blanked out (for keyword matching)."""
    return ADDRESS.sub(" ", QUOTED.sub(" ", text))


def target(text: str) -> int | str | None:
    """Which message a request points at: a number (1 = first listed), "last", or None."""
    plain = fold(without_quotes_and_addresses(text))
    plain = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", " ", plain)
    plain = re.sub(
        r"\b(?:last|past) (?:week|month|year|\d+ days?)\b|"
        r"\b(?:semaine|mois|annee) (?:derniere?|passee?)\b|\b\d+ derniers jours\b",
        " ",
        plain,
    )
    if CURRENT.search(plain):
        return "current"
    if LAST.search(plain):
        return "last"
    for word, number in ORDINALS.items():
        if re.search(rf"\b{word}\b", plain):
            return number
    match = _NUMBER.search(plain)
    if match and not _is_date_number(plain, match):
        return int(match.group(1))
    return None


def _is_date_number(plain: str, match: re.Match[str]) -> bool:
    after = plain[match.end() :].lstrip()
    before = plain[: match.start()].rstrip()
    if any(after.startswith(m) for m in MONTHS) or before.endswith(("depuis le", "since")):
        return True
    return bool(re.match(r"(derniers?|last|days?|jours?)\b", after)) or before.endswith("last")


def folder(text: str, known: list[str]) -> str | None:
    """The folder a request names (after "vers/dans/to/into" if present), or None."""
    plain = fold(without_quotes_and_addresses(text))
    tail = re.split(r"\b(?:vers|dans|into|to|en)\b", plain)
    candidates = [tail[-1], plain] if len(tail) > 1 else [plain]
    for part in candidates:
        for name in sorted(known, key=len, reverse=True):
            if name != "INBOX" and re.search(rf"\b{re.escape(fold(name))}\b", part):
                return name
        for word, name in sorted(FOLDER_WORDS.items(), key=lambda kv: -len(kv[0])):
            if re.search(rf"\b{word}\b", part) and name in known:
                return name
    return None


def since_date(text: str, today: dt.date | None = None) -> dt.date | None:
    """The start of the period a request names (today, yesterday, this week, since …)."""
    today = today or dt.date.today()
    plain = fold(text)
    if re.search(r"\b(aujourd'?hui|today)\b", plain):
        return today
    if re.search(r"\b(hier|yesterday)\b", plain):
        return today - dt.timedelta(days=1)
    if re.search(r"\b(cette semaine|this week)\b", plain):
        return today - dt.timedelta(days=today.weekday())
    if re.search(r"\b(ce mois|this month)\b", plain):
        return today.replace(day=1)
    match = re.search(r"\b(\d{1,3}) (?:derniers jours|last days|days?)\b", plain) or re.search(
        r"\blast (\d{1,3}) days?\b", plain
    )
    if match:
        return today - dt.timedelta(days=int(match.group(1)))
    match = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", plain)
    if match:
        try:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None
    match = re.search(r"\b(\d{1,2})(?:er)? (" + "|".join(MONTHS) + r")\b", plain) or re.search(
        r"\b(" + "|".join(MONTHS) + r") (\d{1,2})\b", plain
    )
    if match:
        day_text, month_text = match.groups()
        if not day_text.isdigit():
            day_text, month_text = month_text, day_text
        try:
            when = dt.date(today.year, MONTHS[month_text], int(day_text))
        except ValueError:
            return None
        return when if when <= today else when.replace(year=today.year - 1)
    for name, weekday in WEEKDAYS.items():
        if re.search(rf"\b(?:depuis|since) {name}\b", plain):
            return today - dt.timedelta(days=(today.weekday() - weekday) % 7 or 7)
    return None
