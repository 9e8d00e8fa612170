"""The built-in scorer's Bayesian rules: what the recipient's own classifier thinks.

The message is classified with the classifier of the first envelope recipient that has
one (a user who trained it by moving mail into or out of Junk, or ``mailrs spam
train``); its spam probability becomes one rule, like SpamAssassin's BAYES_* rules.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mailrs.config import Settings
from mailrs.errors import InvalidAddress
from mailrs.inbound.spam.bayes import Classifier, classifier_path
from mailrs.store.maildir import MaildirStore

log = logging.getLogger(__name__)
# (lowest probability, rule, points), checked from the top
RULES = (
    (0.99, "BAYES_99", 5.0),
    (0.90, "BAYES_90", 3.5),
    (0.70, "BAYES_70", 1.5),
    (0.30, "", 0.0),
    (0.05, "BAYES_20", -1.0),
    (0.00, "BAYES_05", -2.5),
)
MAX_RECIPIENTS = 10


def rule_for(probability: float) -> tuple[str, float] | None:
    """The rule a spam probability fires (None in the undecided middle)."""
    for lowest, name, points in RULES:
        if probability >= lowest:
            return (name, points) if name else None
    return None


def bayes_rules(
    settings: Settings, data: bytes, recipients: Sequence[str]
) -> list[tuple[str, float]]:
    """The Bayesian rule for this message, or none (no trained classifier, no opinion)."""
    store = MaildirStore(settings.maildir_path)
    for rcpt in recipients[:MAX_RECIPIENTS]:
        try:
            path = classifier_path(store.user_dir(rcpt))
        except (InvalidAddress, ValueError):
            continue
        if not path.is_file():
            continue
        try:
            with Classifier(path) as classifier:
                probability = classifier.spam_probability(data)
        except Exception as exc:  # a broken file must not stop the mail
            log.warning("Bayes classifier of %s: %s", rcpt, exc)
            continue
        if probability is None:
            continue
        rule = rule_for(probability)
        return [rule] if rule else []
    return []
