"""A ManageSieve server (RFC 5804) over the per-user script storage.

One asyncio task per connection; passwords, the login throttle and every database call
run in threads. STARTTLS uses the IMAP certificate; AUTHENTICATE offers PLAIN only over
TLS, or on loopback when ``imap.plaintext_auth`` allows it (the IMAP policy). Commands:
CAPABILITY, STARTTLS, AUTHENTICATE, LOGOUT, NOOP, HAVESPACE, PUTSCRIPT, CHECKSCRIPT,
LISTSCRIPTS, SETACTIVE, GETSCRIPT, DELETESCRIPT, RENAMESCRIPT, UNAUTHENTICATE.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import logging
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

from mailrs.accounts.throttle import LoginThrottle
from mailrs.accounts.users import AuthFailed, authenticate
from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.sieve import storage
from mailrs.sieve.grammar import SUPPORTED, check_script

log = logging.getLogger(__name__)
T = TypeVar("T")


class ProtocolError(Exception):
    """A malformed command: answered NO (or BYE when the line cannot be read)."""


def quote(text: str) -> str:
    """A ManageSieve quoted string (a literal is used by the caller for long texts)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(text: str) -> bytes:
    """A server-to-client literal."""
    data = text.encode()
    return b"{%d}\r\n%s" % (len(data), data)


class Connection:
    """One client connection's state and command loop."""

    def __init__(
        self,
        server: ManageSieveServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server, self.reader, self.writer = server, reader, writer
        peer = writer.get_extra_info("peername")
        self.ip = str(peer[0]) if peer else ""
        self.tls = False
        self.user: str | None = None

    # -- reading ---------------------------------------------------------------------

    async def _line(self) -> bytes:
        """One CRLF-terminated line (without it); EOFError at the end of the stream."""
        try:
            line = await asyncio.wait_for(
                self.reader.readuntil(b"\n"), self.server.settings.sieve.timeout_secs
            )
        except asyncio.IncompleteReadError as exc:
            raise EOFError from exc
        except asyncio.LimitOverrunError as exc:
            raise ProtocolError("line too long") from exc
        return line.rstrip(b"\r\n")

    async def read_command(self) -> list[str]:
        """A command line as words: atoms, quoted strings and literals."""
        words: list[str] = []
        line = await self._line()
        limit = self.server.settings.sieve.max_script_bytes
        while True:
            rest, pending = _tokens(line, words)
            if pending is None:
                return words
            if pending > limit + 1024:
                raise ProtocolError("literal too large")
            data = await self.reader.readexactly(pending)
            words.append(data.decode("utf-8", "replace"))
            line = rest + await self._line()

    # -- writing ---------------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        """Write and drain."""
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self, status: str, text: str = "", code: str = "") -> None:
        """OK/NO/BYE with an optional response code and human-readable text."""
        parts = [status]
        if code:
            parts.append(f"({code})")
        if text:
            parts.append(quote(text))
        await self.send((" ".join(parts) + "\r\n").encode())

    async def capabilities(self) -> None:
        """The capability response (the greeting, CAPABILITY, after STARTTLS)."""
        lines = [
            '"IMPLEMENTATION" "mailrs"',
            f'"SIEVE" {quote(" ".join(SUPPORTED))}',
            f'"SASL" {quote("PLAIN" if self.plain_allowed() else "")}',
            '"VERSION" "1.0"',
        ]
        if self.server.tls_context is not None and not self.tls:
            lines.append('"STARTTLS"')
        if self.user is not None:
            lines.append(f'"OWNER" {quote(self.user)}')
        await self.send(("\r\n".join(lines) + "\r\nOK\r\n").encode())

    def plain_allowed(self) -> bool:
        """Whether a password may be sent now (TLS, or loopback by the IMAP policy)."""
        policy = self.server.settings.imap.plaintext_auth
        if self.tls or policy == "always":
            return True
        try:
            return policy == "loopback" and ipaddress.ip_address(self.ip).is_loopback
        except ValueError:
            return False

    # -- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until LOGOUT, EOF or an unreadable line."""
        await self.capabilities()
        while True:
            try:
                words = await self.read_command()
            except (TimeoutError, EOFError, ConnectionError):
                return
            except ProtocolError as exc:
                await self.reply("BYE", str(exc))
                return
            if not words:
                await self.reply("NO", "empty command")
                continue
            name, args = words[0].upper(), words[1:]
            try:
                if not await self.dispatch(name, args):
                    return
            except storage.ScriptError as exc:
                await self.reply("NO", str(exc), exc.code)
            except ProtocolError as exc:
                await self.reply("NO", str(exc))

    async def dispatch(self, name: str, args: list[str]) -> bool:
        """Run one command; False ends the connection."""
        if name == "LOGOUT":
            await self.reply("OK", "bye")
            return False
        if name == "NOOP":
            tag = f"TAG {quote(args[0])}" if args else ""
            await self.reply("OK", "done", tag)
        elif name == "CAPABILITY":
            await self.capabilities()
        elif name == "STARTTLS":
            await self.starttls()
        elif name == "AUTHENTICATE":
            await self.authenticate(args)
        elif name == "UNAUTHENTICATE" and self.user is not None:
            self.user = None
            await self.reply("OK")
        elif self.user is None:
            await self.reply("NO", f"{name}: log in first" if name.isalpha() else "unknown command")
        else:
            await self.script_command(name, args)
        return True

    async def starttls(self) -> None:
        """Upgrade to TLS and send the capabilities again (RFC 5804 section 2.2)."""
        if self.server.tls_context is None or self.tls:
            await self.reply("NO", "STARTTLS not available")
            return
        await self.reply("OK", "begin TLS negotiation")
        await self.writer.start_tls(self.server.tls_context)
        self.tls = True
        await self.capabilities()

    async def authenticate(self, args: list[str]) -> None:
        """AUTHENTICATE "PLAIN" [initial-response] through the shared login throttle."""
        if self.user is not None:
            await self.reply("NO", "already authenticated")
            return
        if not args or args[0].upper() != "PLAIN" or not self.plain_allowed():
            await self.reply("NO", "mechanism not available", "ENCRYPT-NEEDED")
            return
        if len(args) > 1:
            response = args[1]
        else:
            await self.send(b'""\r\n')
            words = await self.read_command()
            response = words[0] if words else ""
        if response == "*":
            await self.reply("NO", "authentication cancelled")
            return
        try:
            fields = base64.b64decode(response, validate=True).split(b"\0")
            _, login, password = (f.decode() for f in fields)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            await self.reply("NO", "malformed PLAIN response")
            return
        user = await self.server.login(login, password, self.ip)
        if user is None:
            await self.reply("NO", "authentication failed")
            return
        self.user = user
        await self.reply("OK", "logged in")

    async def script_command(self, name: str, args: list[str]) -> None:
        """The script commands of an authenticated session."""
        user = self.user
        assert user is not None

        def need(count: int) -> None:
            if len(args) != count:
                raise ProtocolError(f"{name} takes {count} argument(s)")

        if name == "LISTSCRIPTS":
            need(0)
            rows = await self.server.call(lambda s: storage.list_scripts(s, user))
            out = "".join(f"{quote(n)}{' ACTIVE' if a else ''}\r\n" for n, a in rows)
            await self.send(out.encode() + b'OK "listed"\r\n')
        elif name == "GETSCRIPT":
            need(1)
            text = await self.server.call(lambda s: storage.get_script(s, user, args[0]))
            await self.send(literal(text) + b'\r\nOK "done"\r\n')
        elif name == "PUTSCRIPT":
            need(2)
            await self.server.call(lambda s: storage.put_script(s, user, args[0], args[1]), True)
            await self.reply("OK", "stored")
        elif name == "CHECKSCRIPT":
            need(1)
            reason = await asyncio.to_thread(check_script, args[0])
            await (self.reply("NO", reason) if reason else self.reply("OK", "valid"))
        elif name == "HAVESPACE":
            need(2)
            if not args[1].isdigit():
                raise ProtocolError("HAVESPACE: size must be a number")
            size = int(args[1])
            storage.check_name(args[0])
            fits = await self.server.call(lambda s: storage.have_space(s, user, args[0], size))
            await (self.reply("OK") if fits else self.reply("NO", "too big", "QUOTA/MAXSIZE"))
        elif name == "SETACTIVE":
            need(1)
            await self.server.call(lambda s: storage.set_active(s, user, args[0]), True)
            await self.reply("OK", "active script set")
        elif name == "DELETESCRIPT":
            need(1)
            await self.server.call(lambda s: storage.delete_script(s, user, args[0]), True)
            await self.reply("OK", "deleted")
        elif name == "RENAMESCRIPT":
            need(2)
            await self.server.call(lambda s: storage.rename_script(s, user, args[0], args[1]), True)
            await self.reply("OK", "renamed")
        else:
            await self.reply("NO", "unknown command")


def _tokens(line: bytes, words: list[str]) -> tuple[bytes, int | None]:
    """Add the words of ``line`` to ``words``; a trailing literal's size is returned."""
    i, n = 0, len(line)
    while i < n:
        ch = line[i : i + 1]
        if ch == b" ":
            i += 1
        elif ch == b'"':
            out = bytearray()
            i += 1
            while i < n and line[i : i + 1] != b'"':
                if line[i : i + 1] == b"\\" and i + 1 < n:
                    i += 1
                out += line[i : i + 1]
                i += 1
            if i >= n:
                raise ProtocolError("unterminated string")
            words.append(out.decode("utf-8", "replace"))
            i += 1
        elif ch == b"{":
            end = line.find(b"}", i)
            size = line[i + 1 : end].rstrip(b"+") if end > 0 else b""
            if end != n - 1 or not size.isdigit():
                raise ProtocolError("bad literal")
            return b"", int(size)
        else:
            end = line.find(b" ", i)
            end = n if end < 0 else end
            words.append(line[i:end].decode("utf-8", "replace"))
            i = end
    return b"", None


class ManageSieveServer:
    """The listener, its database and login throttle."""

    def __init__(self, settings: Settings, tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.db = Database.from_settings(settings)
        self.throttle = LoginThrottle(settings)
        self.tls_context = tls_context

    async def call(self, work: Callable[[Any], T], commit: bool = False) -> T:
        """Run ``work(session)`` in a thread (committing when asked)."""

        def job() -> T:
            with self.db.session() as session:
                result = work(session)
                if commit:
                    session.commit()
                return result

        return await asyncio.to_thread(job)

    async def login(self, login: str, password: str, ip: str) -> str | None:
        """The account's address when the password is right and the throttle allows it."""
        decision = await asyncio.to_thread(self.throttle.begin, login, ip)
        if decision.delay:
            await asyncio.sleep(decision.delay)
        if decision.blocked:
            return None
        try:
            user = await self.call(lambda s: authenticate(s, login, password))
        except AuthFailed:
            await asyncio.to_thread(self.throttle.failed, login, ip, decision)
            return None
        await asyncio.to_thread(self.throttle.succeeded, login, ip)
        return user.address

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection, then close it."""
        try:
            await Connection(self, reader, writer).run()
        except Exception:  # one client's trouble never stops the server
            log.exception("managesieve connection failed")
        finally:
            writer.close()

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen on host:port."""
        limit = self.settings.sieve.max_line_bytes
        return await asyncio.start_server(self.handle, host, port, limit=limit)
