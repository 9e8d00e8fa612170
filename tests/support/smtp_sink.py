"""A real SMTP server on loopback for outbound tests (aiosmtpd), with scripted replies.

Replies can be set per recipient (``rcpt_replies``), for MAIL (``mail_reply``) and DATA
(``data_reply``), and for the first N transactions only (``fail_first``: that many
sessions get ``fail_reply`` to MAIL). STARTTLS and AUTH are optional, and so are the DSN
and REQUIRETLS extensions (``dsn``, ``requiretls``: offered in EHLO, their MAIL and RCPT
parameters kept in ``Received.params``). Every accepted message is kept in ``messages``
with its envelope and whether TLS and AUTH were used.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from mailrs.tls import server_context, write_selfsigned


@dataclass
class Received:
    """One message the sink accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    auth: str | None
    params: list[str] = field(default_factory=list)  # DSN / REQUIRETLS words of MAIL and RCPT


@dataclass
class Script:
    """What the sink answers."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    mail_reply: str = ""
    data_reply: str = ""
    fail_first: int = 0
    fail_reply: str = "451 4.3.0 try again later"


EXTENSION_WORDS = ("RET=", "ENVID=", "NOTIFY=", "ORCPT=", "REQUIRETLS")


class _ExtendedSMTP(SMTP):
    """aiosmtpd with DSN and REQUIRETLS parameters taken off MAIL and RCPT (and kept)."""

    sink: SmtpSink

    def _take(self, arg: str | None, offered: tuple[str, ...]) -> str | None:
        if not arg:
            return arg
        words = arg.split(" ")
        taken = [w for w in words[1:] if w.upper().startswith(offered)]
        if taken:
            self.envelope.params = [*getattr(self.envelope, "params", []), *taken]  # type: ignore[union-attr]
        return " ".join(w for w in words if w not in taken)

    def _offered(self) -> tuple[str, ...]:
        words: tuple[str, ...] = ()
        if self.sink.dsn:
            words += EXTENSION_WORDS[:4]
        if self.sink.requiretls:
            words += EXTENSION_WORDS[4:]
        return words

    async def smtp_MAIL(self, arg: str | None) -> None:
        await super().smtp_MAIL(self._take(arg, self._offered()))

    async def smtp_RCPT(self, arg: str | None) -> None:
        await super().smtp_RCPT(self._take(arg, self._offered()))


class _Controller(Controller):
    sink: SmtpSink

    def factory(self) -> SMTP:
        server = _ExtendedSMTP(self.handler, **self.SMTP_kwargs)
        server.sink = self.sink
        return server


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        extra = ["250-DSN"] if self.sink.dsn else []
        if self.sink.requiretls and session.ssl is not None:
            extra.append("250-REQUIRETLS")
        return [*responses[:-1], *extra, responses[-1]]

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.sink.lock:
            self.sink.transactions += 1
            number = self.sink.transactions
        script = self.sink.script
        if number <= script.fail_first:
            return script.fail_reply
        if script.mail_reply:
            return script.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.sink.script.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.script.data_reply:
            return self.sink.script.data_reply
        auth = session.auth_data.login.decode() if session.auth_data else None
        with self.sink.lock:
            self.sink.messages.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content or envelope.content,
                    session.ssl is not None,
                    auth,
                    list(getattr(envelope, "params", [])),
                )
            )
        return "250 2.0.0 queued as SINK"


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 in a thread, for ``with`` blocks."""

    def __init__(
        self,
        port: int,
        script: Script | None = None,
        tls_dir: Path | None = None,
        credentials: tuple[str, str] | None = None,
        smtputf8: bool = True,
        dsn: bool = False,
        requiretls: bool = False,
        tls_pair: tuple[Path, Path] | None = None,
    ) -> None:
        self.port = port
        self.dsn = dsn
        self.requiretls = requiretls
        self.script = script or Script()
        self.messages: list[Received] = []
        self.transactions = 0
        self.lock = threading.Lock()
        context: ssl.SSLContext | None = None
        if tls_pair is not None:
            context = server_context(*tls_pair)
        elif tls_dir is not None:
            cert, key = write_selfsigned(tls_dir, "sink.test")
            context = server_context(cert, key)
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            user, password = credentials

            def authenticate(
                server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
            ) -> AuthResult:
                ok = isinstance(auth_data, LoginPassword) and (
                    auth_data.login.decode() == user and auth_data.password.decode() == password
                )
                return AuthResult(success=ok, handled=False, auth_data=auth_data)

            kwargs.update(authenticator=authenticate, auth_require_tls=tls_dir is not None)
        self.controller = _Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=port,
            server_hostname="sink.test",
            tls_context=context,
            decode_data=False,
            enable_SMTPUTF8=smtputf8,
            **kwargs,
        )
        self.controller.sink = self

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.controller.stop()
