"""The command parser: complete command bytes (literals included) to command objects.

Pure: no I/O and no state. ``framing`` collects one command's bytes (the lines and
the literal data between them, without the final CRLF); ``parse_command`` checks them
against the RFC 3501 grammar (plus the extensions this server announces) and raises
``ParseError`` (tagged when the tag was readable) for anything else. The layers run one
way: ``imapd.cursor`` reads tokens, ``imapd.arguments`` the shared argument grammar,
``imapd.search_parser`` the search keys, and this module each command's grammar; the
objects they build are in ``imapd.parsed``.
"""

from __future__ import annotations

from collections.abc import Callable

from imapd import arguments
from imapd.cursor import ATOM_CHARS, Cursor, peek_tag
from imapd.errors import UnknownCommand
from imapd.notify_grammar import parse_notify
from imapd.parsed import (
    AppendArgs,
    AppendItem,
    Args,
    AtomsArgs,
    AuthenticateArgs,
    Command,
    CopyArgs,
    FetchArgs,
    IdArgs,
    ListArgs,
    LoginArgs,
    MailboxArgs,
    NoArgs,
    RenameArgs,
    SequenceArgs,
    StatusArgs,
    StoreArgs,
)
from imapd.search_parser import parse_search, parse_sort, parse_thread
from imapd.select_grammar import parse_select
from imapd.urlauth_grammar import parse_genurlauth, parse_resetkey, parse_urlfetch

# -- grammar of each command ---------------------------------------------------------------


def _no_args(cur: Cursor) -> NoArgs:
    cur.end()
    return NoArgs()


def _login(cur: Cursor) -> LoginArgs:
    cur.sp()
    username = cur.astring("a user name")
    cur.sp()
    password = cur.astring("a password")
    cur.end()
    return LoginArgs(username, password)


def _authenticate(cur: Cursor) -> AuthenticateArgs:
    cur.sp()
    mechanism = cur.atom().upper()
    initial = None
    if cur.maybe(" "):
        initial = cur.take(
            frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
            "a base64 initial response",
        )
    cur.end()
    return AuthenticateArgs(mechanism, initial)


def _mailbox(cur: Cursor) -> MailboxArgs:
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    cur.end()
    return MailboxArgs(mailbox)


def _rename(cur: Cursor) -> RenameArgs:
    cur.sp()
    old = cur.astring("a mailbox name")
    cur.sp()
    new = cur.astring("a mailbox name")
    cur.end()
    return RenameArgs(old, new)


LIST_SELECTION = ("SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE")
LIST_RETURNS = ("SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS")


def _options(cur: Cursor, allowed: tuple[str, ...], what: str) -> list[str]:
    """``(option ...)``, each one of ``allowed`` (an empty list is allowed)."""
    cur.char("(", f"expected '(' before the {what}")
    options: list[str] = []
    while not cur.maybe(")"):
        if options:
            cur.sp()
        option = cur.atom().upper()
        if option not in allowed:
            raise cur.error(f"unknown {what} {option[:40]}")
        options.append(option)
        if option == "STATUS":
            cur.sp()
            options.extend(f"STATUS:{item}" for item in _status_items(cur))
    return options


def _list(cur: Cursor) -> ListArgs:
    cur.sp()
    selection: list[str] = []
    extended = False
    if cur.peek() == ord("("):  # LIST-EXTENDED selection options (RFC 5258)
        selection = _options(cur, LIST_SELECTION, "selection option")
        extended = True
        cur.sp()
        if "RECURSIVEMATCH" in selection and set(selection) <= {"RECURSIVEMATCH", "REMOTE"}:
            raise cur.error("RECURSIVEMATCH needs another selection option")
    reference = cur.astring("a reference name")
    cur.sp()
    if cur.maybe("("):
        patterns = [cur.list_mailbox()]
        while cur.maybe(" "):
            patterns.append(cur.list_mailbox())
        cur.char(")", "expected ')' after the mailbox patterns")
        extended = True
    else:
        patterns = [cur.list_mailbox()]
    returns: list[str] = []
    if cur.maybe(" "):
        if cur.atom().upper() != "RETURN":
            raise cur.error("expected RETURN")
        cur.sp()
        returns = _options(cur, LIST_RETURNS, "return option")
        extended = True
    cur.end()
    if not extended:
        return ListArgs(reference, patterns[0])
    items = tuple(r.partition(":")[2] for r in returns if r.startswith("STATUS:"))
    return ListArgs(
        reference,
        patterns[0],
        extended,
        tuple(patterns),
        tuple(dict.fromkeys(selection)),
        tuple(dict.fromkeys(r for r in returns if ":" not in r)),
        items,
    )


def _lsub(cur: Cursor) -> ListArgs:
    cur.sp()
    reference = cur.astring("a reference name")
    cur.sp()
    pattern = cur.list_mailbox()
    cur.end()
    return ListArgs(reference, pattern)


STATUS_ITEMS = (
    "MESSAGES",
    "RECENT",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    "HIGHESTMODSEQ",
    "SIZE",
    "DELETED",
)


def _status(cur: Cursor) -> StatusArgs:
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    cur.sp()
    items = _status_items(cur)
    cur.end()
    return StatusArgs(mailbox, items)


def _status_items(cur: Cursor) -> tuple[str, ...]:
    cur.char("(", "expected '(' before the status items")
    items = []
    while True:
        item = cur.atom().upper()
        if item not in STATUS_ITEMS:
            raise cur.error(f"unknown status item {item[:40]}")
        items.append(item)
        if not cur.maybe(" "):
            break
    cur.char(")", "expected ')' after the status items")
    return tuple(items)


def _append_data(cur: Cursor) -> tuple[bytes, bool]:
    """``literal`` or ``literal8`` (RFC 3516, ``~{n}``): the data and whether it is binary."""
    binary = cur.maybe("~")
    if cur.peek() != ord("{"):
        raise cur.error("expected the message as a literal")
    return cur.literal(allow_nul=True), binary


def _catenate(cur: Cursor) -> tuple[bytes | str, ...]:
    """``CATENATE (TEXT literal | URL url ...)`` (RFC 4469), after the word CATENATE."""
    cur.sp()
    cur.char("(", "expected '(' after CATENATE")
    parts: list[bytes | str] = []
    while True:
        kind = cur.atom().upper()
        cur.sp()
        if kind == "TEXT":
            parts.append(_append_data(cur)[0])
        elif kind == "URL":
            parts.append(cur.astring("a URL"))
        else:
            raise cur.error(f"unknown CATENATE part {kind[:40]}")
        if not cur.maybe(" "):
            break
    cur.char(")", "expected ')' after the CATENATE parts")
    return tuple(parts)


def _append_item(cur: Cursor) -> AppendItem:
    flags: tuple[str, ...] = ()
    date = zone = None
    if cur.peek() == ord("("):
        flags = arguments.flag_list(cur)
        cur.sp()
    if cur.peek() == ord('"'):
        date, zone = arguments.date_time(cur)
        cur.sp()
    if cur.peek() in (ord("U"), ord("u")):  # UTF8 (literal8), RFC 6855
        if cur.atom().upper() != "UTF8":
            raise cur.error("expected the message as a literal, UTF8 or CATENATE")
        cur.sp()
        cur.char("(", "expected '(' after UTF8")
        data, binary = _append_data(cur)
        cur.char(")", "expected ')' after the UTF8 message")
        return AppendItem(flags, date, (data,), zone, binary, utf8=True)
    if cur.peek() in (ord("C"), ord("c")):
        if cur.atom().upper() != "CATENATE":
            raise cur.error("expected the message as a literal or CATENATE")
        return AppendItem(flags, date, _catenate(cur), zone)
    data, binary = _append_data(cur)
    return AppendItem(flags, date, (data,), zone, binary)


def _append(cur: Cursor) -> AppendArgs:
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    cur.sp()
    items = [_append_item(cur)]
    while cur.maybe(" "):  # MULTIAPPEND (RFC 3502)
        items.append(_append_item(cur))
        if len(items) > MAX_APPEND_MESSAGES:
            raise cur.error("too many messages in one APPEND")
    cur.end()
    return AppendArgs(mailbox, tuple(items))


MAX_APPEND_MESSAGES = 1000


def _fetch(cur: Cursor) -> FetchArgs:
    cur.sp()
    sequence = arguments.sequence_set(cur)
    cur.sp()
    items = arguments.fetch_attributes(cur)
    changedsince = None
    vanished = False
    if cur.maybe(" "):
        cur.char("(", "expected FETCH modifiers")
        while True:
            word = cur.atom().upper()
            if word == "CHANGEDSINCE" and changedsince is None:
                cur.sp()
                changedsince = arguments.modseq(cur)
            elif word == "VANISHED" and not vanished:
                vanished = True
            else:
                raise cur.error(f"unknown FETCH modifier {word[:40]}")
            if not cur.maybe(" "):
                break
        cur.char(")")
    cur.end()
    if vanished and changedsince is None:
        raise cur.error("VANISHED needs CHANGEDSINCE")
    return FetchArgs(sequence, items, changedsince, vanished)


def _store(cur: Cursor) -> StoreArgs:
    cur.sp()
    sequence = arguments.sequence_set(cur)
    cur.sp()
    unchangedsince = None
    if cur.maybe("("):
        word = cur.atom().upper()
        if word != "UNCHANGEDSINCE":
            raise cur.error(f"unknown STORE modifier {word[:40]}")
        cur.sp()
        unchangedsince = arguments.modseq(cur)
        cur.char(")")
        cur.sp()
    mode = ""
    if cur.peek() in (ord("+"), ord("-")):
        mode = chr(cur.data[cur.pos])
        cur.pos += 1
    word = cur.atom().upper()
    if word not in ("FLAGS", "FLAGS.SILENT"):
        raise cur.error("expected FLAGS or FLAGS.SILENT")
    cur.sp()
    if cur.peek() == ord("("):
        flags = arguments.flag_list(cur)
    else:
        names = [arguments.flag(cur)]
        while cur.maybe(" "):
            names.append(arguments.flag(cur))
        flags = tuple(names)
    cur.end()
    return StoreArgs(sequence, mode, word.endswith(".SILENT"), flags, unchangedsince)


def _copy(cur: Cursor) -> CopyArgs:
    cur.sp()
    sequence = arguments.sequence_set(cur)
    cur.sp()
    mailbox = cur.astring("a mailbox name")
    cur.end()
    return CopyArgs(sequence, mailbox)


def _sequence(cur: Cursor) -> SequenceArgs:
    cur.sp()
    sequence = arguments.sequence_set(cur)
    cur.end()
    return SequenceArgs(sequence)


def _enable(cur: Cursor) -> AtomsArgs:
    names = []
    while cur.maybe(" "):
        names.append(cur.atom().upper())
    if not names:
        raise cur.error("ENABLE needs at least one capability")
    cur.end()
    return AtomsArgs(tuple(names))


def _cancelupdate(cur: Cursor) -> AtomsArgs:
    """``CANCELUPDATE "tag" *(SP "tag")`` (RFC 5267): the tags as sent."""
    tags = []
    while cur.maybe(" "):
        tags.append(cur.string("a search tag"))
    if not tags:
        raise cur.error("CANCELUPDATE needs at least one tag")
    cur.end()
    return AtomsArgs(tuple(tags))


def _compress(cur: Cursor) -> AtomsArgs:
    cur.sp()
    mechanism = cur.atom().upper()
    cur.end()
    return AtomsArgs((mechanism,))


def _id(cur: Cursor) -> IdArgs:
    cur.sp()
    if cur.peek() != ord("("):
        if cur.atom().upper() != "NIL":
            raise cur.error("expected a parameter list or NIL")
        cur.end()
        return IdArgs(None)
    cur.char("(")
    fields: list[tuple[str, str | None]] = []
    if not cur.maybe(")"):
        while True:
            name = cur.string("a field name")
            cur.sp()
            value = cur.nstring("a field value")
            fields.append((name[:64], None if value is None else value[:1024]))
            if len(fields) > 30:
                raise cur.error("too many ID fields")
            if not cur.maybe(" "):
                break
        cur.char(")")
    cur.end()
    return IdArgs(tuple(fields))


GRAMMAR: dict[str, Callable[[Cursor], Args]] = {
    "CAPABILITY": _no_args,
    "NOOP": _no_args,
    "LOGOUT": _no_args,
    "STARTTLS": _no_args,
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    "SELECT": parse_select,
    "EXAMINE": parse_select,
    "CREATE": _mailbox,
    "DELETE": _mailbox,
    "RENAME": _rename,
    "SUBSCRIBE": _mailbox,
    "UNSUBSCRIBE": _mailbox,
    "LIST": _list,
    "LSUB": _lsub,
    "STATUS": _status,
    "APPEND": _append,
    "CHECK": _no_args,
    "CLOSE": _no_args,
    "UNSELECT": _no_args,
    "EXPUNGE": _no_args,
    "SEARCH": parse_search,
    "SORT": parse_sort,
    "THREAD": parse_thread,
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy,
    "MOVE": _copy,
    "IDLE": _no_args,
    "NAMESPACE": _no_args,
    "ID": _id,
    "ENABLE": _enable,
    "CANCELUPDATE": _cancelupdate,
    "NOTIFY": parse_notify,
    "COMPRESS": _compress,
    "GETQUOTA": _mailbox,
    "GETQUOTAROOT": _mailbox,
    "GENURLAUTH": parse_genurlauth,
    "RESETKEY": parse_resetkey,
    "URLFETCH": parse_urlfetch,
}
UID_GRAMMAR: dict[str, Callable[[Cursor], Args]] = {
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy,
    "MOVE": _copy,
    "SEARCH": parse_search,
    "SORT": parse_sort,
    "THREAD": parse_thread,
    "EXPUNGE": _sequence,
}


def parse_command(data: bytes) -> Command:
    """Parse one complete command (without its final CRLF); raises ParseError."""
    cur = Cursor(data)
    if not data.strip():
        raise cur.error("empty command")
    cur.tag = peek_tag(data)
    if cur.tag is None:
        raise cur.error("missing or invalid tag")
    cur.pos = len(cur.tag) + 1
    name = cur.take(ATOM_CHARS, "a command name").upper()
    uid = name == "UID"
    grammar = GRAMMAR
    if uid:
        cur.sp()
        name = cur.take(ATOM_CHARS, "a UID command").upper()
        grammar = UID_GRAMMAR
    parse_args = grammar.get(name)
    if parse_args is None:
        shown = f"UID {name}" if uid else name
        raise UnknownCommand(f"unknown command {shown[:40]}", tag=cur.tag)
    try:
        args = parse_args(cur)
    except RecursionError:
        raise cur.error("command nested too deeply") from None
    return Command(tag=cur.tag, name=name, args=args, uid=uid)
