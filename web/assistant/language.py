"""Which language a request is in (French or English) and accent-free lower-case text."""

from __future__ import annotations

import re
import unicodedata

FRENCH_WORDS = {
    "mes",
    "mon",
    "ma",
    "les",
    "le",
    "la",
    "de",
    "du",
    "des",
    "un",
    "une",
    "moi",
    "lis",
    "liste",
    "lister",
    "envoie",
    "envoyer",
    "montre",
    "affiche",
    "recherche",
    "cherche",
    "supprime",
    "efface",
    "deplace",
    "reponds",
    "repondre",
    "resume",
    "marque",
    "dernier",
    "derniere",
    "non",
    "oui",
    "lus",
    "lu",
    "courriel",
    "courriels",
    "avec",
    "et",
    "vers",
    "dans",
    "bonjour",
    "salut",
    "aide",
    "quels",
    "quoi",
    "est",
    "ce",
    "que",
    "au",
    "aux",
    "ecris",
    "objet",
    "sujet",
    "disant",
    "annule",
    "confirme",
    "corbeille",
    "trouve",
    "ouvre",
    "lire",
    "nouveaux",
    "archive",
    "range",
    "conversation",
    "fil",
    "merci",
    # elided articles and pronouns ("d'Olivier", "l'email", "j'ai", "qu'il", "m'a")
    "d",
    "l",
    "j",
    "qu",
    "m",
    "n",
    "c",
}
ENGLISH_WORDS = {
    "my",
    "the",
    "show",
    "list",
    "read",
    "send",
    "search",
    "find",
    "delete",
    "move",
    "reply",
    "summarize",
    "summarise",
    "mark",
    "last",
    "unread",
    "from",
    "me",
    "please",
    "mails",
    "messages",
    "inbox",
    "what",
    "new",
    "open",
    "to",
    "with",
    "and",
    "saying",
    "subject",
    "hello",
    "hi",
    "help",
    "yes",
    "no",
    "cancel",
    "confirm",
    "thread",
    "latest",
    "about",
    "trash",
    "any",
    "all",
    "one",
    "write",
    "answer",
    "thanks",
}
_WORD = re.compile(r"[a-z]+")


def fold(text: str) -> str:
    """Lower-case text without accents (``"Déplace"`` → ``"deplace"``), same length."""
    if text.isascii():  # most text: nothing to strip
        return text.lower()
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).lower()


def detect_language(text: str, default: str = "en") -> str:
    """``"fr"`` or ``"en"``, by the words the request uses; ``default`` on a tie."""
    words = _WORD.findall(fold(text).replace("'", " "))
    french = sum(w in FRENCH_WORDS for w in words)
    english = sum(w in ENGLISH_WORDS for w in words)
    if re.search(r"[éèêàùçôî]", text.lower()):
        french += 1
    if french > english:
        return "fr"
    if english > french:
        return "en"
    return default
