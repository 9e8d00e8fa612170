"""Classify a request (French or English) into one intent with its arguments.

The order of the rules matters: "envoie un email" names an email but asks to send,
"marque comme lu" contains "lu" but is not "read", "réponds au dernier" points at the
last message but asks to reply.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from web.assistant import parsing
from web.assistant.language import fold

KINDS = (
    "confirm",
    "cancel",
    "other",
    "pick",
    "refine",
    "forward",
    "flag",
    "count",
    "stats",
    "digest",
    "urgent",
    "attachments",
    "help",
    "send",
    "reply",
    "delete",
    "move",
    "mark_read",
    "mark_unread",
    "summarize",
    "search",
    "unread",
    "read",
    "list",
    "unknown",
)


@dataclass(frozen=True)
class Intent:
    """What the user asked for and the details found in the request."""

    kind: str
    target: int | str | None = None
    to: tuple[str, ...] = ()
    subject: str = ""
    body: str = ""
    sender: str = ""
    text: str = ""
    since: dt.date | None = None
    folder: str | None = None
    thread: bool = False


def _has(plain: str, pattern: str) -> bool:
    return re.search(pattern, plain) is not None


CONFIRM = r"^(oui|yes|ok|okay|d'accord|confirme[rsz]?|confirm|vas-y|go|envoie-le|send it)\b"
CANCEL = r"^(non|no|annule[rsz]?|cancel|stop|laisse tomber|never mind|nevermind)\b"
HELP = r"^(bonjour|salut|hello|hi|hey|aide|help|\?|que sais-tu faire|what can you do)\b"
SEND = (
    r"\b(envoie|envoyer|envoies|ecris|ecrire|redige|rediger|send|write|compose|mail to|email to)\b"
)
POLITE = (
    r"^(?:(?:please|pls|can you|could you|would you|peux-tu|pourrais-tu|tu peux|svp|stp)[ ,]*)*"
)
SEND_START = POLITE + (
    r"(?:(?:envoie|envoyer|ecris|ecrire|redige|send|write|compose)\b|(?:e-?mail|mail)\s+"
    r"(?=(?:\S+\s+){0,3}(?:saying|that|to say|telling|asking|que|qu')|to\b|a\b|[^:]*:|\s*$)|"
    r"(?:e-?mail|mail)$)"
)
READ_START = POLITE + (
    r"(?:lis|lire|ouvre|ouvrir|open|read)\b(?!-)|^(?:que dit|que disait|que raconte)\b|"
    r"^(?:what does|what did)\b.*\b(?:say|says)\b"
)
OTHER = r"^(?:non|no|nope)\b.*\b(?:autre|other)\b"
PICK = r"^(?:and )?(?:the one|that one|celui|celle)\b"
REFINE = r"^(?:and|et)\b"
FORWARD = r"\b(?:transfere|transferer|transfere-le|transfere-la|forward|fwd)\b"
FLAG = (
    r"\b(?:flag|star|signale|suivre)\b|\bmarque\b.*\bimportant|"
    r"\b(?:mets|mettre|met|ajoute|ajouter|put|add)\b.*\b(?:etoile|drapeau|star|flag)\b"
)
COUNT = r"\b(?:how many|combien|number of|nombre de)\b"
STATS = r"\b(?:who|qui)\b.*\b(?:most|le plus)\b"
DIGEST = (
    r"\b(?:what did i miss|catch me up|digest|qu'est-ce que j'ai rate|j'ai rate|le point sur|"
    r"fais le point|rundown|overview|recap|brief me|briefing|recapitulatif|recapitule|bilan|"
    r"tour d'horizon|my e-?mails|my mails|mes e-?mails|mes mails|mes messages|my messages|"
    r"my inbox|ma boite|unread|non lus)\b"
)
CATCH_UP = (
    r"\b(?:what did i miss|catch me up|digest|qu'est-ce que j'ai rate|j'ai rate|le point sur|"
    r"fais le point|rundown|overview|recap|brief me|briefing|recapitulatif|recapitule|"
    r"bilan|tour d'horizon)\b"
)
GOING_ON = (
    r"\b(?:what'?s going on|what is going on|where are we|ou en est|ou en sont|status of|"
    r"(?:what'?s|what is) (?:the )?(?:latest|news|new|happening) (?:on|with|about)|"
    r"(?:any )?(?:updates?|news) (?:on|about) the|quoi de neuf (?:sur|pour|avec|du|de la)|"
    r"(?:des )?nouvelles (?:du|de la|des|sur)|ca avance)\b"
)
URGENT = r"\b(?:urgent|urgente|urgents|urgentes|important|importante|importants|priorit\w*)\b"
THE_URGENT_ONE = (
    r"\b(?:the urgent (?:one|e-?mail|mail|message)|(?:le|l')\s?(?:e-?mail|mail|message) urgent)\b"
)
ATTACHMENT_NOUNS = (
    r"\b(?:attachments?|attach|pieces? jointes?|fichiers|files|pdfs?|tableurs?|spreadsheets?|"
    r"images?|pictures?)\b"
)
# "the last 5 emails", "les 3 derniers mails", "mes derniers messages": the newest ones
LAST_FEW = (
    r"\b(?:(?:last|latest|newest)\s+\d{1,2}|\d{1,2}\s+(?:derniers|dernieres|plus recents))\b"
    r"(?!\s*(?:days?|jours?|weeks?|semaines?|months?|mois))|"
    r"\b(?:derniers|dernieres|plus recents)\s+(?:e-?mails|mails|messages|courriels)\b"
)
ATTACHMENTS_FIRST = (
    r"^(?:(?:any|all|the|show(?: me)?(?: the| all)?|list|des|les|quelles?|montre(?:-moi)?"
    r"(?: les)?|y a-t-il des)\s+)*(?:attachments?|pieces? jointes?|files|fichiers)\s+"
    r"(?:in|from|of|on|dans|de|des|du|sur)\b"
)
MAIL_NOUNS = r"\b(?:e-?mails?|mails?|messages?|courriels?|newsletters?)\b"
# words that say what to do, never what to look for
_COMMAND_TEXT = """
search serch find look lookup show list display read open reply answer respond send write
compose forward delete remove trash erase move archive file mark flag star summarize
summarise summary sum tldr digest count many number who most wrote writes emails emailed
recherche rechercher cherche chercher trouve trouver montre montre-moi affiche liste lis
lire ouvre ouvre-le ouvrir reponds repondre reponds-lui envoie envoyer ecris ecrire
transfere transferer transfere-le supprime supprimer efface effacer jette deplace deplacer
range ranger classe classer archive-le marque marquer signale resume resumer resume-le
synthese combien nombre ecrit plus going status where miss catch rate point fais faire dis
donne say says saying disant lue lues comme thread conversation discussion echange fil
kickoff-thread give quelque urgent important tout what's whats anything any some mets
mettre put
"""
COMMAND_WORDS = frozenset(_COMMAND_TEXT.split())
REPLY = r"\b(reponds|repondre|reponse a|repond|reply|answer|respond)\b"
DELETE = (
    r"\b(supprime|supprimer|efface|effacer|jette|jeter|delete|remove|erase|get rid of|"
    r"throw away|bin it)\b|^(?:(?:please|can you|could you|peux-tu)[ ,]*)*trash\b"
)
MOVE = (
    r"\b(deplace|deplacer|range|ranger|classe|classer|move|archiver|file it|mets|mettre|put)\b|"
    r"^(?:(?:please|can you|peux-tu)[ ,]*)*archive\b|\barchive-(?:le|la|les)\b|"
    r"\barchive (?:it|this)\b"
)
MARK = r"\b(marque|marquer|mark|flag as)\b"
SUMMARIZE = r"\b(resume|resumer|synthese|summarize|summarise|summary|sum up|tl;?dr)\b"
THREAD = r"\b(fil|conversation|discussion|echange|thread)\b"
SEARCH = (
    r"\b(recherche|rechercher|cherche|chercher|trouve|trouver|retrouve|retrouver|search|find|"
    r"look for|look up|looking for|pull up|dig up|locate|where'?s|where is|ou est|ou sont)\b"
)
UNREAD = (
    r"\b(non[- ]lus?|pas (?:encore )?(?:lu|ouvert)e?s?|unread|unopened|nouveaux|nouveaux messages|"
    r"new (e-?mails?|mails?|messages)|(?:haven't|have not|not|didn't|did not) (?:i |you )?(?:yet )?"
    r"(?:read|opened|seen))\b"
)
READ = (
    r"\b(lis|lire|ouvre|ouvrir|read|open|affiche le|affiche la|montre le|montre la|"
    r"show me the|show the|show message|voir le|voir la)\b"
)
LIST = (
    r"\b(liste|lister|listes|affiche|montre|voir|list|show|display|inbox|boite|"
    r"mes (e-?mails|mails|messages|courriels)|my (e-?mails|mails|messages)|quoi de neuf)\b"
)
SUBJECT_WORDS = r"(?:objet|sujet|subject|titre|title)"
BODY_WORDS = (
    r"(?:disant|qui dit|pour dire|en disant|saying|that says|with the text|with text|"
    r"avec le texte|et le texte|le texte|le message|the text|the body|le corps|body|texte|text|"
    r"contenu|content|message)"
)


def classify(text: str, pending: bool = False, today: dt.date | None = None) -> Intent:
    """The intent of one request; ``pending`` says a confirmation is awaited."""
    plain = fold(parsing.without_quotes_and_addresses(text)).strip()
    full = fold(text).strip()
    target = parsing.target(text)
    if pending and _has(full, CONFIRM):
        return Intent("confirm")
    if pending and _has(full, CANCEL):
        return Intent("cancel")
    if not plain and not parsing.addresses(text) and not parsing.quoted(text):
        return Intent("unknown")
    early = _early(text, plain, target)
    if early is not None:
        return early
    if _has(plain, READ_START):
        return Intent("read", target=target)
    if _has(plain, SEND_START) and not _has(plain, REPLY):
        subject, body = _subject_and_body(text)
        return Intent("send", to=tuple(parsing.addresses(text)), subject=subject, body=body)
    if _has(plain, REPLY):
        _subject, body = _subject_and_body(text)
        return Intent("reply", target=target, body=body)
    if _has(plain, MARK):
        unread = _has(plain, r"\b(non[- ]lus?|pas lus?|unread|not read|nouveau|new)\b")
        return Intent("mark_unread" if unread else "mark_read", target=target)
    if _has(plain, MOVE):
        return Intent("move", target=target, folder=_folder_words(text))
    if _has(plain, DELETE):
        return Intent("delete", target=target)
    if _has(plain, SUMMARIZE):
        return Intent("summarize", target=target, thread=_has(plain, THREAD))
    if (
        _has(plain, SEARCH)
        or (parsing.addresses(text) and _has(plain, r"\b(de|from|par|by|emails?|mails?)\b"))
        or _has(plain, r"\b(e-?mails?|mails?|messages?|courriels?)\s+(de|from|d')\b")
    ):
        return _search_intent(text, plain, today)
    if _has(plain, UNREAD):
        return Intent("unread", since=parsing.since_date(text, today))
    if _has(plain, HELP):
        return Intent("help")
    if _has(plain, READ) or (target is not None and len(plain.split()) <= 4):
        return Intent("read", target=target)
    if _has(plain, LIST):
        return Intent("list", since=parsing.since_date(text, today), folder=_folder_words(text))
    return Intent("unknown")


def _early(text: str, plain: str, target: int | str | None) -> Intent | None:
    """The kinds the first rules do not know: corrections, follow-ups, questions."""
    if _has(plain, LAST_FEW) and not _has(plain, SEND + "|" + REPLY + "|" + DELETE):
        return Intent("list")
    if _has(plain, OTHER):
        return Intent("other")
    if _has(plain, PICK):
        return Intent("pick")
    if _has(plain, REFINE) and len(plain.split()) <= 6 and not _has(plain, SEND + "|" + REPLY):
        return Intent("refine")
    if _has(plain, FORWARD):
        _subject, body = _subject_and_body(text)
        return Intent("forward", target=target, to=tuple(parsing.addresses(text)), body=body)
    if _has(plain, REPLY):
        return None
    if _has(plain, FLAG):
        return Intent("flag", target=target)
    if _has(plain, COUNT):
        return Intent("count")
    if _has(plain, STATS):
        return Intent("stats")
    if _has(plain, SUMMARIZE) or _has(plain, GOING_ON) or _has(plain, CATCH_UP):
        if _has(plain, THREAD) or _has(plain, GOING_ON):
            return Intent("summarize", target=target, thread=True)
        if _has(plain, DIGEST) and not _has(
            plain, r"\b(?:mail|email|message) (?:du|de|d'|from|about)\b"
        ):
            return Intent("digest")
        if _has(plain, SUMMARIZE):
            return Intent("summarize", target=target)
    if _has(plain, THE_URGENT_ONE):
        return Intent("read", target=target)
    flag_words = r"\bmarque(?:e)?s? (?:comme )?important"
    if _has(plain, URGENT) and not _has(plain, MARK) and not _has(plain, flag_words):
        return Intent("urgent")
    if _has(plain, DELETE):
        return None
    if _has(plain, ATTACHMENT_NOUNS) and not _has(plain, MAIL_NOUNS):
        return Intent("attachments")
    if _has(plain, ATTACHMENTS_FIRST):  # "any attachments in my unread mail?"
        return Intent("attachments")
    return None


def _folder_words(text: str) -> str | None:
    """A folder named in the text, among the standard ones (the engine re-checks)."""
    return parsing.folder(text, ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"])


def _strip_quotes(value: str) -> str:
    value = value.strip().strip(".").strip()
    match = parsing.QUOTED.fullmatch(value)
    if match:
        return next(g for g in match.groups() if g is not None)
    return value


def _subject_and_body(text: str) -> tuple[str, str]:
    """The subject and body a send or reply request gives, quoted or after keywords."""
    folded = fold(text)
    subject = ""
    body = ""
    sub = re.search(
        SUBJECT_WORDS + r"\s*[:=]?\s*(?:(\"[^\"]*\"|«[^»]*»|“[^”]*”)|(.+?)"
        r"(?=\s*(?:,|;|\bet\b|\band\b|\bavec\b|\bwith\b|" + BODY_WORDS + r"\s*:|$)))",
        folded,
    )
    if sub:
        group = 1 if sub.group(1) is not None else 2
        subject = _strip_quotes(text[sub.start(group) : sub.end(group)])
    body_match = None
    for match in re.finditer(BODY_WORDS + r"\s*[:=]?\s*", folded):
        if sub and sub.start() <= match.start() < sub.end():
            continue
        rest = folded[match.end() :]
        keyword = match.group(0).strip()
        bare_message = keyword.startswith("message") and not keyword.endswith(":")
        if bare_message and not rest.startswith(('"', "«", "“")):
            continue
        if rest.strip():
            body_match = match
            break
    if body_match:
        body = _strip_quotes(text[body_match.end() :])
    elif ":" in text and not sub:
        after = text.split(":", 1)[1]
        if not parsing.ADDRESS.fullmatch(after.strip()):
            body = _strip_quotes(after)
    found = parsing.quoted(text)
    if found and not subject and not body:
        if len(found) >= 2:
            subject, body = found[0], found[1]
        else:
            body = found[0]
    elif found and not body and subject and len(found) >= 2:
        body = found[1]
    return subject.strip(), body.strip()


def _search_intent(text: str, plain: str, today: dt.date | None) -> Intent:
    found = parsing.addresses(text)
    sender = found[0] if found else ""
    if not sender:
        match = re.search(r"\b(?:de|from|par|by|d')\s*([a-z0-9][\w.-]*(?: [a-z][\w.-]*)?)", plain)
        if match:
            words = match.group(1).split()
            stop = {
                "depuis",
                "since",
                "sur",
                "about",
                "avec",
                "with",
                "concernant",
                "le",
                "la",
                "les",
                "mes",
                "my",
                "the",
                "aujourd",
                "hier",
                "today",
                "yesterday",
                "cette",
                "this",
            }
            kept = []
            for word in words:
                if word in stop:
                    break
                kept.append(word)
            sender = " ".join(kept)
    subject = ""
    match = re.search(
        r"\b(?:objet|sujet|subject|about|concernant|a propos de|au sujet de|titled|intitule)\s+"
        r"(.+?)(?=\s+\b(?:depuis|since|de|from|today|aujourd|hier|yesterday)\b|$)",
        plain,
    )
    if match:
        subject = match.group(1).strip(" ?.!")
    quotes = parsing.quoted(text)
    search_text = quotes[0] if quotes else ""
    if not search_text:
        match = re.search(
            r"\b(?:contenant|containing|qui contiennent|qui contient|mentioning|mentionnant|"
            r"avec le mot|with the word|with the words|le mot|the word)\s+"
            r"(.+?)(?=\s+\b(?:depuis|since)\b|$)",
            plain,
        )
        if match:
            search_text = match.group(1).strip(" ?.!")
    since = parsing.since_date(text, today)
    if not (sender or subject or search_text or since):
        leftover = re.sub(
            SEARCH + r"|\b(les|des|mes|my|the|emails?|mails?|messages?)\b", " ", plain
        )
        leftover = " ".join(leftover.split()).strip(" ?.!")
        search_text = leftover
    return Intent("search", sender=sender, subject=subject, text=search_text, since=since)
