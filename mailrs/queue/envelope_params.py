"""The ESMTP parameters a message carries through the pipeline: DSN and REQUIRETLS.

DSN (RFC 3461): ``RET=FULL|HDRS`` and ``ENVID=<xtext>`` on MAIL, ``NOTIFY=NEVER`` or a
list of ``SUCCESS``, ``FAILURE``, ``DELAY`` and ``ORCPT=<addr-type>;<xtext>`` on RCPT.
REQUIRETLS (RFC 8689) on MAIL. The values are parsed here once (with their original
case: aiosmtpd upper-cases the parameters it sees), kept on the message and recipient
rows, honoured by the bounce stage and passed on by relay. A bad value raises
``ParamError`` with the reply the receiver gives (501 and an enhanced status).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NOTIFY_WORDS = ("SUCCESS", "FAILURE", "DELAY")
MAX_ENVID = 100  # RFC 3461 4.4
MAX_ORCPT = 500  # RFC 3461 4.2: the whole parameter fits a 512-octet RCPT line
_XTEXT_HEX = re.compile(r"\+([0-9A-F]{2})")
_XTEXT_HEX_BYTES = re.compile(rb"\+([0-9A-F]{2})")
_ADDR_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


class ParamError(ValueError):
    """A MAIL or RCPT parameter with a bad value; ``reply`` is the SMTP answer."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


@dataclass(frozen=True)
class MailParams:
    """The DSN and REQUIRETLS parameters of a MAIL command."""

    ret: str = ""  # "", FULL or HDRS
    envid: str = ""  # decoded
    require_tls: bool = False


@dataclass(frozen=True)
class RcptParams:
    """The DSN parameters of a RCPT command."""

    notify: str = ""  # "" (not given), NEVER, or e.g. "SUCCESS,FAILURE"
    orcpt: str = ""  # "rfc822;bob@example.org", decoded


def xtext_decode(value: str) -> str:
    """The text of an xtext value (RFC 3461 4); ValueError when it is not xtext."""
    if any(not 33 <= ord(c) <= 126 or c == "=" for c in value):
        raise ValueError("xtext allows printable ASCII without '=' only")
    if value.count("+") != len(_XTEXT_HEX.findall(value)):
        raise ValueError("'+' must start a hexchar such as +2B")
    raw = _XTEXT_HEX_BYTES.sub(lambda m: bytes([int(m.group(1), 16)]), value.encode("ascii"))
    return raw.decode("utf-8", "replace")


def xtext_encode(text: str) -> str:
    """``text`` as xtext: '+', '=' and anything outside printable ASCII as +XX."""
    out = []
    for char in text:
        if 33 <= ord(char) <= 126 and char not in "+=":
            out.append(char)
        else:
            out.extend(f"+{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def _split(words: list[str]) -> tuple[dict[str, str | None], list[str]]:
    """Parameters by upper-case keyword (value as written, None without '='), and the rest."""
    found: dict[str, str | None] = {}
    rest: list[str] = []
    for word in words:
        key, eq, value = word.partition("=")
        name = key.upper()
        if name in ("RET", "ENVID", "REQUIRETLS", "NOTIFY", "ORCPT"):
            if name in found:
                raise ParamError(f"501 5.5.4 Duplicate {name} parameter")
            found[name] = value if eq else None
        else:
            rest.append(word)
    return found, rest


def parse_mail_params(words: list[str]) -> tuple[MailParams, list[str]]:
    """The DSN/REQUIRETLS parameters of MAIL, and the other words to leave to aiosmtpd."""
    found, rest = _split(words)
    for name in ("NOTIFY", "ORCPT"):
        if name in found:
            return MailParams(), words  # RCPT parameters: aiosmtpd refuses them with 555
    ret = found.get("RET", "")
    if "RET" in found and (ret or "").upper() not in ("FULL", "HDRS"):
        raise ParamError("501 5.5.4 RET must be FULL or HDRS (RFC 3461)")
    envid = ""
    if "ENVID" in found:
        raw = found["ENVID"] or ""
        try:
            envid = xtext_decode(raw)
        except ValueError as exc:
            raise ParamError(f"501 5.5.4 ENVID is not valid xtext: {exc}") from None
        if not raw or len(raw) > MAX_ENVID:
            raise ParamError(f"501 5.5.4 ENVID must be 1 to {MAX_ENVID} characters")
        if any(not 32 <= ord(c) <= 126 for c in envid):
            raise ParamError("501 5.5.4 ENVID must decode to printable ASCII")
    if "REQUIRETLS" in found and found["REQUIRETLS"] is not None:
        raise ParamError("501 5.5.4 REQUIRETLS takes no value (RFC 8689)")
    params = MailParams((ret or "").upper(), envid, "REQUIRETLS" in found)
    return params, rest


def parse_rcpt_params(words: list[str]) -> tuple[RcptParams, list[str]]:
    """The DSN parameters of RCPT, and the other words to leave to aiosmtpd."""
    found, rest = _split(words)
    for name in ("RET", "ENVID", "REQUIRETLS"):
        if name in found:
            return RcptParams(), words  # MAIL parameters: aiosmtpd refuses them with 555
    notify = ""
    if "NOTIFY" in found:
        items = [i.strip().upper() for i in (found["NOTIFY"] or "").split(",")]
        if items == ["NEVER"]:
            notify = "NEVER"
        elif (
            not items or any(i not in NOTIFY_WORDS for i in items) or len(set(items)) != len(items)
        ):
            raise ParamError(
                "501 5.5.4 NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY (RFC 3461)"
            )
        else:
            notify = ",".join(w for w in NOTIFY_WORDS if w in items)
    orcpt = ""
    if "ORCPT" in found:
        kind, semi, raw = (found["ORCPT"] or "").partition(";")
        if not semi or not _ADDR_TYPE.match(kind) or not raw or len(raw) > MAX_ORCPT:
            raise ParamError("501 5.5.4 ORCPT must be addr-type;xtext, e.g. rfc822;bob@example.org")
        try:
            address = xtext_decode(raw)
        except ValueError as exc:
            raise ParamError(f"501 5.5.4 ORCPT address is not valid xtext: {exc}") from None
        if any(ord(c) < 32 or ord(c) == 127 for c in address):
            raise ParamError("501 5.5.4 ORCPT address has control characters")
        orcpt = f"{kind.lower()};{address}"
    return RcptParams(notify, orcpt), rest


def wants(notify: str, event: str) -> bool:
    """Whether a recipient's NOTIFY asks for a DSN on ``event`` (SUCCESS, FAILURE or DELAY).

    Without NOTIFY, failures and delays are reported and successes are not (RFC 3461 4.1).
    """
    if not notify:
        return event in ("FAILURE", "DELAY")
    return event in notify.split(",")


def orcpt_param(orcpt: str) -> str:
    """The ORCPT parameter to pass on for a stored ``type;address`` value."""
    kind, _, address = orcpt.partition(";")
    return f"ORCPT={kind};{xtext_encode(address)}"
