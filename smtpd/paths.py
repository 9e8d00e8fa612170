"""The plain reverse- and forward-path of MAIL and RCPT, split without the email parser.

aiosmtpd's ``_getaddr`` runs ``email._header_value_parser.get_angle_addr`` (and defines a
``typing.Protocol`` class) on every MAIL and RCPT: ~15 % of smtpd's Python time under
``smtp-source``. Nearly every path is ``<dot-atom@domain>`` followed by parameters;
``plain_path`` splits exactly those, as the parser would, and answers None for anything
else (quoted local parts, routes, comments, address literals, non-ASCII, ``<>``), which
then goes to aiosmtpd's parser. ``tests/unit/test_smtp_paths.py`` compares both.
"""

from __future__ import annotations

import re

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_PLAIN = re.compile(
    rf"[ \t]*<({_ATEXT}+(?:\.{_ATEXT}+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>"
    r"(?:[ \t]+(?=[^ \t(])|(?=[^ \t(])|$)(.*)",
    re.DOTALL,
)


def plain_path(arg: str) -> tuple[str, str] | None:
    """``(address, parameters)`` of ``<local@domain> params``, or None if not that plain."""
    match = _PLAIN.fullmatch(arg)
    if match is None:
        return None
    return match[1], match[2]
