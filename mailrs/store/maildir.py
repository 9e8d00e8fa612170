"""The Maildir++ store: atomic delivery, listing, reading, flags, move and expunge.

Layout: ``<base>/<domain>/<local>/{cur,new,tmp}`` with folders ``.Sent``, ``.Drafts``,
``.Trash``, ``.Junk``, ``.Archive``. File names follow the Maildir specification
(``<time>.M<usec>P<pid>Q<n>R<rand>.<host>,S=<size>``; flags after ``:2,``), so Python's
``mailbox.Maildir``, Dovecot and mutt read what we write, and we read what they write.
A message's *key* is its file name without the ``:2,`` info; it never changes (the
names themselves are made in ``mailrs.store.filenames``).
Finding a key means scanning ``cur/``, so the message methods also take the file name
an index last saw (``filename=``): it is tried first, and the scan only runs when that
hint is stale. All methods are blocking: async callers run them in a thread. Only the mailbox
service (``mailrs.store.mailbox``) and the index call it to change a mailbox.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mailrs.addresses import normalize_user_address
from mailrs.errors import (
    InvalidMailboxName,
    MailboxExists,
    MailboxNotFound,
    MessageNotFound,
)
from mailrs.store.filenames import (
    INFO_SEP,
    hint_relpath,
    is_plain_name,
    normalize_flags,
    split_filename,
    unique_name,
)
from mailrs.store.folder_sync import fsync_dir
from mailrs.store.names import (
    INBOX,
    SPECIAL_FOLDERS,
    folder_dirname,
    mailbox_from_dirname,
    normalize_mailbox_name,
)


@dataclass(frozen=True)
class StoredMessage:
    """One message file as it is now on disk."""

    key: str
    filename: str
    subdir: str  # "new" or "cur"
    flags: str
    size: int
    mtime: float

    @property
    def relpath(self) -> str:
        """Path relative to the folder directory."""
        return f"{self.subdir}/{self.filename}"


def _make_maildir(path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True, mode=0o700)


class MaildirStore:
    """Every user's Maildir under one base directory."""

    def __init__(self, base: Path | str) -> None:
        self.base = Path(base)
        # folder -> checked (resolving both paths costs a lstat per component); and
        # (address, mailbox) -> folder: building it cost more than the stat that follows
        self._inside: dict[Path, bool] = {}
        self._paths: dict[tuple[str, str], Path] = {}

    # -- users --------------------------------------------------------------------------

    def user_dir(self, address: str) -> Path:
        """The Maildir of a user (not created)."""
        normalized = normalize_user_address(address)
        local, _, domain = normalized.rpartition("@")
        # parse_address() has already refused '/', NUL and other path tricks
        return self.base / domain / local

    def create_user(self, address: str) -> Path:
        """Create a user's Maildir with the special folders; harmless if it exists."""
        root = self.user_dir(address)
        _make_maildir(root)
        for name in SPECIAL_FOLDERS:
            self._create_folder_dir(root / folder_dirname(name))
        return root

    def user_exists(self, address: str) -> bool:
        """True when the user's Maildir exists."""
        return (self.user_dir(address) / "cur").is_dir()

    def remove_user(self, address: str) -> None:
        """Delete a user's Maildir and everything in it."""
        import shutil

        root = self.user_dir(address)
        if root.exists():
            shutil.rmtree(root)

    # -- folders ------------------------------------------------------------------------

    def folder_path(self, address: str, mailbox: str = INBOX, must_exist: bool = True) -> Path:
        """The directory of a mailbox; raises MailboxNotFound if asked to and missing."""
        path = self._paths.get((address, mailbox))
        if path is None:
            root = self.user_dir(address)
            path = root / folder_dirname(mailbox)
            if len(self._inside) > 10_000 or len(self._paths) > 10_000:
                self._inside, self._paths = {}, {}
            inside = self._inside.get(path)
            if inside is None:
                inside = self._inside[path] = path.resolve().parent == root.resolve()
            if not inside and path != root:
                raise InvalidMailboxName(f"mailbox {mailbox!r} is outside the user's directory")
            self._paths[(address, mailbox)] = path
        if must_exist and not os.path.isdir(os.path.join(path, "cur")):
            raise MailboxNotFound(f"no mailbox {mailbox!r}")
        return path

    def list_folders(self, address: str) -> list[str]:
        """Every mailbox of the user, INBOX first, then sorted."""
        root = self.user_dir(address)
        if not (root / "cur").is_dir():
            raise MailboxNotFound(f"no Maildir for {address}")
        names = []
        for entry in os.scandir(root):
            if entry.is_dir():
                name = mailbox_from_dirname(entry.name)
                if name and os.path.isdir(os.path.join(entry.path, "cur")):
                    names.append(name)
        return [INBOX, *sorted(names)]

    def create_folder(self, address: str, mailbox: str) -> str:
        """Create a mailbox; raises MailboxExists if it is already there."""
        canonical = normalize_mailbox_name(mailbox)
        path = self.folder_path(address, canonical, must_exist=False)
        if canonical == INBOX or (path / "cur").is_dir():
            raise MailboxExists(f"mailbox {canonical!r} exists")
        self._create_folder_dir(path)
        return canonical

    def _create_folder_dir(self, path: Path) -> None:
        _make_maildir(path)
        marker = path / "maildirfolder"
        if not marker.exists():
            marker.touch()

    # -- messages -----------------------------------------------------------------------

    def deliver(
        self,
        address: str,
        data: bytes,
        mailbox: str = INBOX,
        flags: str = "",
        key: str | None = None,
        mtime: float | None = None,
        check_existing: bool = False,
        unsynced: list[Path] | None = None,
    ) -> StoredMessage:
        """Write a message atomically: tmp, fsync, then link into new/ (cur/ with flags).

        With an explicit ``key`` the delivery is idempotent: a second delivery with the
        same key into new/ never makes a second file, and with ``check_existing`` a file
        with that key already in cur/ (flags changed since) is found and returned.
        The file's bytes are on disk before its name appears; the folder that holds the
        name is then fsynced, unless ``unsynced`` is given: the folder is added to it and
        the caller syncs each folder once for a batch (``sync_folders``) before it
        records the copies as delivered.
        """
        folder = self.folder_path(address, mailbox)
        base = key or unique_name()
        filename = f"{base},S={len(data)}" if ",S=" not in base else base
        if key is not None and check_existing:
            existing = self.find(folder, filename)
            if existing is not None:
                return existing
        tmp_path = folder / "tmp" / filename
        with open(tmp_path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mtime is not None:
            os.utime(tmp_path, (mtime, mtime))
        flags = normalize_flags(flags)
        subdir = "cur" if flags else "new"
        final_name = f"{filename}{INFO_SEP}{flags}" if flags else filename
        final = folder / subdir / final_name
        # Stat the file now: once linked into new/, an IMAP session may move it to cur/.
        stat = tmp_path.stat()
        try:
            os.link(tmp_path, final)
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                stat = final.stat()  # the same key delivered concurrently: keep the first copy
        finally:
            os.unlink(tmp_path)
        if unsynced is None:
            fsync_dir(folder / subdir)
        else:
            unsynced.append(folder / subdir)
        return StoredMessage(filename, final_name, subdir, flags, stat.st_size, stat.st_mtime)

    def list_messages(self, address: str, mailbox: str = INBOX) -> list[StoredMessage]:
        """Every message of a mailbox, oldest first (by mtime, then name)."""
        folder = self.folder_path(address, mailbox)
        return sorted(self.scan(folder), key=lambda m: (m.mtime, m.key))

    @staticmethod
    def scan(folder: Path) -> list[StoredMessage]:
        """List the message files of a folder directory."""
        found = []
        for subdir in ("new", "cur"):
            try:
                entries = list(os.scandir(folder / subdir))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    stat = entry.stat()
                except FileNotFoundError:
                    continue  # renamed or removed by someone else meanwhile
                key, flags = split_filename(entry.name)
                if subdir == "new":
                    flags = ""
                found.append(
                    StoredMessage(key, entry.name, subdir, flags, stat.st_size, stat.st_mtime)
                )
        return found

    @staticmethod
    def find(folder: Path, key: str) -> StoredMessage | None:
        """Locate a message by key in new/ or cur/ (a scan of cur/)."""
        if not is_plain_name(key):
            return None
        candidate = folder / "new" / key
        try:
            stat = candidate.stat()
            return StoredMessage(key, key, "new", "", stat.st_size, stat.st_mtime)
        except FileNotFoundError:
            pass
        prefix = key + INFO_SEP
        try:
            entries = os.scandir(folder / "cur")
        except FileNotFoundError:
            return None
        with entries:
            for entry in entries:
                if entry.name == key or entry.name.startswith(prefix):
                    try:
                        stat = entry.stat()
                    except FileNotFoundError:
                        return None
                    _, flags = split_filename(entry.name)
                    return StoredMessage(key, entry.name, "cur", flags, stat.st_size, stat.st_mtime)
        return None

    @staticmethod
    def _hinted(key: str, filename: str | None) -> str | None:
        """The relative path a hint names; None without a hint or for an invalid key."""
        if filename is None or not is_plain_name(key):
            return None  # an invalid key is simply not found, as find() has it
        return hint_relpath(key, filename)

    @classmethod
    def locate(cls, folder: Path, key: str, filename: str | None = None) -> StoredMessage | None:
        """Like find(), but the file name ``filename`` is tried first (one stat, no scan).

        Raises ValueError when ``filename`` is not a file name of ``key``.
        """
        relpath = cls._hinted(key, filename)
        if relpath is not None and filename is not None:
            try:
                stat = (folder / relpath).stat()
            except FileNotFoundError:
                pass  # stale: renamed or removed by someone else; look it up
            else:
                subdir = relpath.partition("/")[0]
                flags = split_filename(filename)[1] if subdir == "cur" else ""
                return StoredMessage(key, filename, subdir, flags, stat.st_size, stat.st_mtime)
        return cls.find(folder, key)

    def _open(self, folder: Path, mailbox: str, key: str, filename: str | None) -> BinaryIO:
        """Open a message file for reading; survives a concurrent rename by looking again."""
        relpath = self._hinted(key, filename)
        if relpath is not None:
            try:
                return open(folder / relpath, "rb")
            except FileNotFoundError:
                pass  # stale hint: fall back to the scan
        for _ in range(3):
            found = self.find(folder, key)
            if found is None:
                break
            try:
                return open(folder / found.relpath, "rb")
            except FileNotFoundError:
                continue
        raise MessageNotFound(f"no message {key!r} in {mailbox!r}")

    def get(
        self, address: str, mailbox: str, key: str, filename: str | None = None
    ) -> StoredMessage:
        """The current file of a message; raises MessageNotFound."""
        found = self.locate(self.folder_path(address, mailbox), key, filename)
        if found is None:
            raise MessageNotFound(f"no message {key!r} in {mailbox!r}")
        return found

    def read(self, address: str, mailbox: str, key: str, filename: str | None = None) -> bytes:
        """The bytes of a message; ``filename``, the name last seen, spares the scan of cur/."""
        with self._open(self.folder_path(address, mailbox), mailbox, key, filename) as fh:
            return fh.read()

    def read_head(
        self,
        address: str,
        mailbox: str,
        key: str,
        limit: int = 65536,
        filename: str | None = None,
    ) -> bytes:
        """At most ``limit`` bytes from the start of a message, e.g. for its headers."""
        if limit < 0:
            raise ValueError("limit must not be negative")
        with self._open(self.folder_path(address, mailbox), mailbox, key, filename) as fh:
            return fh.read(limit)

    def set_flags(
        self, address: str, mailbox: str, key: str, flags: str, filename: str | None = None
    ) -> StoredMessage:
        """Replace a message's flags; the file moves to cur/ with the new info suffix."""
        folder = self.folder_path(address, mailbox)
        flags = normalize_flags(flags)
        new_name = f"{key}{INFO_SEP}{flags}"
        hint = filename
        for _ in range(3):
            found = self.locate(folder, key, hint)
            hint = None  # a retry means someone renamed it: scan
            if found is None:
                break
            if found.subdir == "cur" and found.filename == new_name:
                return found
            try:
                os.rename(folder / found.relpath, folder / "cur" / new_name)
            except FileNotFoundError:
                continue
            return StoredMessage(key, new_name, "cur", flags, found.size, found.mtime)
        raise MessageNotFound(f"no message {key!r} in {mailbox!r}")

    def move(
        self,
        address: str,
        key: str,
        source: str,
        destination: str,
        filename: str | None = None,
    ) -> StoredMessage:
        """Move a message to another mailbox, keeping its key, flags and date."""
        src = self.folder_path(address, source)
        dst = self.folder_path(address, destination)
        found = self.locate(src, key, filename)
        if found is None:
            raise MessageNotFound(f"no message {key!r} in {source!r}")
        target = dst / found.subdir / found.filename
        os.rename(src / found.relpath, target)
        return StoredMessage(
            key, found.filename, found.subdir, found.flags, found.size, found.mtime
        )

    def delete(self, address: str, mailbox: str, key: str, filename: str | None = None) -> None:
        """Remove one message for good."""
        folder = self.folder_path(address, mailbox)
        found = self.locate(folder, key, filename)
        if found is None:
            raise MessageNotFound(f"no message {key!r} in {mailbox!r}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(folder / found.relpath)

    def expunge(self, address: str, mailbox: str = INBOX) -> list[str]:
        """Remove every message flagged T (\\Deleted); returns their keys."""
        folder = self.folder_path(address, mailbox)
        removed = []
        for message in self.scan(folder):
            if "T" in message.flags:
                try:
                    os.unlink(folder / message.relpath)
                except FileNotFoundError:
                    continue
                removed.append(message.key)
        return removed

    # -- copies and folder changes (IMAP COPY, RENAME, DELETE) ---------------------------

    def copy(
        self,
        address: str,
        key: str,
        source: str,
        destination: str,
        filename: str | None = None,
        flags: str | None = None,
    ) -> StoredMessage:
        """Copy a message under a new key (a hard link when possible), keeping its date."""
        src = self.folder_path(address, source)
        dst = self.folder_path(address, destination)
        found = self.locate(src, key, filename)
        if found is None:
            raise MessageNotFound(f"no message {key!r} in {source!r}")
        letters = normalize_flags(found.flags if flags is None else flags)
        base = f"{unique_name()},S={found.size}"
        final_name = f"{base}{INFO_SEP}{letters}"
        target = dst / "cur" / final_name
        try:
            os.link(src / found.relpath, target)
        except FileNotFoundError:
            raise MessageNotFound(f"no message {key!r} in {source!r}") from None
        except OSError:
            with open(src / found.relpath, "rb") as fh:
                data = fh.read()
            return self.deliver(address, data, destination, letters or "P", mtime=found.mtime)
        return StoredMessage(base, final_name, "cur", letters, found.size, found.mtime)

    def rename_folder(self, address: str, old: str, new: str) -> list[tuple[str, str]]:
        """Rename a mailbox and its children; returns the (old, new) names renamed."""
        old_name, new_name = normalize_mailbox_name(old), normalize_mailbox_name(new)
        root = self.user_dir(address)
        if old_name == INBOX:
            raise InvalidMailboxName("INBOX is renamed by moving its messages")
        source = self.folder_path(address, old_name)
        target = self.folder_path(address, new_name, must_exist=False)
        if new_name == INBOX or target.exists():
            raise MailboxExists(f"mailbox {new_name!r} exists")
        prefix = folder_dirname(old_name) + "."
        children = [e.name for e in os.scandir(root) if e.is_dir() and e.name.startswith(prefix)]
        pairs = [(source.name, target.name)]
        pairs += [
            (child, folder_dirname(new_name) + child[len(folder_dirname(old_name)) :])
            for child in children
        ]
        for _before, after in pairs:
            if (root / after).exists():
                raise MailboxExists(f"mailbox {mailbox_from_dirname(after)!r} exists")
        renamed = []
        for before, after in pairs:
            os.rename(root / before, root / after)
            renamed.append((mailbox_from_dirname(before) or "", mailbox_from_dirname(after) or ""))
        return renamed

    def delete_folder(self, address: str, mailbox: str) -> None:
        """Remove a mailbox and its messages (never INBOX; children stay)."""
        import shutil

        name = normalize_mailbox_name(mailbox)
        if name == INBOX:
            raise InvalidMailboxName("INBOX cannot be deleted")
        path = self.folder_path(address, name)
        shutil.rmtree(path)

    def read_many(
        self, address: str, mailbox: str, messages: list[tuple[str, str | None]]
    ) -> list[bytes | None]:
        """The bytes of several (key, file name hint) messages; None for a vanished one."""
        folder = self.folder_path(address, mailbox)
        base = str(folder)
        out: list[bytes | None] = []
        for key, filename in messages:
            relpath = self._hinted(key, filename)
            if relpath is not None:
                try:
                    fd = os.open(f"{base}/{relpath}", os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    pass  # stale hint: look it up below
                else:
                    try:
                        chunks = []
                        while chunk := os.read(fd, 1 << 20):
                            chunks.append(chunk)
                    finally:
                        os.close(fd)
                    out.append(b"".join(chunks))
                    continue
            try:
                with self._open(folder, mailbox, key, filename) as fh:
                    out.append(fh.read())
            except MessageNotFound:
                out.append(None)
        return out
