"""BODY and BODYSTRUCTURE (RFC 3501 section 7.4.2) of a MIME tree, as response bytes.

Built by hand rather than with ``responses.encode`` because the grammar joins the
parts of a multipart with no space between them: ``((...)(...) "mixed" ...)``.
"""

from __future__ import annotations

from imapd.envelope import envelope
from imapd.responses import encode
from mailrs.store.mime import Part, count_lines


def _nstring(value: str | None) -> bytes:
    return encode(value)


def _param_list(params: list[tuple[str, str]]) -> bytes:
    if not params:
        return b"NIL"
    return encode([item for pair in params for item in pair])


def _disposition(part: Part) -> bytes:
    raw = part.fields.get("content-disposition")
    if raw is None:
        return b"NIL"
    kind = str(raw).split(";", 1)[0].strip()
    if not kind:
        return b"NIL"
    from mailrs.store.mime import _params

    return (
        b"(" + encode(kind) + b" " + _param_list(_params(part.fields, "content-disposition")) + b")"
    )


def _language(part: Part) -> bytes:
    raw = part.fields.get("content-language")
    if raw is None:
        return b"NIL"
    tags = [t.strip() for t in str(raw).split(",") if t.strip()]
    if not tags:
        return b"NIL"
    return encode(tags[0]) if len(tags) == 1 else encode(tags)


def _field(part: Part, name: str) -> bytes:
    value = part.fields.get(name)
    if value is None:
        return b"NIL"
    return encode(" ".join(str(value).split()))


def body_structure(part: Part, extended: bool, lines: int | None = None) -> bytes:
    """BODYSTRUCTURE (``extended``) or BODY of a part (``lines``: a text leaf's line
    count given instead of counted)."""
    if part.is_multipart:
        inner = b"".join(body_structure(child, extended) for child in part.children)
        out = b"(" + inner + b" " + encode(part.subtype)
        if extended:
            out += b" " + _param_list(part.params())
            out += (
                b" "
                + _disposition(part)
                + b" "
                + _language(part)
                + b" "
                + _field(part, "content-location")
            )
        return out + b")"
    params = part.params()
    if part.maintype == "text" and not any(name.lower() == "charset" for name, _ in params):
        params = [("charset", "us-ascii"), *params]
    encoding = part.fields.get("content-transfer-encoding")
    enc = " ".join(str(encoding).split()) if encoding is not None else "7bit"
    fields = [
        encode(part.maintype),
        encode(part.subtype),
        _param_list(params),
        _field(part, "content-id"),
        _field(part, "content-description"),
        encode(enc or "7bit"),
        encode(len(part.body)),
    ]
    if part.message is not None:
        fields.append(encode(envelope(part.message.fields)))
        fields.append(body_structure(part.message, extended))
        fields.append(encode(count_lines(part.body)))
    elif part.maintype == "text":
        fields.append(encode(count_lines(part.body) if lines is None else lines))
    if extended:
        fields += [
            _field(part, "content-md5"),
            _disposition(part),
            _language(part),
            _field(part, "content-location"),
        ]
    return b"(" + b" ".join(fields) + b")"
