"""What the assistant says, in English and French, by key."""

from __future__ import annotations

import datetime as dt

PHRASES: dict[str, tuple[str, str]] = {
    "help": (
        "I can list your mail, show what is unread, read a message, search by sender, "
        "subject or text, write or reply, move, delete, mark as read and summarize. "
        "Try: “show my emails” or “search emails from bob@example.com”.",
        "Je peux lister vos emails, montrer les non lus, lire un message, chercher par "
        "expéditeur, objet ou texte, écrire ou répondre, déplacer, supprimer, marquer comme "
        "lu et résumer. Essayez : « Liste mes emails » ou « Recherche les emails de "
        "bob@example.com ».",
    ),
    "unknown": (
        "Sorry, I did not understand. I can list, read, search, send, reply, move, delete "
        "or summarize your mail.",
        "Désolé, je n'ai pas compris. Je peux lister, lire, chercher, envoyer, répondre, "
        "déplacer, supprimer ou résumer vos emails.",
    ),
    "list_head": (
        "Your newest messages in {folder} ({shown}, {total} in all):",
        "Vos messages les plus récents dans {folder} ({shown}, {total} en tout) :",
    ),
    "list_empty": ("{folder} is empty.", "{folder} est vide."),
    "unread_none": (
        "No unread messages. You are all caught up.",
        "Aucun message non lu. Vous êtes à jour.",
    ),
    "search_head_one": ("1 message found:", "1 message trouvé :"),
    "search_head_many": ("{count} messages found:", "{count} messages trouvés :"),
    "search_head_more": (
        "{count} messages found, the newest {shown}:",
        "{count} messages trouvés, les {shown} plus récents :",
    ),
    "unread_head_one": ("You have 1 unread message:", "Vous avez 1 message non lu :"),
    "unread_head_many": (
        "You have {total} unread messages:",
        "Vous avez {total} messages non lus :",
    ),
    "count_one": ("1 message{what}.", "1 message{what}."),
    "count_many": ("{count} messages{what}.", "{count} messages{what}."),
    "count_none": ("No message{what}.", "Aucun message{what}."),
    "stats_head": ("Who wrote to you most{what}:", "Qui vous a le plus écrit{what} :"),
    "stats_line_one": ("{name}: 1 message", "{name} : 1 message"),
    "stats_line_many": ("{name}: {count} messages", "{name} : {count} messages"),
    "digest_head_one": ("1 message to catch up on:", "1 message à rattraper :"),
    "digest_head_many": (
        "{count} messages to catch up on:",
        "{count} messages à rattraper :",
    ),
    "digest_none": ("Nothing new. You are all caught up.", "Rien de nouveau. Vous êtes à jour."),
    "urgent_head_one": ("1 message looks urgent:", "1 message semble urgent :"),
    "urgent_head_many": (
        "{count} messages look urgent:",
        "{count} messages semblent urgents :",
    ),
    "urgent_none": (
        "Nothing looks urgent. Your newest unread mail: {subjects}.",
        "Rien ne semble urgent. Vos derniers non lus : {subjects}.",
    ),
    "attachments_head_one": ("1 attachment:", "1 pièce jointe :"),
    "attachments_head_many": ("{count} attachments:", "{count} pièces jointes :"),
    "attachments_none": ("No attachment matches.", "Aucune pièce jointe ne correspond."),
    "clarify": (
        "Which one do you mean?\n{choices}",
        "Lequel voulez-vous dire ?\n{choices}",
    ),
    "clarify_thread": (
        "Several threads fit. Which one do you mean?\n{choices}",
        "Plusieurs fils correspondent. Lequel voulez-vous dire ?\n{choices}",
    ),
    "last_on": ("last on {date}", "dernier le {date}"),
    "no_match_for": ("No message matches {what}.", "Aucun message ne correspond à {what}."),
    "forward_confirm": (
        "Forward “{subject}” to {to}?{note}\nShall I send it?",
        "Transférer « {subject} » à {to} ?{note}\nJe l'envoie ?",
    ),
    "flag_confirm": ("Flag “{subject}” {of_sender}?", "Suivre « {subject} » {of_sender} ?"),
    "flagged": ("Flagged: “{subject}”.", "Suivi : « {subject} »."),
    "mark_confirm_one": (
        "Mark “{subject}” as {state}?",
        "Marquer « {subject} » comme {state} ?",
    ),
    "mark_confirm_many": (
        "Mark {count} messages as {state}? {subjects}",
        "Marquer {count} messages comme {state} ? {subjects}",
    ),
    "marked_many": (
        "Marked {count} messages as {state}.",
        "{count} messages marqués comme {state}.",
    ),
    "search_none": ("No message matches.", "Aucun message ne correspond."),
    "search_what": (
        "What should I look for? A sender, a subject or some words.",
        "Que dois-je chercher ? Un expéditeur, un objet ou des mots.",
    ),
    "which": (
        "Which message? Give its number from the list, or say “the last one”.",
        "Quel message ? Donnez son numéro dans la liste, ou dites « le dernier ».",
    ),
    "no_such": (
        "There is no message {n} in the last list ({shown}).",
        "Il n'y a pas de message {n} dans la dernière liste ({shown}).",
    ),
    "empty_box": ("Your inbox is empty.", "Votre boîte de réception est vide."),
    "send_to": (
        "To whom should I send it? Give an email address.",
        "À qui dois-je l'envoyer ? Donnez une adresse email.",
    ),
    "send_body": (
        "What should the message say? Put the text in quotes.",
        "Que doit dire le message ? Mettez le texte entre guillemets.",
    ),
    "send_confirm": (
        "Ready to send to {to}, subject “{subject}”:\n{body}\nShall I send it?",
        "Prêt à envoyer à {to}, objet « {subject} » :\n{body}\nJe l'envoie ?",
    ),
    "reply_confirm": (
        "Reply to {to}, subject “{subject}”:\n{body}\nShall I send it?",
        "Réponse à {to}, objet « {subject} » :\n{body}\nJe l'envoie ?",
    ),
    "sent": ("Sent to {to}. A copy is in Sent.", "Envoyé à {to}. Une copie est dans Envoyés."),
    "send_failed": ("Not sent: {reason}", "Non envoyé : {reason}"),
    "delete_confirm": (
        "Move “{subject}” {of_sender} to Trash?",
        "Mettre « {subject} » {of_sender} à la corbeille ?",
    ),
    "deleted": ("Moved to Trash.", "Mis à la corbeille."),
    "deleted_for_good": ("Deleted for good.", "Supprimé définitivement."),
    "move_where": ("Where to? Say a folder: {folders}.", "Vers quel dossier ? {folders}."),
    "move_confirm": ("Move “{subject}” to {folder}?", "Déplacer « {subject} » vers {folder} ?"),
    "moved": ("Moved to {folder}.", "Déplacé vers {folder}."),
    "marked_read": ("Marked as read: “{subject}”.", "Marqué comme lu : « {subject} »."),
    "marked_unread": ("Marked as unread: “{subject}”.", "Marqué comme non lu : « {subject} »."),
    "nothing_pending": (
        "There is nothing waiting for confirmation.",
        "Rien n'attend de confirmation.",
    ),
    "cancelled": ("Cancelled. Nothing was changed.", "Annulé. Rien n'a été modifié."),
    "expired": ("That request is no longer pending.", "Cette demande n'est plus en attente."),
    "error": ("Something went wrong: {reason}", "Une erreur est survenue : {reason}"),
    "summary_head": (
        "Summary of “{subject}” {of_sender} ({date}):",
        "Résumé de « {subject} » {of_sender} ({date}) :",
    ),
    "thread_head": (
        "Thread “{subject}”: {count} messages, {people}.",
        "Fil « {subject} » : {count} messages, {people}.",
    ),
    "thread_head_one": (
        "Thread “{subject}”: 1 message, {people}.",
        "Fil « {subject} » : 1 message, {people}.",
    ),
    "thread_head_many": (
        "Thread “{subject}”: {count} messages, {people}.",
        "Fil « {subject} » : {count} messages, {people}.",
    ),
    "new_mail": ("New mail from {sender}: {subject}", "Nouveau message de {sender} : {subject}"),
    "no_subject": ("(no subject)", "(sans objet)"),
    "llm_down": (
        "(The assistant service is not answering; using the built-in one.) ",
        "(Le service d'assistant ne répond pas ; j'utilise celui intégré.) ",
    ),
}
BUTTONS: dict[str, tuple[str, str]] = {
    "read_latest": ("Read the latest", "Lire le dernier"),
    "read_latest_text": ("read the last one", "lis le dernier"),
    "unread": ("Unread", "Non lus"),
    "unread_text": ("show unread", "montre les non lus"),
    "list": ("My emails", "Mes emails"),
    "list_text": ("show my emails", "Liste mes emails"),
    "confirm": ("Send", "Envoyer"),
    "confirm_action": ("Confirm", "Confirmer"),
    "cancel": ("Cancel", "Annuler"),
    "reply": ("Reply", "Répondre"),
    "summarize": ("Summarize", "Résumer"),
    "summarize_text": ("summarize {n}", "résume le {n}"),
    "delete": ("Delete", "Supprimer"),
    "delete_text": ("delete {n}", "supprime le {n}"),
    "archive": ("Archive", "Archiver"),
    "archive_text": ("move {n} to Archive", "déplace le {n} vers Archive"),
    "read_n": ("Read {n}", "Lire le {n}"),
    "read_n_text": ("read {n}", "lis le {n}"),
    "mark_read_text": ("mark {n} as read", "marque le {n} comme lu"),
    "mark_read": ("Mark read", "Marquer lu"),
}


def say(key: str, lang: str, **values: object) -> str:
    """The phrase ``key`` in ``lang`` ("en" or "fr") with the values filled in."""
    english, french = PHRASES[key]
    return (french if lang == "fr" else english).format(**values)


def say_n(key: str, lang: str, count: int, **values: object) -> str:
    """The singular (``key_one``) or plural (``key_many``) phrase for ``count``."""
    one = count == 1 or (lang == "fr" and count == 0)
    return say(f"{key}_{'one' if one else 'many'}", lang, count=count, **values)


MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTHS_FR = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]


def short_date(when: dt.datetime, lang: str) -> str:
    """A date as each language writes it in a list: "Dec 9, 17:05" / "9 déc. 17:05"."""
    if lang == "fr":
        day = "1er" if when.day == 1 else str(when.day)
        return f"{day} {MONTHS_FR[when.month - 1]} {when:%H:%M}"
    return f"{MONTHS_EN[when.month - 1]} {when.day}, {when:%H:%M}"


def state_word(read: bool, lang: str, count: int = 1) -> str:
    """ "read"/"unread", or "lu(s)"/"non lu(s)" agreeing with the count."""
    if lang != "fr":
        return "read" if read else "unread"
    word = "lu" + ("s" if count > 1 else "")
    return word if read else "non " + word


def label(key: str, lang: str, **values: object) -> str:
    """A button label or button text in ``lang``."""
    english, french = BUTTONS[key]
    return (french if lang == "fr" else english).format(**values)
