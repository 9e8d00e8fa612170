"""Mailbox storage: Maildir, the per-user index, the mailbox service and change events."""
