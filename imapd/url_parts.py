"""What URLFETCH returns of the message an IMAP URL names: the section's bytes, its
content decoded (BINARY, RFC 5524) and its BODYPARTSTRUCTURE, as response bytes."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

from imapd.arguments import section as parse_section
from imapd.binary import decode_body
from imapd.bodystructure import body_structure
from imapd.commands.fetch import section_bytes
from imapd.cursor import Cursor
from imapd.errors import CommandFailed
from imapd.parsed import Section
from mailrs.store.mime import Part, find_part, parse


def url_section(text: str) -> Section:
    """The section of a URL's ``;SECTION=`` (decoded); raises ValueError."""
    if not text:
        return Section()
    cur = Cursor(b"[" + text.encode() + b"]")
    try:
        found = parse_section(cur)
        cur.end()
    except Exception as exc:
        raise ValueError("bad ;SECTION=") from exc
    return found


@dataclass(frozen=True)
class UrlContent:
    """One URL's message and section, from which URLFETCH takes what it was asked."""

    raw: bytes
    section: Section
    partial: tuple[int, int | None] | None

    def _part(self) -> Part | None:
        root = parse(self.raw)
        if not self.section.part:
            return root
        return find_part(root, self.section.part)

    def _cut(self, data: bytes) -> bytes:
        if self.partial is None:
            return data
        start, length = self.partial
        return data[start:] if length is None else data[start : start + length]

    def body(self) -> bytes:
        """The bytes the URL names, as stored (BODY, and the plain URLFETCH form)."""
        return self._cut(section_bytes(None, self.raw, self.section))

    def _decodable(self) -> Part | None:
        """The leaf part whose transfer encoding BINARY undoes (None: taken as it is)."""
        if self.section.specifier or not self.section.part:
            return None
        part = self._part()
        if part is None or part.is_multipart or part.message is not None:
            return None
        return part

    def binary(self) -> bytes | None:
        """The content with its transfer encoding undone; None when it cannot be."""
        part = self._decodable()
        if part is None:
            return self.body()
        try:
            return self._cut(decode_body(part.body, _encoding(part)))
        except CommandFailed:
            return None

    def structure(self, decoded: bool) -> bytes | None:
        """BODYPARTSTRUCTURE of the named part; with ``decoded``, of the BINARY form:
        the encoding becomes the data's domain (7bit, 8bit or binary) and the size the
        decoded size. The line count of a decoded text part is given as 0, as imaptest's
        urlauth-binary expects. None when the part does not exist."""
        part = self._part()
        if part is None:
            return None
        leaf = self._decodable()
        data = self.binary() if decoded and leaf is not None else None
        if data is None or leaf is None or _encoding(leaf) in ("", "7bit", "8bit", "binary"):
            return body_structure(part, True)
        fields = copy.copy(leaf.fields)
        del fields["Content-Transfer-Encoding"]
        fields["Content-Transfer-Encoding"] = _domain(data)
        return body_structure(replace(leaf, body=data, fields=fields), True, lines=0)


def _encoding(part: Part) -> str:
    return str(part.fields.get("content-transfer-encoding", "")).strip().lower()


def _domain(data: bytes) -> str:
    if b"\0" in data:
        return "binary"
    return "8bit" if any(byte > 0x7F for byte in data) else "7bit"
