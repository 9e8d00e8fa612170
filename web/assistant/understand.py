"""Read the messages a request describes: who, to whom, when, about what, which flags.

``describe`` turns a request into ``Criteria`` for the finder. Senders are recognised by
the names and addresses of the people who actually wrote to the user (from the mail
itself); dates by ``periods``; what is left, without stop-words, is the topic.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from web.assistant import parsing
from web.assistant.finder import Criteria
from web.assistant.language import fold
from web.assistant.lexicon import STOP_WORDS, is_contraction, repair, stem, words
from web.assistant.periods import find_period
from web.assistant.synonyms import PHRASES

FLAG_RULES: tuple[tuple[str, str], ...] = (
    (
        "unread",
        r"\b(?:non[- ]?lu(?:e)?s?|(?:pas|jamais) (?:encore )?(?:lu|ouvert|vu)(?:e)?s?|unread|"
        r"(?:not|never|haven't|have not|didn't|did not|hasn't) (?:i |you )?(?:yet )?(?:been )?"
        r"(?:read|opened|open|seen|looked at)(?: yet)?|unopened|unseen|new|quoi de neuf)\b",
    ),
    (
        "flagged",
        r"\b(?:flagged|starred|suivi(?:e)?s?|marque(?:e)?s? (?:comme )?importante?s?|"
        r"with a flag|drapeau|favoris|etoile(?:e)?s?|important ones)\b",
    ),
    (
        "newsletter",
        r"\b(?:newsletters?|lettres? d'information|mailing lists?|promos?|promotions?|"
        r"promotional|pubs?|publicites?|publicitaires?|marketing|ads|adverts?)\b",
    ),
    ("urgent", r"\b(?:urgent(?:e)?s?)\b"),
    (
        "attachments",
        r"\b(?:avec (?:des |une )?|with (?:an |any )?|(?:mis|mise|mises|mets|met) en )?"
        r"(?:attachments?|attached|attach|pieces? jointes?|jointe?s?|fichiers?|files?)\b",
    ),
)
KIND_RULES: tuple[tuple[str, str], ...] = (
    ("pdf", r"\bpdfs?\b"),
    ("sheet", r"\b(?:spreadsheets?|tableurs?|excel|xlsx|feuilles? de calcul)\b"),
    ("image", r"\b(?:images?|pictures?|png|jpe?g)\b"),
    ("archive", r"\b(?:zip|archives? zip)\b"),
)
BIG = r"\b(?:large|big|huge|heavy|gros|grosses?|volumineux|volumineuses?|lourds?)\b"
SIZE = (
    r"\b(?:bigger|larger|more|over|plus|above)\s*(?:than|de|que)?\s*(\d+)\s*(mb|mo|kb|ko|gb|go)\b"
)
UNITS = {"kb": 1_000, "ko": 1_000, "mb": 1_000_000, "mo": 1_000_000, "gb": 10**9, "go": 10**9}
FOLDER_RULES: tuple[tuple[str, str], ...] = (
    (
        "Archive",
        r"\b(?:in (?:my |the )?archives?|dans (?:mes |les )?archives?|"
        r"(?:my|mes|the|les) archives?|(?:dossier|folder) (?:des |d')?archives?|"
        r"archives? folder)\b",
    ),
    (
        "Sent",
        r"\b(?:sent (?:folder|items|mail)|(?:dossier|messages|mes) (?:des )?envoyes)\b",
    ),
    ("Trash", r"\b(?:trash|corbeille|poubelle|bin)\b"),
    ("Junk", r"\b(?:spam|junk|indesirables)\b"),
    ("Drafts", r"\b(?:drafts|brouillons)\b"),
)
LATEST = (
    r"\b(?:last|latest|newest|most recent|derniere?s?|plus recente?s?)\b"
    r"(?:\s+\d{1,2}\b(?!\s*(?:days?|jours?|weeks?|semaines?|months?|mois)))?"
)
SENT_BY_ME = r"\b(?:did i send|i sent|have i sent|j'ai envoye|ai-je envoye|que j'ai envoye)\b"
TO_WORDS = r"(?:to|a|pour|for)"


@dataclass(frozen=True)
class Described:
    """The criteria of a request and the names it gives, split by role."""

    criteria: Criteria
    names: tuple[str, ...]  # senders named ("from Maria", "Maria's", "d'Acme")
    to_names: tuple[str, ...]  # people named after "to"/"à"
    ambiguous: bool  # a named person matches several correspondents


def _blank(plain: str, span: tuple[int, int]) -> str:
    return plain[: span[0]] + " " * (span[1] - span[0]) + plain[span[1] :]


def _take(plain: str, pattern: str) -> tuple[bool, str]:
    match = re.search(pattern, plain)
    if not match:
        return False, plain
    return True, _blank(plain, match.span())


def contact_tokens(contacts: list[tuple[str, str]]) -> set[str]:
    """Words naming a correspondent: display-name words, and the address for nameless ones."""
    tokens: set[str] = set()
    for name, address in contacts:
        parts = [w for w in words(name) if len(w) >= 3 and w not in STOP_WORDS]
        if not parts:
            parts = [w for w in re.split(r"[@.]", address.lower())[:2] if len(w) >= 3]
        tokens.update(parts)
    return tokens


def _people(plain: str, contacts: list[tuple[str, str]]) -> tuple[list[str], list[str], str]:
    """Runs of correspondents' name words; those after "to/à" are recipients."""
    tokens = contact_tokens(contacts)
    found: list[str] = []
    to_found: list[str] = []
    pattern = re.compile(r"[a-z0-9][a-z0-9.-]*")
    spans = [(m.group(0).strip(".-"), m.span()) for m in pattern.finditer(plain)]
    i = 0
    while i < len(spans):
        word = spans[i][0]
        base = word[:-2] if word.endswith("'s") else word
        if base in tokens or stem(base) in tokens:
            run = [base if base in tokens else stem(base)]
            j = i + 1
            while (
                j < len(spans)
                and spans[j][0] in tokens
                and _together(run + [spans[j][0]], contacts)
            ):
                run.append(spans[j][0])
                j += 1
            before = plain[: spans[i][1][0]].rstrip()
            is_to = bool(re.search(rf"\b{TO_WORDS}$", before)) and not re.search(
                r"\b(?:from|de|d')\s*$", before
            )
            (to_found if is_to else found).append(" ".join(run))
            for k in range(i, j):
                plain = _blank(plain, spans[k][1])
            i = j
        else:
            i += 1
    return found, to_found, plain


def _together(run: list[str], contacts: list[tuple[str, str]]) -> bool:
    return any(all(w in words(name) for w in run) for name, _ in contacts)


def who(name: str, contacts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The correspondents whose name has every word of ``name``."""
    parts = name.split()
    return [(n, a) for n, a in contacts if all(p in words(n) or p in a for p in parts)]


def describe(
    text: str,
    today: dt.date,
    contacts: list[tuple[str, str]],
    vocabulary: list[str],
    command_words: frozenset[str] = frozenset(),
) -> Described:
    """The criteria a request gives."""
    addresses = parsing.addresses(text)
    quoted = parsing.quoted(text)
    plain = fold(parsing.without_quotes_and_addresses(text))
    crit = Criteria()
    period = find_period(plain, today)
    if period:
        crit.start, crit.end = period.start, period.end
        plain = _blank(plain, period.span)
    flags = {}
    for name, pattern in FLAG_RULES:
        flags[name], plain = _take(plain, pattern)
    crit.unread, crit.flagged = flags["unread"], flags["flagged"]
    crit.newsletter, crit.urgent = flags["newsletter"], flags["urgent"]
    kinds = []
    for kind, pattern in KIND_RULES:
        hit, plain = _take(plain, pattern)
        if hit:
            kinds.append(kind)
    crit.kinds = tuple(kinds)
    crit.attachments = flags["attachments"] or bool(kinds)
    size = re.search(SIZE, plain)
    if size:
        crit.min_size = int(size.group(1)) * UNITS[size.group(2)]
        plain = _blank(plain, size.span())
    else:
        big, plain = _take(plain, BIG)
        crit.min_size = 1_000_000 if big else 0
    folders = []
    for folder, pattern in FOLDER_RULES:
        hit, plain = _take(plain, pattern)
        if hit:
            folders.append(folder)
    crit.folders = tuple(folders)
    crit.latest, plain = _take(plain, LATEST)
    sent_by_me = re.search(SENT_BY_ME, plain) is not None
    names, to_names, plain = _people(plain, contacts)
    senders = list(names)
    recipients = list(to_names) if sent_by_me else []
    for address in addresses:
        before = fold(text[: text.find(address)]).rstrip()
        if re.search(rf"\b{TO_WORDS}$", before):
            to_names.append(address.lower())
        else:
            senders.append(address.lower())
    crit.senders = tuple(senders)
    crit.recipients = tuple(recipients)
    if sent_by_me and not crit.folders:
        crit.folders = ("Sent",)
    topics = []
    for phrase in PHRASES:  # "mot de passe", "compte rendu": one topic, not three words
        hit, plain = _take(plain, rf"\b{re.escape(phrase)}s?\b")
        if hit:
            topics.append(phrase)
    for word in words(plain):
        if word in STOP_WORDS or word in command_words or word.endswith("'") or word.isdigit():
            continue
        if is_contraction(word):
            continue
        if len(word) < 3 or word in parsing.ORDINALS:
            continue
        fixed = repair(word, vocabulary)
        if fixed in command_words or fixed in STOP_WORDS:
            continue
        topics.append(stem(fixed))
    topics += [fold(q) for q in quoted]
    crit.topics = tuple(dict.fromkeys(topics))
    ambiguous = any(len({a for _, a in who(n, contacts)}) > 1 for n in names)
    return Described(crit, tuple(names), tuple(to_names), ambiguous)
