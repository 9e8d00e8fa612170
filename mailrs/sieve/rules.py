"""The web settings' simple filters and vacation reply, written as a Sieve script.

The form's state is kept as JSON in the script's first comment line, so the page can
show it again; the rest is ordinary Sieve that the delivery interpreter runs (and any
ManageSieve client can read).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

WEB_SCRIPT = "web-filters"
MARK = "# mailrs-web: "
FIELDS = ("from", "subject")
ACTIONS = ("move", "read")
MAX_RULES = 50


@dataclass(frozen=True)
class Rule:
    """If ``field`` contains ``text`` then move to ``folder`` or mark read."""

    field: str
    text: str
    action: str
    folder: str = ""


@dataclass(frozen=True)
class VacationForm:
    """The vacation reply of the settings page."""

    enabled: bool = False
    subject: str = ""
    text: str = ""
    days: int = 7


@dataclass(frozen=True)
class Filters:
    """Everything the settings page edits."""

    rules: list[Rule] = field(default_factory=list)
    vacation: VacationForm = field(default_factory=VacationForm)


def check_rule(rule: Rule) -> None:
    """ValueError for a rule the page must refuse."""
    if rule.field not in FIELDS or rule.action not in ACTIONS:
        raise ValueError("unknown condition or action")
    if not rule.text.strip() or len(rule.text) > 200:
        raise ValueError("each rule needs a text of at most 200 characters")
    if rule.action == "move" and not rule.folder.strip():
        raise ValueError("a move rule needs a folder")
    if any(ord(ch) < 32 for ch in rule.text + rule.folder):
        raise ValueError("control characters are not allowed")


def _q(text: str) -> str:
    """A Sieve quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_sieve(filters: Filters) -> str:
    """The Sieve script of the page's filters (ValueError for a bad rule)."""
    if len(filters.rules) > MAX_RULES:
        raise ValueError(f"at most {MAX_RULES} rules")
    for rule in filters.rules:
        check_rule(rule)
    vacation = filters.vacation
    if vacation.enabled and not vacation.text.strip():
        raise ValueError("the vacation reply needs a text")
    state = json.dumps(asdict(filters), separators=(",", ":"))
    lines = [MARK + state, 'require ["fileinto", "imap4flags", "vacation", "mailbox"];']
    # mark-read rules first: the flag then goes with the copy a move rule files
    ordered = sorted(filters.rules, key=lambda r: r.action != "read")
    for rule in ordered:
        test = (
            f"address :contains {_q('from')} {_q(rule.text)}"
            if rule.field == "from"
            else f"header :contains {_q('subject')} {_q(rule.text)}"
        )
        if rule.action == "move":
            lines.append(f"if {test} {{ fileinto :create {_q(rule.folder.strip())}; }}")
        else:
            lines.append(f'if {test} {{ addflag "\\\\Seen"; }}')
    if vacation.enabled:
        days = max(1, min(int(vacation.days), 90))
        subject = f":subject {_q(vacation.subject)} " if vacation.subject.strip() else ""
        body = vacation.text.replace("\r\n", "\n")
        lines.append(f"vacation :days {days} {subject}{_q(body)};")
    return "\n".join(lines) + "\n"


def from_sieve(script: str | None) -> Filters:
    """The page's state from a script it wrote (an empty form for any other script)."""
    if not script or not script.startswith(MARK):
        return Filters()
    try:
        data = json.loads(script[len(MARK) :].split("\n", 1)[0])
        rules = [Rule(**r) for r in data.get("rules", [])]
        return Filters(rules, VacationForm(**data.get("vacation", {})))
    except (ValueError, TypeError):
        return Filters()
