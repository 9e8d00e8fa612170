"""``[spam] dmarc_enforce``: smtpd refuses p=reject failures at the end of DATA (real DNS
server on loopback, real smtpd, smtplib client from outside the trusted networks)."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest
from sqlalchemy import select
from support.dns import DnsServer
from support.smtp import ALICE, smtp_server

from mailrs.config import Settings
from mailrs.db.engine import Database
from mailrs.db.models import DmarcResult

ZONE = [
    'remote.test TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    '_dmarc.remote.test TXT "v=DMARC1; p=reject"',
    'quar.test TXT "v=spf1 ip4:192.0.2.0/24 -all"',
    '_dmarc.quar.test TXT "v=DMARC1; p=quarantine"',
    'open.test TXT "v=spf1 ip4:127.0.0.0/8 -all"',
    '_dmarc.open.test TXT "v=DMARC1; p=reject"',
]
pytestmark = [pytest.mark.slow, pytest.mark.dns_zone(ZONE)]


def _mail(domain: str) -> str:
    head = f"From: x@{domain}\r\nTo: {ALICE}\r\nSubject: dmarc\r\n"
    return head + f"Message-ID: <1@{domain}>\r\n\r\nhi\r\n"


@pytest.mark.parametrize("enforce", [True, False])
def test_reject_policy_is_enforced_only_when_asked(
    tmp_path: Path, dns: DnsServer, enforce: bool
) -> None:
    with smtp_server(
        tmp_path,
        tls=False,
        MAILRS_SPAM_CHECK_SENDER_AUTH="true",
        MAILRS_SPAM_DMARC_ENFORCE="true" if enforce else "false",
        MAILRS_SPAM_TRUSTED_NETWORKS="192.0.2.255/32",  # loopback counts as outside here
        MAILRS_RELAY_DNS_SERVERS=dns.address,
        MAILRS_RELAY_DNS_TIMEOUT_SECS="3",
    ) as server:
        host, port = server.addr()
        with smtplib.SMTP(host, port, timeout=60) as client:
            client.ehlo("client.remote.test")
            for domain, refused in (
                ("remote.test", enforce),  # SPF fails, no DKIM: DMARC fails, p=reject
                ("quar.test", False),  # quarantine: accepted, the pipeline files it to Junk
                ("open.test", False),  # SPF passes and aligns: DMARC passes
            ):
                if refused:
                    with pytest.raises(smtplib.SMTPDataError) as caught:
                        client.sendmail(f"x@{domain}", [ALICE], _mail(domain))
                    assert caught.value.smtp_code == 550
                    assert (
                        b"5.7.1" in caught.value.smtp_error and b"DMARC" in caught.value.smtp_error
                    )
                else:
                    assert client.sendmail(f"x@{domain}", [ALICE], _mail(domain)) == {}
        refusals = _refusals(server.settings)
        assert refusals == (
            [("remote.test", "127.0.0.1", "reject", "fail", "fail")] if enforce else []
        )


def _refusals(settings: Settings) -> list[tuple[str, str, str, str, str]]:
    """The refusals smtpd recorded for the aggregate report (queue id "")."""
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            rows = session.scalars(select(DmarcResult).where(DmarcResult.queue_id == "")).all()
            return [
                (r.header_from, r.source_ip, r.disposition, r.dkim_aligned, r.spf_aligned)
                for r in rows
            ]
    finally:
        db.dispose()
