"""Where clients and other servers reach this installation: host names and public ports."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from mailrs.config import Settings, parse_hostport


@dataclass(frozen=True)
class Endpoints:
    """The public mail host, web host and ports, with the defaults filled in."""

    mail_host: str
    web_host: str
    smtp_port: int
    imaps_port: int
    submission_port: int
    submissions_port: int
    https_port: int


def _port(explicit: int, listen_addr: str, default: int) -> int:
    if explicit:
        return explicit
    if listen_addr:
        return parse_hostport(listen_addr)[1]
    return default


def endpoints(settings: Settings) -> Endpoints:
    """The public names and ports from ``[public]``, else from ``smtp.hostname`` and listeners."""
    public = settings.public
    mail_host = (public.mail_host or settings.smtp.hostname or socket.getfqdn()).rstrip(".")
    return Endpoints(
        mail_host=mail_host.lower(),
        web_host=(public.web_host or mail_host).rstrip(".").lower(),
        smtp_port=public.smtp_port,
        imaps_port=_port(public.imaps_port, settings.imap.tls_listen_addr, 993),
        submission_port=_port(public.submission_port, settings.smtp.submission_addr, 587),
        submissions_port=_port(public.submissions_port, settings.smtp.submissions_addr, 465),
        https_port=public.https_port,
    )
