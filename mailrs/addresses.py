"""E-mail addresses: syntax checks and normal forms for local users."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailrs.errors import InvalidAddress

# RFC 5321 dot-atom local part (no quoted strings), with RFC 6531's UTF-8 characters, and
# a DNS domain (U-labels are turned into A-labels).
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~\u00a0-\U0010ffff-"
_LOCAL_RE = re.compile(rf"^[{_ATEXT}]+(\.[{_ATEXT}]+)*$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
MAX_LOCAL = 64
MAX_ADDRESS = 254


@dataclass(frozen=True)
class Address:
    """A checked address with its local part and lower-case domain."""

    local: str
    domain: str

    def __str__(self) -> str:
        return f"{self.local}@{self.domain}"


def parse_address(text: str) -> Address:
    """Check ``local@domain`` syntax and return it with the domain lower-cased."""
    if not isinstance(text, str) or not text or len(text) > MAX_ADDRESS:
        raise InvalidAddress(f"invalid address {text!r}")
    local, sep, domain = text.rpartition("@")
    if not sep or not local or not domain:
        raise InvalidAddress(f"invalid address {text!r}: expected local@domain")
    if len(local) > MAX_LOCAL or not _LOCAL_RE.match(local):
        raise InvalidAddress(f"invalid address {text!r}: bad local part")
    domain = domain.lower().rstrip(".")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidAddress(f"invalid address {text!r}: bad domain") from None
    labels = domain.split(".")
    if not all(_LABEL_RE.match(label) for label in labels):
        raise InvalidAddress(f"invalid address {text!r}: bad domain")
    return Address(local=local, domain=domain)


def normalize_user_address(text: str) -> str:
    """The stored form of a local account's address: all lower case.

    Local accounts are also directory names, so ``/`` (legal in RFC 5322) is refused.
    """
    address = parse_address(text.strip())
    if not address.local.isascii():
        raise InvalidAddress(f"invalid address {text!r}: account names are ASCII")
    if "/" in address.local:
        raise InvalidAddress(f"invalid address {text!r}: '/' is not allowed in an account name")
    return f"{address.local.lower()}@{address.domain}"
