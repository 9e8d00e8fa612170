"""One outbound SMTP transaction to one host, with per-recipient results (smtplib).

``send`` connects, says EHLO, upgrades with STARTTLS when offered (opportunistic: the
certificate is not verified, as for MX delivery; ``require`` refuses to go on without
it; ``verify`` asks for a certificate valid for the host name, as MTA-STS and
REQUIRETLS do), authenticates if asked, and sends MAIL, one RCPT per recipient and DATA.
The message's DSN request (RET, ENVID, NOTIFY, ORCPT) is passed on when the server
offers DSN, and REQUIRETLS only to a server that offers it. Replies are sorted per
recipient into accepted, temporary (4xx) and permanent (5xx). Trouble before any
recipient could be judged (no connection, a 4xx greeting, a dropped link, a TLS
requirement not met) raises ``HostUnavailable`` so the caller tries the next host.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

from mailrs.queue.envelope_params import orcpt_param, xtext_encode
from mailrs.tls import client_context

STATUS = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Reply:
    """An SMTP reply: code, enhanced status (RFC 3463) and text."""

    code: int
    text: str

    @property
    def status(self) -> str:
        """The enhanced status code of the reply, derived from the code when absent."""
        match = STATUS.match(self.text)
        if match:
            return ".".join(match.groups())
        return f"{self.code // 100}.0.0"

    @property
    def temporary(self) -> bool:
        """True for 4xx."""
        return 400 <= self.code < 500

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


@dataclass
class Outcome:
    """What one transaction did for each recipient."""

    host: str
    tls: bool = False
    dsn: bool = False  # the server offered DSN: the request went on with the message
    accepted: dict[str, Reply] = field(default_factory=dict)
    temporary: dict[str, Reply] = field(default_factory=dict)
    permanent: dict[str, Reply] = field(default_factory=dict)


class HostUnavailable(Exception):
    """This host could not take the message now (connection, greeting, TLS, 4xx MAIL).

    ``tls_failure`` names a TLS requirement the host did not meet, in TLS-RPT's words
    (RFC 8460 4.3: ``starttls-not-supported``, ``certificate-host-mismatch``, ...);
    ``requiretls`` is set when it does not offer REQUIRETLS to a message that needs it.
    """

    def __init__(
        self,
        reason: str,
        reply: Reply | None = None,
        tls_failed: bool = False,
        tls_failure: str = "",
        requiretls: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reply = reply
        self.tls_failed = tls_failed
        self.tls_failure = tls_failure
        self.requiretls = requiretls


@dataclass(frozen=True)
class Connection:
    """How to reach one host."""

    host: str
    address: str
    port: int
    helo: str
    tls: str = "starttls"  # none | starttls (opportunistic) | require | implicit
    username: str = ""
    password: str = ""
    connect_timeout: float = 30.0
    command_timeout: float = 300.0
    verify: bool = False  # STARTTLS required and the certificate valid for ``host``
    ca_file: str = ""  # more trusted roots for ``verify``


@dataclass(frozen=True)
class Request:
    """What a message asks of the next hop: its DSN parameters and REQUIRETLS."""

    ret: str = ""
    envid: str = ""
    require_tls: bool = False
    notify: Mapping[str, str] = field(default_factory=dict)  # by recipient
    orcpt: Mapping[str, str] = field(default_factory=dict)  # by recipient


CERT_FAILURES = {
    10: "certificate-expired",  # X509_V_ERR_CERT_HAS_EXPIRED
    62: "certificate-host-mismatch",  # X509_V_ERR_HOSTNAME_MISMATCH
    18: "certificate-not-trusted",  # self-signed
    19: "certificate-not-trusted",  # self-signed in chain
    20: "certificate-not-trusted",  # unknown issuer
    21: "certificate-not-trusted",  # cannot verify the first certificate
}


def _reply(code: int, text: bytes | str) -> Reply:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return Reply(code, " ".join(text.split())[:500])


def send(
    conn: Connection,
    sender: str,
    recipients: list[str],
    data: bytes,
    request: Request | None = None,
) -> Outcome:
    """Run one transaction; raises HostUnavailable if no recipient could be judged."""
    outcome = Outcome(host=conn.host)
    client = _connect(conn)
    try:
        _session(client, conn, outcome)
        _transaction(client, sender, recipients, data, outcome, request or Request())
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        raise HostUnavailable(f"{conn.host}[{conn.address}]: connection lost: {exc}") from None
    except smtplib.SMTPException as exc:  # any other protocol surprise: try the next host
        raise HostUnavailable(f"{conn.host}[{conn.address}]: {exc}") from None
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return outcome


def _connect(conn: Connection) -> smtplib.SMTP:
    cls = smtplib.SMTP_SSL if conn.tls == "implicit" else smtplib.SMTP
    kwargs = (
        {"context": client_context(verify=conn.verify, ca_file=conn.ca_file)}
        if conn.tls == "implicit"
        else {}
    )
    client = cls(local_hostname=conn.helo, timeout=conn.connect_timeout, **kwargs)  # type: ignore[arg-type]
    client._host = conn.host  # type: ignore[attr-defined]  # the TLS server name (SNI)
    where = f"{conn.host}[{conn.address}]:{conn.port}"
    try:
        code, text = client.connect(conn.address, conn.port)
    except (OSError, smtplib.SMTPException) as exc:
        client.close()
        raise HostUnavailable(f"{where}: cannot connect: {exc}") from None
    if client.sock is not None:
        client.sock.settimeout(conn.command_timeout)
    if code != 220:
        client.close()
        reply = _reply(code, text)
        raise HostUnavailable(f"{where}: greeting {reply}", reply)
    return client


def _session(client: smtplib.SMTP, conn: Connection, outcome: Outcome) -> None:
    code, text = client.ehlo()
    if code != 250:
        code, text = client.helo()
        if code != 250:
            raise HostUnavailable(f"{conn.host}: HELO refused: {_reply(code, text)}")
    outcome.tls = conn.tls == "implicit"
    if conn.verify and not client.has_extn("starttls"):
        raise HostUnavailable(
            f"{conn.host}: TLS is required but STARTTLS is not offered",
            tls_failure="starttls-not-supported",
        )
    if conn.tls in ("starttls", "require") and client.has_extn("starttls"):
        try:
            client.starttls(context=client_context(verify=conn.verify, ca_file=conn.ca_file))
        except ssl.SSLCertVerificationError as exc:
            failure = CERT_FAILURES.get(exc.verify_code, "validation-failure")
            raise HostUnavailable(
                f"{conn.host}: certificate refused: {exc.verify_message}", tls_failure=failure
            ) from None
        except (TimeoutError, ssl.SSLError, smtplib.SMTPException) as exc:
            failure = "validation-failure" if conn.verify else ""
            raise HostUnavailable(
                f"{conn.host}: STARTTLS failed: {exc}", tls_failed=True, tls_failure=failure
            ) from None
        client.ehlo()
        outcome.tls = True
    if conn.tls == "require" and not outcome.tls:
        raise HostUnavailable(f"{conn.host}: TLS is required but not offered")
    if conn.username:
        try:
            client.login(conn.username, conn.password)
        except smtplib.SMTPAuthenticationError as exc:
            reply = _reply(exc.smtp_code, exc.smtp_error)
            raise HostUnavailable(f"{conn.host}: AUTH refused: {reply}", reply) from None
        except smtplib.SMTPNotSupportedError:
            raise HostUnavailable(f"{conn.host}: AUTH is not offered") from None
        except smtplib.SMTPException as exc:
            raise HostUnavailable(f"{conn.host}: AUTH failed: {exc}") from None


def _transaction(
    client: smtplib.SMTP,
    sender: str,
    recipients: list[str],
    data: bytes,
    outcome: Outcome,
    request: Request,
) -> None:
    options: list[str] = []
    if request.require_tls:
        if not (outcome.tls and client.has_extn("requiretls")):
            raise HostUnavailable(
                f"{outcome.host}: the message needs REQUIRETLS, which this server does not offer",
                Reply(550, "5.7.30 REQUIRETLS support required"),
                requiretls=True,
            )
        options.append("REQUIRETLS")
    outcome.dsn = client.has_extn("dsn")
    if outcome.dsn and request.ret:
        options.append(f"RET={request.ret}")
    if outcome.dsn and request.envid:
        options.append(f"ENVID={xtext_encode(request.envid)}")
    if client.has_extn("size"):
        options.append(f"SIZE={len(data)}")
    if client.has_extn("8bitmime") and any(b > 127 for b in data):
        options.append("BODY=8BITMIME")
    if not all(a.isascii() for a in [sender, *recipients]):
        if not client.has_extn("smtputf8"):
            refused = Reply(553, "5.6.7 non-ASCII address and the server has no SMTPUTF8")
            outcome.permanent.update(dict.fromkeys(recipients, refused))
            return
        options.append("SMTPUTF8")
    code, text = client.mail(sender, options)
    reply = _reply(code, text)
    if code != 250:
        if reply.temporary or code < 400:
            raise HostUnavailable(f"{outcome.host}: MAIL FROM: {reply}", reply)
        outcome.permanent.update(dict.fromkeys(recipients, reply))
        client.rset()
        return
    taken = []
    for rcpt in recipients:
        rcpt_options = []
        if outcome.dsn and request.notify.get(rcpt):
            rcpt_options.append(f"NOTIFY={request.notify[rcpt]}")
        if outcome.dsn and request.orcpt.get(rcpt):
            rcpt_options.append(orcpt_param(request.orcpt[rcpt]))
        code, text = client.rcpt(rcpt, rcpt_options)
        reply = _reply(code, text)
        if code in (250, 251, 252):
            taken.append(rcpt)
        elif reply.temporary:
            outcome.temporary[rcpt] = reply
        else:
            outcome.permanent[rcpt] = reply
    if not taken:
        client.rset()
        return
    answer: bytes | str
    try:
        code, answer = client.data(data)
    except smtplib.SMTPDataError as exc:
        code, answer = exc.smtp_code, exc.smtp_error
    reply = _reply(code, answer)
    target = (
        outcome.accepted
        if code == 250
        else outcome.temporary
        if reply.temporary or code < 400
        else outcome.permanent
    )
    target.update(dict.fromkeys(taken, reply))
