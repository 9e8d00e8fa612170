"""The mail service layer that the browser pages, the REST API and the assistant share.

Every function works on the mailbox of one logged-in address, so a message of another
user simply is not found (the callers answer 404). Modules: ``mailbox`` (folders, lists,
flags, move, delete, over the core's ``mailrs.store.mailbox.MailboxService``),
``reading`` (a message for display), ``sanitize`` (HTML through nh3), ``search``,
``compose`` (building, reply and forward) and ``sending`` (the submission path that
SMTP AUTH uses too).
"""
