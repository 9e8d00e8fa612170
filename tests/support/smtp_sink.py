"""A real SMTP server on loopback for outbound tests (aiosmtpd), with scripted replies.

Replies can be set per recipient (``rcpt_replies``), for MAIL (``mail_reply``) and DATA
(``data_reply``), and for the first N transactions only (``fail_first``: that many
sessions get ``fail_reply`` to MAIL). STARTTLS and AUTH are optional. Every accepted
message is kept in ``messages`` with its envelope and whether TLS and AUTH were used.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailrs.tls import server_context, write_selfsigned


@dataclass
class Received:
    """One message the sink accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    auth: str | None


@dataclass
class Script:
    """What the sink answers."""

    rcpt_replies: dict[str, str] = field(default_factory=dict)
    mail_reply: str = ""
    data_reply: str = ""
    fail_first: int = 0
    fail_reply: str = "451 4.3.0 try again later"


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

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
    ) -> None:
        self.port = port
        self.script = script or Script()
        self.messages: list[Received] = []
        self.transactions = 0
        self.lock = threading.Lock()
        context: ssl.SSLContext | None = None
        if tls_dir is not None:
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
        self.controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=port,
            server_hostname="sink.test",
            tls_context=context,
            decode_data=False,
            enable_SMTPUTF8=smtputf8,
            **kwargs,
        )

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.controller.stop()
