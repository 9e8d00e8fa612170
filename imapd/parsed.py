"""What the command parser produces: ``Command`` and the argument object of each command.

Plain frozen dataclasses with no behaviour beyond naming themselves in responses; the
command handlers in ``imapd.commands`` read them, the grammar modules build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from imapd.sequences import SequenceSet


@dataclass(frozen=True)
class NoArgs:
    """Arguments of a command that takes none."""


@dataclass(frozen=True)
class LoginArgs:
    """LOGIN user password."""

    username: str
    password: str


@dataclass(frozen=True)
class AuthenticateArgs:
    """AUTHENTICATE mechanism [initial-response]."""

    mechanism: str
    initial: str | None = None


@dataclass(frozen=True)
class Qresync:
    """SELECT's ``(QRESYNC (uidvalidity modseq [known-uids] [(seqs uids)]))`` (RFC 7162)."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True)
class MailboxArgs:
    """A command whose one argument is a mailbox name (as sent: modified UTF-7)."""

    mailbox: str
    condstore: bool = False  # SELECT/EXAMINE mailbox (CONDSTORE)
    qresync: Qresync | None = None  # SELECT/EXAMINE mailbox (QRESYNC (...))


@dataclass(frozen=True)
class RenameArgs:
    """RENAME existing new."""

    old: str
    new: str


@dataclass(frozen=True)
class ListArgs:
    """LIST/LSUB reference pattern, and LIST-EXTENDED's options (RFC 5258, 5819, 6154)."""

    reference: str
    pattern: str
    extended: bool = False  # selection or return options, or several patterns, were given
    patterns: tuple[str, ...] = ()  # every pattern (``pattern`` is the first)
    selection: tuple[str, ...] = ()  # SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE
    returns: tuple[str, ...] = ()  # SUBSCRIBED CHILDREN SPECIAL-USE STATUS
    status_items: tuple[str, ...] = ()  # RETURN (STATUS (items)), LIST-STATUS


@dataclass(frozen=True)
class StatusArgs:
    """STATUS mailbox (items)."""

    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class AppendItem:
    """One message of APPEND: [(flags)] [date-time] and its data.

    The data is a list of parts joined in order: bytes from a literal (or CATENATE's
    TEXT) and str for a CATENATE URL (RFC 4469); ``binary`` is set for a literal8.
    """

    flags: tuple[str, ...]
    date: float | None
    parts: tuple[bytes | str, ...]
    zone: int | None = None  # the date-time's zone, minutes east of UTC
    binary: bool = False
    utf8: bool = False  # ``UTF8 (literal8)`` (RFC 6855)


@dataclass(frozen=True)
class AppendArgs:
    """APPEND mailbox message... (MULTIAPPEND, RFC 3502: one or more messages)."""

    mailbox: str
    items: tuple[AppendItem, ...]


@dataclass(frozen=True)
class Section:
    """A BODY[...] section: part numbers, then "", HEADER, HEADER.FIELDS[.NOT], TEXT or MIME."""

    specifier: str = ""
    part: tuple[int, ...] = ()
    fields: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The section as written in a FETCH response."""
        parts = [".".join(str(n) for n in self.part)] if self.part else []
        if self.specifier:
            parts.append(self.specifier)
        text = ".".join(parts)
        if self.fields:
            text += " (" + " ".join(self.fields) + ")"
        return text


@dataclass(frozen=True)
class FetchItem:
    """One FETCH data item: a simple name, or BODY with a section and maybe a partial range."""

    name: str
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int] | None = None

    @property
    def response_name(self) -> str:
        """How the item is named in the FETCH response (never ``.PEEK``)."""
        if self.section is None:
            return self.name
        name = f"{self.name}[{self.section.text}]"
        return name if self.partial is None else f"{name}<{self.partial[0]}>"


@dataclass(frozen=True)
class FetchArgs:
    """FETCH sequence-set items [(CHANGEDSINCE n [VANISHED])]."""

    sequence: SequenceSet
    items: tuple[FetchItem, ...]
    changedsince: int | None = None
    vanished: bool = False  # UID FETCH's VANISHED modifier (RFC 7162 3.2.6)


@dataclass(frozen=True)
class StoreArgs:
    """STORE sequence-set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] flags."""

    sequence: SequenceSet
    mode: str  # "+", "-" or "" (replace)
    silent: bool
    flags: tuple[str, ...]
    unchangedsince: int | None = None


@dataclass(frozen=True)
class CopyArgs:
    """COPY/MOVE sequence-set mailbox."""

    sequence: SequenceSet
    mailbox: str


@dataclass(frozen=True)
class SequenceArgs:
    """A command whose one argument is a sequence set (UID EXPUNGE)."""

    sequence: SequenceSet


@dataclass(frozen=True)
class SearchKey:
    """One search key: its name and arguments (other keys for NOT, OR and lists)."""

    op: str
    args: tuple[object, ...] = ()


@dataclass(frozen=True)
class Returns:
    """RETURN (...) of ESEARCH/ESORT: MIN MAX ALL COUNT SAVE, and PARTIAL's range."""

    options: tuple[str, ...]
    partial: tuple[int, int] | None = None  # negative ends count from the last result


@dataclass(frozen=True)
class SearchArgs:
    """SEARCH [RETURN (...)] [CHARSET name] keys (the keys ANDed in ``criteria``)."""

    charset: str | None
    criteria: SearchKey
    returns: Returns | None = None


@dataclass(frozen=True)
class SortArgs:
    """SORT (criteria) charset keys: each criterion is (key, reversed)."""

    criteria: tuple[tuple[str, bool], ...]
    charset: str
    search: SearchKey
    returns: Returns | None = None


@dataclass(frozen=True)
class ThreadArgs:
    """THREAD algorithm charset keys."""

    algorithm: str
    charset: str
    search: SearchKey


@dataclass(frozen=True)
class AtomsArgs:
    """ENABLE capability... (upper-cased atoms)."""

    names: tuple[str, ...]


@dataclass(frozen=True)
class NotifyGroup:
    """One NOTIFY event group: a mailbox filter, its mailboxes and the events wanted."""

    kind: str  # SELECTED SELECTED-DELAYED INBOXES PERSONAL SUBSCRIBED SUBTREE MAILBOXES
    mailboxes: tuple[str, ...]  # SUBTREE / MAILBOXES names as sent
    events: tuple[str, ...]  # () for NONE
    fetch: tuple[FetchItem, ...] = ()  # MessageNew's FETCH items (selected mailbox only)


@dataclass(frozen=True)
class NotifyArgs:
    """NOTIFY SET [STATUS] groups (RFC 5465), or NOTIFY NONE (``groups`` None)."""

    groups: tuple[NotifyGroup, ...] | None
    status: bool = False


@dataclass(frozen=True)
class IdArgs:
    """ID (field value ...) or ID NIL."""

    fields: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True)
class GenUrlauthArgs:
    """GENURLAUTH rump mechanism ... (RFC 4467)."""

    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ResetKeyArgs:
    """RESETKEY [mailbox [mechanism ...]] (RFC 4467); ``mailbox`` None resets every key."""

    mailbox: str | None
    mechanisms: tuple[str, ...] = ()


@dataclass(frozen=True)
class UrlFetch:
    """One URLFETCH argument: the URL, and for the extended form (RFC 5524) what is
    wanted: upper-case BODY / BINARY / BODYPARTSTRUCTURE (``None``: the plain form)."""

    url: str
    params: tuple[str, ...] | None = None


@dataclass(frozen=True)
class UrlFetchArgs:
    """URLFETCH url ... (RFC 4467, RFC 5524)."""

    urls: tuple[UrlFetch, ...]


type Args = (
    NoArgs
    | LoginArgs
    | AuthenticateArgs
    | MailboxArgs
    | RenameArgs
    | ListArgs
    | StatusArgs
    | AppendArgs
    | FetchArgs
    | StoreArgs
    | CopyArgs
    | SequenceArgs
    | SearchArgs
    | SortArgs
    | ThreadArgs
    | AtomsArgs
    | NotifyArgs
    | IdArgs
    | GenUrlauthArgs
    | ResetKeyArgs
    | UrlFetchArgs
)


@dataclass(frozen=True)
class Command:
    """One parsed command."""

    tag: str
    name: str
    args: Args = field(default_factory=NoArgs)
    uid: bool = False

    @property
    def key(self) -> str:
        """The name the command table uses: ``FETCH`` or ``UID FETCH``."""
        return f"UID {self.name}" if self.uid else self.name
