"""The rspamd adapter: rspamd's HTTP protocol (``POST /checkv2``) with the envelope in headers."""

from __future__ import annotations

import http.client
import json
import urllib.parse

from mailrs.config import Settings
from mailrs.inbound.spam import SpamEnvelope, SpamResult

MAX_SYMBOLS = 100
MAX_REPLY = 1024 * 1024


class RspamdError(Exception):
    """rspamd could not be asked or gave an answer we cannot read."""


class RspamdFilter:
    """Asks an rspamd normal worker (``spam.rspamd_url``) to score each message."""

    def __init__(self, settings: Settings) -> None:
        url = urllib.parse.urlsplit(settings.spam.rspamd_url)
        self.https = url.scheme == "https"
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or (443 if self.https else 11333)
        self.path = url.path.rstrip("/") + "/checkv2"
        self.timeout = settings.spam.timeout_secs
        self.hostname = settings.smtp.hostname

    def envelope_headers(self, envelope: SpamEnvelope) -> list[tuple[str, str]]:
        """The request headers that carry the SMTP envelope (one ``Rcpt`` per recipient)."""
        headers = [("Queue-Id", envelope.queue_id), ("From", envelope.mail_from)]
        headers += [("Rcpt", rcpt) for rcpt in envelope.recipients]
        headers.append(("MTA-Name", self.hostname))
        if envelope.client_addr:
            headers.append(("IP", envelope.client_addr))
        if envelope.helo:
            headers.append(("Helo", envelope.helo))
        if envelope.auth_user:
            headers.append(("User", envelope.auth_user))
        return headers

    def check(self, data: bytes, envelope: SpamEnvelope) -> SpamResult:
        """Send the message with its envelope; rspamd's score and symbols come back."""
        headers = [
            (name, value.replace("\r", "").replace("\n", ""))
            for name, value in self.envelope_headers(envelope)
        ]
        where = f"rspamd at {self.host}:{self.port}"
        status, body = _post(
            self.https, self.host, self.port, self.timeout, self.path, headers, data, where
        )
        if status != 200:
            raise RspamdError(f"rspamd answered HTTP {status}: {body[:200]!r}")
        return parse_reply(body)


def parse_reply(body: bytes) -> SpamResult:
    """Read a /checkv2 JSON reply."""
    try:
        reply = json.loads(body)
        score = float(reply["score"])
        symbols = reply.get("symbols") or {}
        names = sorted(symbols, key=lambda n: -abs(float(symbols[n].get("score") or 0)))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RspamdError(f"unreadable rspamd reply: {body[:200]!r}") from exc
    return SpamResult(round(score, 2), tuple(names[:MAX_SYMBOLS]), str(reply.get("action", "")))


def learn(settings: Settings, data: bytes, spam: bool) -> None:
    """Tell rspamd's controller (``spam.rspamd_controller_url``) what the user decided.

    ``POST /learnspam`` or ``/learnham`` with the message; rspamd answers 208 when it has
    learnt that message already, which is fine too.
    """
    url = urllib.parse.urlsplit(settings.spam.rspamd_controller_url)
    path = url.path.rstrip("/") + ("/learnspam" if spam else "/learnham")
    headers = [("Password", settings.spam.rspamd_password)] if settings.spam.rspamd_password else []
    status, body = _post(
        url.scheme == "https",
        url.hostname or "127.0.0.1",
        url.port or 11334,
        settings.spam.timeout_secs,
        path,
        headers,
        data,
        f"rspamd controller at {url.netloc}",
    )
    if status not in (200, 208):
        raise RspamdError(f"rspamd learn answered HTTP {status}: {body[:200]!r}")


def _post(
    https: bool,
    host: str,
    port: int,
    timeout: float,
    path: str,
    headers: list[tuple[str, str]],
    data: bytes,
    where: str,
) -> tuple[int, bytes]:
    """POST ``data`` with ``headers``; the status and (at most MAX_REPLY bytes of) body."""
    cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
    conn = cls(host, port, timeout=timeout)
    try:
        conn.putrequest("POST", path)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        response = conn.getresponse()
        return response.status, response.read(MAX_REPLY)
    except (OSError, http.client.HTTPException) as exc:
        raise RspamdError(f"{where}: {exc}") from exc
    finally:
        conn.close()
