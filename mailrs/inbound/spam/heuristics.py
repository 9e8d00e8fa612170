"""The built-in scorer: header heuristics, the Authentication-Results when present, and
the recipient's own Bayesian classifier (``bayes_rules``) once it has learnt enough.

Each rule adds a few points, as SpamAssassin's header rules do; ``spam.threshold``
(default 5) turns the sum into a verdict. Passing SPF/DKIM/DMARC lowers the score.
"""

from __future__ import annotations

import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.policy import default as default_policy

from mailrs.config import Settings
from mailrs.inbound.spam import SpamEnvelope, SpamResult
from mailrs.inbound.spam.bayes_rules import bayes_rules

SPAMMY_WORDS = re.compile(
    r"\b(viagra|cialis|lottery|winner|you have won|bitcoin|crypto giveaway|casino|"
    r"100% free|act now|urgent|wire transfer|inheritance|nigerian prince|"
    r"make money fast|click here|limited time offer)\b",
    re.IGNORECASE,
)
AUTH_RULES = {
    ("spf", "fail"): ("SPF_FAIL", 2.0),
    ("spf", "softfail"): ("SPF_SOFTFAIL", 1.0),
    ("spf", "pass"): ("SPF_PASS", -0.5),
    ("dkim", "fail"): ("DKIM_FAIL", 2.0),
    ("dkim", "pass"): ("DKIM_PASS", -1.0),
    ("dmarc", "fail"): ("DMARC_FAIL", 3.5),
    ("dmarc", "pass"): ("DMARC_PASS", -1.0),
}
AUTH_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)
HEAD_LIMIT = 256 * 1024

# Values plainly valid as they stand, for which the default policy's parse (~0.1-0.3 ms
# a field) can neither fail nor come out empty, nor (a From) show a display-name spoof:
# the rules that only ask whether a field is there skip it for these. Anything else
# (folded, encoded words, quotes, comments, odd characters) is parsed as before.
_ADDR = r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_MAILBOX = rf"(?:{_ADDR}|<{_ADDR}>|[A-Za-z0-9 _-]+ <{_ADDR}>)"
_MAILBOXES = re.compile(rf" *{_MAILBOX}(?: *, *{_MAILBOX})* *")
_PLAIN = {
    "From": re.compile(rf" *{_MAILBOX} *"),
    "To": _MAILBOXES,
    "Cc": _MAILBOXES,
    "Date": re.compile(
        r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), +)?\d{1,2} "  # Postfix pads the day: ",  7"
        r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
        r"\d{2}:\d{2}(?::\d{2})? [+-]\d{4}(?: \([A-Za-z0-9+ -]*\))?"
    ),
    "Message-ID": re.compile(r"<[A-Za-z0-9._%+$=-]+@[A-Za-z0-9._-]+>"),
}


class HeuristicFilter:
    """Scores a message from its headers alone (fast: the body is not parsed)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def check(self, data: bytes, envelope: SpamEnvelope) -> SpamResult:
        """Add up the rules that match this message's headers."""
        head = data[:HEAD_LIMIT]
        # The raw fields (compat32), each turned into the default policy's header only
        # when a rule reads it: the parse of every field up front cost more than the rules.
        msg = BytesHeaderParser(policy=compat32).parsebytes(head)
        fields: dict[str, list[str]] = {}
        for field, value in msg.raw_items():  # as the default policy would have stored them
            fields.setdefault(field.lower(), []).append(value)
        rules: list[tuple[str, float]] = []

        def get(name: str) -> str:
            raw = fields.get(name.lower())
            if not raw:
                return ""
            try:
                return str(default_policy.header_fetch_parse(name, raw[0]))
            except Exception:  # a header the policy cannot parse is itself a sign
                rules.append((f"BAD_HEADER_{name.upper().replace('-', '_')}", 1.0))
                return ""

        def present(name: str) -> bool:
            """``get(name) != ""``, without the structured parse for a plainly valid value."""
            raw = fields.get(name.lower(), [""])[0]
            return bool(raw) and (bool(_PLAIN[name].fullmatch(raw)) or bool(get(name)))

        subject = get("Subject")
        raw_from = fields.get("from", [""])[0]
        # a plain From has the same verdicts as its parse: present, no spoof
        sender = raw_from if _PLAIN["From"].fullmatch(raw_from) else get("From")
        if not present("Date"):
            rules.append(("MISSING_DATE", 1.0))
        if not present("Message-ID"):
            rules.append(("MISSING_MID", 0.5))
        if not sender:
            rules.append(("MISSING_FROM", 2.0))
        if not subject:
            rules.append(("MISSING_SUBJECT", 0.5))
        letters = [c for c in subject if c.isalpha()]
        if len(letters) >= 10 and all(c.isupper() for c in letters):
            rules.append(("SUBJ_ALL_CAPS", 1.5))
        if subject.count("!") >= 3 or "$$$" in subject:
            rules.append(("SUBJ_EXCESS_PUNCT", 1.0))
        if SPAMMY_WORDS.search(subject):
            rules.append(("SUBJ_SPAM_WORDS", 2.5))
        if "@" in sender and _display_name_spoof(sender):
            rules.append(("FROM_NAME_SPOOF", 1.5))
        if not present("To") and not present("Cc"):
            rules.append(("MISSING_TO", 0.5))
        if msg.get_content_type() == "text/html":
            rules.append(("HTML_ONLY", 0.7))
        if envelope.mail_from == "" and "report" not in msg.get_content_type():
            rules.append(("NULL_SENDER_NOT_DSN", 0.5))
        if len(envelope.recipients) > 50:
            rules.append(("MANY_RCPTS", 1.0))
        if envelope.auth_user:
            rules.append(("AUTHENTICATED", -5.0))
        trusted = self.settings.smtp.hostname.lower()
        results = [
            default_policy.header_fetch_parse("Authentication-Results", raw)
            for raw in fields.get("authentication-results", [])
        ]
        rules.extend(_auth_results(results, trusted))
        rules.extend(bayes_rules(self.settings, data, envelope.recipients))
        seen: dict[str, float] = {}
        for name, points in rules:
            seen.setdefault(name, points)
        return SpamResult(round(sum(seen.values()), 2), tuple(seen))


def _display_name_spoof(sender: str) -> bool:
    """A display name that is itself an address different from the real one."""
    match = re.match(r'\s*"?([^"<]*)"?\s*<([^>]+)>', sender)
    if not match:
        return False
    shown = re.search(r"[\w.+-]+@[\w.-]+", match.group(1))
    return bool(shown) and shown.group(0).lower() != match.group(2).strip().lower()  # type: ignore[union-attr]


def _auth_results(values: list[object], trusted: str) -> list[tuple[str, float]]:
    """Rules from Authentication-Results; a "pass" counts only from our own server."""
    found = []
    for value in values:
        text = str(value)
        ours = text.split(";", 1)[0].strip().lower() == trusted
        for method, result in AUTH_RESULT.findall(text.split(";", 1)[-1]):
            rule = AUTH_RULES.get((method.lower(), result.lower()))
            if rule and (ours or rule[1] > 0):
                found.append(rule)
    return found
