"""Words of requests: stop-words, word stems, French/English topic pairs and typo repair.

Topic words are compared folded (no accents, lower case) and stemmed (plural endings
dropped), and a word also matches its synonyms in either language (``synonyms``) so
"factures" finds "Invoice".
"""

from __future__ import annotations

import difflib
import re

from web.assistant.synonyms import SYNONYMS

# words that say nothing about which messages are meant (French and English)
_STOP_TEXT = """
objet total tout overall remercier thank a-t-elle a-t-il ai-je as-tu y-a-t-il envoyes
envoyees recues fais-moi montre-moi dis-moi donne-moi neuf sont etre avoir etait sera
have has came come arrived recu abonne abonnee suis-je subject titre title vers oui yes
okay veux want like une a about above after again all an and any anything are as at be
been before being below between both but by can could did do does doing down during each
else email emails ever every everything few for from further get got had has have having
he her here hers him his how i if in into is it its just let list look looking mail
mails me message messages more most my myself need new no nor not now of off on once one
ones only or other our out over own please received recent regarding related same see
send sent she should show so some something such than that the their them then there
these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours there's what's whats find search
show tell give display open read thing things stuff something inbox box folder folders
hi hello hey thanks thank could would kindly pls plz mailbox got get gets concerning
mentioning talking talk talks speak speaks says say said containing contain contains
mention mentions discuss discussing re fwd fw where's wheres cool au aux avec ce ces cet
cette dans de des du elle elles en est et eux il ils je la le les leur leurs lui ma mais
me mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te
tes toi ton tu un une vos votre vous y ai as avons avez ont suis email emails mail mails
courriel courriels message messages montre montrer affiche afficher liste lister cherche
chercher recherche rechercher trouve trouver voir stp svp merci bonjour salut tous tout
toutes concernant propos sujet parlent parle parler mentionnant contenant contient qui
quoi quel quelle quels quelles ou est-ce ceux celles celui celle recu recus recue recues
envoye envoyes m'a m t s l d j n c qu' moi-meme dis dit dire peux peut pourrais pourrait
veux voudrais aimerais bien ici la-dedans quelque chose choses truc trucs boite
reception pull yet opened seen quick rundown arrive arrived arrives arriving came quand
arrivee arrivees arrives e-mail e-mails nouvelle nouvelles news retrouve retrouver
retrouves retrouvez dossier sends sending wrote written quelqu'un someone anyone
peux-tu pourrais-tu can't latest mentionnent mentionne evoquent evoque citent cite
replied answered repondu happening going status update updates mis
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
ALTERNATIVES = SYNONYMS
_IMPERATIVE = re.compile(
    r"\b(?!rendez-vous)(\w+)-(moi|toi|le|la|les|lui|leur|nous|vous|m'en|t'en)\b", re.IGNORECASE
)
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")


def stem(word: str) -> str:
    """A folded word without its plural ending ("invoices" → "invoice", "travaux" → "travau")."""
    if len(word) > 3 and word.endswith(("s", "x")) and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(plain: str) -> list[str]:
    """The words of a folded text, elided articles split off ("l'email" → "email")."""
    found = []
    for word in _WORD.findall(plain):
        if "'" in word:
            head, _, rest = word.partition("'")
            if len(head) <= 2 or head in ("qu", "jusqu", "lorsqu", "puisqu"):
                found.append(head + "'")
                if rest:
                    found.append(rest)
                continue
        found.append(word.strip("-'"))
    return [w for w in found if w]


def alternatives(word: str) -> frozenset[str]:
    """The forms a topic word matches: itself and its synonyms in French and English."""
    base = stem(word)
    found = ALTERNATIVES.get(word, ALTERNATIVES.get(base, frozenset((base,))))
    return frozenset(stem(w) if " " not in w else w for w in found)


def is_contraction(word: str) -> bool:
    """True for an English negative contraction ("haven't", "didn't"): never a topic."""
    return word.endswith("n't")


def split_imperative(text: str) -> str:
    """The request with imperative+pronoun written apart ("lis-moi" → "lis moi",
    "supprime-le" → "supprime le"), so the verb is recognised as the verb."""
    return _IMPERATIVE.sub(lambda m: f"{m.group(1)} {m.group(2)}", text)


def repair(word: str, vocabulary: list[str]) -> str:
    """The vocabulary word a misspelt ``word`` stands for, or ``word`` itself."""
    if len(word) < 4 or word in vocabulary:
        return word
    close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.8)
    return close[0] if close else word


_VERBS_TEXT = (
    "search find show read open reply forward delete archive summarize "
    "recherche cherche trouve montre affiche ouvre reponds transfere supprime resume"
)
VERBS = _VERBS_TEXT.split()


def repair_verb(text: str) -> str:
    """The request with a misspelt first word that is a command verb put right."""
    head, _, rest = text.strip().partition(" ")
    plain = head.lower()
    if len(plain) < 4 or plain in VERBS or not plain.isalpha():
        return text
    close = difflib.get_close_matches(plain, VERBS, n=1, cutoff=0.85)
    return f"{close[0]} {rest}" if close else text
