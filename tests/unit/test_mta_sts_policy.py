"""MTA-STS policy files (RFC 8461) parsed and matched, and the TLS-RPT document (RFC 8460)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.db.models import TlsResult
from mailrs.outbound.mta_sts import PolicyError, parse_policy
from mailrs.outbound.tlsrpt import build_reports

POLICY = (
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
    "max_age: 604800\r\n"
)


def test_policy_fields_and_mx_patterns() -> None:
    policy = parse_policy("example.com", "abc", POLICY)
    assert (policy.mode, policy.max_age, policy.mx) == (
        "enforce",
        604800,
        ("mail.example.com", "*.example.net"),
    )
    assert policy.matches("mail.example.com") and policy.matches("MAIL.example.com.")
    assert policy.matches("mx1.example.net")
    assert not policy.matches("a.b.example.net")  # the wildcard covers one label only
    assert not policy.matches("example.net") and not policy.matches("evil-mail.example.com")


def test_max_age_is_capped_at_a_year() -> None:
    assert parse_policy("x.test", "1", POLICY.replace("604800", "99999999")).max_age == 31557600


@pytest.mark.parametrize(
    "text",
    [
        POLICY.replace("STSv1", "STSv2"),
        POLICY.replace("enforce", "strict"),
        POLICY.replace("604800", "soon"),
        "version: STSv1\nmode: enforce\nmax_age: 10\n",  # no mx
        "",
    ],
)
def test_bad_policies(text: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy("example.com", "1", text)
    assert error.value.kind == "sts-policy-invalid"


def test_report_document_groups_sessions_per_policy(tmp_path: Path) -> None:
    config = tmp_path / "mailrs.toml"
    config.write_text(f'[storage]\ndata_dir = "{tmp_path}"\n[smtp]\nhostname = "mx.ours.test"\n')
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    at = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    rows = [
        ("success", "mx.example.com", "192.0.2.1"),
        ("success", "mx.example.com", "192.0.2.1"),
        ("certificate-expired", "mx.example.com", "192.0.2.1"),
        ("certificate-expired", "mx.example.com", "192.0.2.1"),
    ]
    with db.session() as session:
        for result, mx, ip in rows:
            session.add(
                TlsResult(
                    at=at,
                    policy_domain="example.com",
                    policy_type="sts",
                    policy_text=POLICY,
                    mx_host=mx,
                    receiving_ip=ip,
                    result=result,
                )
            )
        session.add(
            TlsResult(
                at=at - dt.timedelta(days=1),
                policy_domain="old.test",
                policy_type="sts",
                result="success",
            )
        )
        session.commit()
        (report,) = build_reports(session, settings, dt.date(2026, 12, 6), None)
    db.dispose()
    document = report.document
    assert document["organization-name"] == "mx.ours.test"
    assert document["date-range"] == {
        "start-datetime": "2026-12-06T00:00:00Z",
        "end-datetime": "2026-12-06T23:59:59Z",
    }
    (block,) = document["policies"]
    assert block["policy"]["policy-string"][:2] == ["version: STSv1", "mode: enforce"]
    assert block["policy"]["mx-host"] == ["mail.example.com", "*.example.net"]
    assert block["summary"] == {
        "total-successful-session-count": 2,
        "total-failure-session-count": 2,
    }
    assert block["failure-details"] == [
        {
            "result-type": "certificate-expired",
            "failed-session-count": 2,
            "receiving-mx-hostname": "mx.example.com",
            "receiving-ip": "192.0.2.1",
        }
    ]
