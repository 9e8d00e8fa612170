"""The period a request names ("last week", "since Monday", "en novembre", "hier"...).

Named periods ("this month", "la semaine dernière") are ranges computed from today; the
dates inside "since …", "before …", "between … and …" or "in November" are read by
``dateparser`` (offline, French and English). A period is a half-open range of days
[start, end) with either side open.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MONTHS = (
    "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
WEEKDAYS = (
    "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|"
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
# a date phrase: "monday", "november 10", "le 3 mars", "1er decembre", "2025-11-02", "hier"
POINT = (
    rf"(?:(?:le\s+)?(?:\d{{1,2}}(?:er)?\s+(?:{MONTHS})(?:\s+\d{{4}})?|(?:{MONTHS})\s+\d{{1,2}}"
    rf"(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|(?:{WEEKDAYS})|\d{{4}}-\d{{2}}-\d{{2}}|"
    rf"\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|hier|yesterday|aujourd'?hui|today))"
)


@dataclass(frozen=True)
class Period:
    """Days from ``start`` (inclusive) to ``end`` (exclusive); ``span`` is the words used."""

    start: dt.date | None
    end: dt.date | None
    span: tuple[int, int]

    def contains(self, day: dt.date) -> bool:
        """True when ``day`` falls in the period."""
        return (self.start is None or day >= self.start) and (self.end is None or day < self.end)


def parse_point(words: str, today: dt.date) -> dt.date | None:
    """One date named in words (French or English), preferring the past."""
    base = dt.datetime.combine(today, dt.time(12))
    settings = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first",
        "DATE_ORDER": "DMY",
    }
    import dateparser  # ~7 MiB, loaded by the first request that names a date

    found = dateparser.parse(words, languages=["en", "fr"], settings=settings)  # type: ignore[arg-type]
    return found.date() if found else None


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    year, month = day.year, day.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.date(year, month, 1)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _named(plain: str, today: dt.date) -> Period | None:
    monday = today - dt.timedelta(days=today.weekday())
    tomorrow = today + dt.timedelta(days=1)
    rules: list[tuple[str, tuple[dt.date | None, dt.date | None]]] = [
        (
            r"\b(?:la semaine (?:derniere|passee)|last week|previous week|past week)\b",
            (monday - dt.timedelta(days=7), monday),
        ),
        (r"\b(?:cette semaine|this week)\b", (monday, tomorrow)),
        (
            r"\b(?:le mois (?:dernier|passe)|du mois dernier|last month|previous month)\b",
            (_month_start(today, 1), _month_start(today)),
        ),
        (r"\b(?:ce mois(?:-ci| ci)?|this month)\b", (_month_start(today), tomorrow)),
        (r"\b(?:aujourd'?hui|today'?s?|ce matin|this morning)\b", (today, tomorrow)),
        (r"\b(?:hier|yesterday)\b", (today - dt.timedelta(days=1), today)),
        (r"\b(?:cette annee|this year)\b", (dt.date(today.year, 1, 1), tomorrow)),
    ]
    for pattern, (start, end) in rules:
        match = re.search(pattern, plain)
        if match:
            return Period(start, end, match.span())
    match = re.search(
        r"\b(?:(?:the |these )?(?:last|past) (\d{1,3}) days?|(?:les |ces )?(\d{1,3}) derniers jours"
        r"|(?:depuis |il y a )?(\d{1,3}) jours?)\b",
        plain,
    )
    if match:
        days = int(next(g for g in match.groups() if g))
        return Period(today - dt.timedelta(days=days - 1), tomorrow, match.span())
    return None


def find_period(plain: str, today: dt.date) -> Period | None:
    """The period a folded request names, or None."""
    match = re.search(
        rf"\b(?:between|entre|from|du|de)\s+(?:le\s+)?(\d{{1,2}}(?:er)?|{POINT})\s+"
        rf"(?:and|et|to|au|a|until|till|through|jusqu'au|-)\s+(?:le\s+)?({POINT})",
        plain,
    )
    if match:
        end = parse_point(match.group(2), today)
        first = match.group(1)
        if end and re.fullmatch(r"\d{1,2}(?:er)?", first):
            start: dt.date | None = end.replace(day=int(first.rstrip("er")))
        else:
            start = parse_point(first, today)
        if start and end:
            return Period(start, end + dt.timedelta(days=1), match.span())
    match = re.search(
        rf"\b(since|depuis|after|apres|before|avant|until|jusqu'au)\s+(?:le\s+)?"
        rf"({POINT})",
        plain,
    )
    if match:
        day = parse_point(match.group(2), today)
        if day:
            word = match.group(1)
            if word in ("since", "depuis"):
                return Period(day, None, match.span())
            if word in ("after", "apres"):
                return Period(day + dt.timedelta(days=1), None, match.span())
            if word in ("until", "jusqu'au"):
                return Period(None, day + dt.timedelta(days=1), match.span())
            return Period(None, day, match.span())
    named = _named(plain, today)
    if named:
        return named
    match = re.search(
        rf"\b(?:in|en|during|pendant|du mois d'|du mois de|de|of)?\s*"
        rf"(?<![\d-])({MONTHS})\b(?!\s+\d)",
        plain,
    )
    # "may", "mai", "mar"... are months only after a preposition ("in May", "en mai")
    ambiguous = ("mar", "may", "mai", "jun", "dec", "sept")
    if match and (match.group(1) not in ambiguous or match.group(0).strip() != match.group(1)):
        day = parse_point(match.group(1), today)
        if day:
            start = day.replace(day=1)
            if start > today:
                start = start.replace(year=start.year - 1)
            return Period(start, _next_month(start), match.span())
    match = re.search(
        rf"\b(?:(?:on|from|de|du)\s+)?(?:last|this past|previous)\s+({WEEKDAYS})\b|"
        rf"\b(?:(?:de|du|le)\s+)?({WEEKDAYS})\s+(?:dernier|passe)\b",
        plain,
    )
    if match:
        day = parse_point(match.group(1) or match.group(2), today)
        if day and day >= today:
            day -= dt.timedelta(days=7)
        if day:
            return Period(day, day + dt.timedelta(days=1), match.span())
    match = re.search(rf"\b(?:on|le)\s+({POINT})", plain)
    if match:
        day = parse_point(match.group(1), today)
        if day:
            return Period(day, day + dt.timedelta(days=1), match.span())
    return None
