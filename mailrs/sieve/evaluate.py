"""The Sieve interpreter: runs a parsed script over one message and returns its actions."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from mailrs.sieve.actions import FileInto, Outcome, Redirect, Reject, Vacation
from mailrs.sieve.grammar import strings, unquote
from mailrs.sieve.matching import compare

INBOX = "INBOX"
MAX_REDIRECTS = 4


@dataclass
class Delivery:
    """What the interpreter sees: the message, its envelope, and the time of delivery."""

    message: EmailMessage
    size: int
    mail_from: str
    rcpt_to: str
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class _Stop(Exception):
    """The ``stop`` command."""


class SieveRuntimeError(Exception):
    """An error while running a script (the message is then kept)."""


@dataclass
class _State:
    """The interpreter's state over one run."""

    delivery: Delivery
    outcome: Outcome = field(default_factory=Outcome)
    flags: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    matches: list[str] = field(default_factory=list)
    extensions: set[str] = field(default_factory=set)
    cancel_keep: bool = False


def run(commands: list[Any], delivery: Delivery) -> Outcome:
    """Run a parsed script; a run-time error keeps the message in INBOX (RFC 5228 2.10.6)."""
    state = _State(delivery)
    try:
        _block(state, commands)
    except _Stop:
        pass
    except (SieveRuntimeError, KeyError, ValueError) as exc:
        return Outcome(stores=[FileInto(INBOX)], error=str(exc) or type(exc).__name__)
    out = state.outcome
    if not state.cancel_keep:
        out.stores.insert(0, FileInto(INBOX, tuple(state.flags)))
    return out


def _block(state: _State, commands: list[Any]) -> None:
    """Run a block of commands, following if/elsif/else."""
    taken: bool | None = None  # whether the last if/elsif chain took a branch
    for command in commands:
        name = command.name
        if name == "require":
            state.extensions.update(strings(command.arguments["capabilities"]))
        elif name == "if":
            taken = _test(state, command.arguments["test"])
            if taken:
                _block(state, command.children)
        elif name == "elsif":
            if not taken:
                taken = _test(state, command.arguments["test"])
                if taken:
                    _block(state, command.children)
        elif name == "else":
            if not taken:
                _block(state, command.children)
            taken = None
        else:
            _action(state, command)


def _text(state: _State, value: Any) -> str:
    """A string argument with variables expanded (when ``variables`` is required)."""
    text = unquote(str(value))
    return _expand(state, text)


def _texts(state: _State, value: Any) -> list[str]:
    """A string-list argument with variables expanded."""
    return [_expand(state, text) for text in strings(value)]


def _expand(state: _State, text: str) -> str:
    """Substitute ``${name}`` and ``${N}`` (RFC 5229 section 3)."""
    if "variables" not in state.extensions or "${" not in text:
        return text

    def sub(found: re.Match[str]) -> str:
        name = found.group(1).lower()
        if name.isdigit():
            index = int(name)
            return state.matches[index] if index < len(state.matches) else ""
        return state.variables.get(name, "")

    return re.sub(r"\$\{([A-Za-z0-9_.]+)\}", sub, text)


def _flag_list(state: _State, value: Any) -> list[str]:
    """Flags from a list argument: each string may hold several, space separated."""
    out: list[str] = []
    for text in _texts(state, value):
        for flag in text.split():
            if flag.lower() not in (f.lower() for f in out):
                out.append(flag)
    return out


def _action(state: _State, command: Any) -> None:
    """Run one action command."""
    name, args, extra = command.name, command.arguments, command.extra_arguments
    out = state.outcome
    if name == "stop":
        raise _Stop
    if name == "keep":
        flags = _flag_list(state, extra["flags"]) if "flags" in args else state.flags
        out.stores.append(FileInto(INBOX, tuple(flags)))
        state.cancel_keep = True
    elif name == "discard":
        state.cancel_keep = True
        out.discarded = True
    elif name == "fileinto":
        flags = _flag_list(state, extra["flags"]) if "flags" in args else state.flags
        target = FileInto(_text(state, args["mailbox"]), tuple(flags), "create" in args)
        if target not in out.stores:
            out.stores.append(target)
        if "copy" not in args:
            state.cancel_keep = True
    elif name == "redirect":
        if len(out.redirects) >= MAX_REDIRECTS:
            raise SieveRuntimeError("too many redirects")
        address = _text(state, args["address"])
        if "@" not in address:
            raise SieveRuntimeError(f"redirect to a bad address: {address!r}")
        out.redirects.append(Redirect(address))
        if "copy" not in args:
            state.cancel_keep = True
    elif name in ("reject", "ereject"):
        out.reject = Reject(_text(state, args["text"]), extended=name == "ereject")
        state.cancel_keep = True
    elif name in ("setflag", "addflag", "removeflag"):
        _flags(state, name, args)
    elif name == "set":
        _set(state, args)
    elif name == "vacation":
        out.vacation = _vacation(state, args, extra)
    else:
        raise SieveRuntimeError(f"unsupported action {name}")


def _flags(state: _State, name: str, args: dict[str, Any]) -> None:
    """setflag/addflag/removeflag on the internal flags variable (RFC 5232)."""
    given = _flag_list(state, args["list-of-flags"])
    if name == "setflag":
        state.flags = given
    elif name == "addflag":
        state.flags += [f for f in given if f.lower() not in {x.lower() for x in state.flags}]
    else:
        drop = {f.lower() for f in given}
        state.flags = [f for f in state.flags if f.lower() not in drop]


def _set(state: _State, args: dict[str, Any]) -> None:
    """The ``set`` action with its modifiers (RFC 5229 section 4)."""
    value = _text(state, args["value"])
    case = args.get("case")
    if case == ":lower":
        value = value.lower()
    elif case == ":upper":
        value = value.upper()
    first = args.get("first-case")
    if first == ":lowerfirst":
        value = value[:1].lower() + value[1:]
    elif first == ":upperfirst":
        value = value[:1].upper() + value[1:]
    if "quotewildcard" in args:
        value = re.sub(r"([*?\\])", r"\\\1", value)
    if "length" in args:
        value = str(len(value))
    state.variables[unquote(args["name"]).lower()] = value


def _vacation(state: _State, args: dict[str, Any], extra: dict[str, Any]) -> Vacation:
    """The ``vacation`` action's parameters (RFC 5230 section 4)."""
    days = int(extra.get("days", 7)) if "days" in args else 7
    return Vacation(
        reason=_text(state, args["reason"]),
        subject=_text(state, extra["subject"]) if "subject" in args else "",
        days=max(1, min(days, 90)),
        addresses=tuple(_texts(state, extra["addresses"])) if "addresses" in args else (),
        from_address=_text(state, extra["from"]) if "from" in args else "",
        handle=_text(state, extra["handle"]) if "handle" in args else "",
        mime="mime" in args,
    )


# -- tests ---------------------------------------------------------------------------------


def _test(state: _State, test: Any) -> bool:
    """Evaluate one test command."""
    name, args = test.name, test.arguments
    if name == "true":
        return True
    if name == "false":
        return False
    if name == "not":
        return not _test(state, args["test"])
    if name == "allof":
        return all(_test(state, t) for t in args["tests"])
    if name == "anyof":
        return any(_test(state, t) for t in args["tests"])
    message = state.delivery.message
    if name == "exists":
        return all(name in message for name in _texts(state, args["header-names"]))
    if name == "size":
        limit = _number(str(args["limit"]))
        over = args["comparator"] == ":over"
        return state.delivery.size > limit if over else state.delivery.size < limit
    if name == "header":
        values = [
            _header_text(v)
            for header in _texts(state, args["header-names"])
            for v in message.get_all(header, [])
        ]
        return _match(state, test, values, _texts(state, args["key-list"]))
    if name in ("address", "envelope"):
        values = _addresses(state, name, _texts(state, args["header-list"]))
        part = args.get("address-part", ":all")
        parts = [p for p in (_address_part(v, part) for v in values) if p is not None]
        return _match(state, test, parts, _texts(state, args["key-list"]))
    if name == "body":
        return _match(state, test, [_body(message, args)], _texts(state, args["key-list"]))
    if name in ("date", "currentdate"):
        return _date_test(state, test)
    if name == "hasflag":
        keys = _texts(state, args["list-of-flags"])
        return _match(state, test, list(state.flags), keys)
    raise SieveRuntimeError(f"unsupported test {name}")


def _match(state: _State, test: Any, values: list[str], keys: list[str]) -> bool:
    """Compare per the test's match type and comparator; ``:matches`` sets ``${N}``."""
    args, extra = test.arguments, test.extra_arguments
    match_type = args.get("match-type", ":is")
    relation = unquote(str(extra.get("match-type", '"eq"')))
    comparator = unquote(str(extra.get("comparator", '"i;ascii-casemap"')))
    ok, captures = compare(values, keys, match_type, relation, comparator)
    if ok and match_type == ":matches":
        state.matches = captures
    return ok


def _number(text: str) -> int:
    """A Sieve number with its K/M/G quantifier."""
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper(), 1)
    return int(text[:-1] if scale > 1 else text) * scale


def _header_text(value: Any) -> str:
    """A header's value decoded (RFC 2047), unfolded."""
    return " ".join(str(value).split()) if value is not None else ""


def _addresses(state: _State, test: str, headers: list[str]) -> list[str]:
    """The addresses an address or envelope test looks at."""
    if test == "envelope":
        out = []
        for part in headers:
            if part.lower() == "from":
                out.append(state.delivery.mail_from)
            elif part.lower() == "to":
                out.append(state.delivery.rcpt_to)
        return out
    raw = [str(v) for h in headers for v in state.delivery.message.get_all(h, [])]
    return [addr for _, addr in email.utils.getaddresses(raw) if addr]


def _address_part(address: str, part: str) -> str | None:
    """One part of an address (RFC 5228 2.7.4, subaddress RFC 5233 with "+")."""
    local, _, domain = address.rpartition("@") if "@" in address else (address, "", "")
    if part == ":localpart":
        return local
    if part == ":domain":
        return domain
    if part == ":user":
        return local.split("+", 1)[0]
    if part == ":detail":
        return local.split("+", 1)[1] if "+" in local else None
    return address


def _body(message: EmailMessage, args: dict[str, Any]) -> str:
    """The body text a ``body`` test searches (RFC 5173): raw, or the text parts decoded."""
    transform = args.get("body-transform", ":text")
    if transform == ":raw":
        payload = message.get_payload(decode=False)
        return payload if isinstance(payload, str) else ""
    texts = []
    for part in message.walk():  # type: EmailMessage
        if part.is_multipart():
            continue
        if transform == ":text" and part.get_content_maintype() != "text":
            continue
        try:
            texts.append(str(part.get_content()))
        except (LookupError, KeyError, ValueError):
            raw = part.get_payload(decode=True)
            texts.append(raw.decode("latin-1") if isinstance(raw, bytes) else "")
    return "\n".join(texts)


def _date_test(state: _State, test: Any) -> bool:
    """``date`` on a header's date or ``currentdate`` on now (RFC 5260)."""
    args, extra = test.arguments, test.extra_arguments
    if test.name == "currentdate":
        when: dt.datetime | None = state.delivery.now
    else:
        when = None
        for value in state.delivery.message.get_all(_text(state, args["header-name"]), []):
            try:
                when = email.utils.parsedate_to_datetime(str(value))
            except (TypeError, ValueError):
                continue
            break
        if when is None:
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    assert when is not None
    zone = args.get("zone")
    if zone == ":zone":
        when = when.astimezone(_zone(_text(state, extra["zone"])))
    elif zone != ":originalzone" and test.name == "date":
        when = when.astimezone(state.delivery.now.tzinfo)
    value = _date_part(when, _text(state, args["date-part"]).lower())
    return _match(state, test, [value], _texts(state, args["key-list"]))


def _zone(text: str) -> dt.tzinfo:
    """A ``+hhmm``/``-hhmm`` zone."""
    found = re.fullmatch(r"([+-])(\d\d)(\d\d)", text)
    if not found:
        raise SieveRuntimeError(f"bad zone {text!r}")
    minutes = int(found.group(2)) * 60 + int(found.group(3))
    return dt.timezone(dt.timedelta(minutes=-minutes if found.group(1) == "-" else minutes))


def _date_part(when: dt.datetime, part: str) -> str:
    """One date part of RFC 5260 section 4.2."""
    offset = when.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    zone = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    parts = {
        "year": f"{when.year:04d}",
        "month": f"{when.month:02d}",
        "day": f"{when.day:02d}",
        "date": when.strftime("%Y-%m-%d"),
        "julian": str(when.toordinal() - dt.date(1858, 11, 17).toordinal()),
        "hour": f"{when.hour:02d}",
        "minute": f"{when.minute:02d}",
        "second": f"{when.second:02d}",
        "time": when.strftime("%H:%M:%S"),
        "iso8601": when.isoformat(),
        "std11": email.utils.format_datetime(when),
        "zone": zone,
        "weekday": str((when.weekday() + 1) % 7),
    }
    if part not in parts:
        raise SieveRuntimeError(f"unknown date part {part!r}")
    return parts[part]
