"""DMARC aggregate reports (RFC 7489 appendix C): parsing XML, gzip, zip and mail; the CLI."""

from __future__ import annotations

import gzip
import io
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailrs.cli.main import cli
from mailrs.inbound.dmarc_reports import ReportError, parse_report

# Shaped after RFC 7489 appendix C (the schema's element names and nesting).
REPORT = b"""<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <report_metadata>
    <org_name>acme.com</org_name>
    <email>noreply-dmarc-support@acme.com</email>
    <extra_contact_info>http://acme.com/dmarc/support</extra_contact_info>
    <report_id>9391651994964116463</report_id>
    <date_range>
      <begin>1335571200</begin>
      <end>1335657599</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>none</p>
    <sp>none</sp>
    <pct>100</pct>
  </policy_published>
  <record>
    <row>
      <source_ip>72.150.241.94</source_ip>
      <count>2</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>fail</dkim>
        <spf>pass</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <result>fail</result>
        <human_result></human_result>
      </dkim>
      <spf>
        <domain>example.com</domain>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
  <record>
    <row>
      <source_ip>2001:db8::25</source_ip>
      <count>7</count>
      <policy_evaluated>
        <disposition>quarantine</disposition>
        <dkim>fail</dkim>
        <spf>fail</spf>
      </policy_evaluated>
    </row>
    <identifiers><header_from>example.com</header_from></identifiers>
  </record>
</feedback>
"""


def _zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("acme.com!example.com!1335571200!1335657599.xml", data)
    return buffer.getvalue()


def _mail(data: bytes) -> bytes:
    message = EmailMessage()
    message["From"] = "noreply-dmarc-support@acme.com"
    message["To"] = "dmarc@example.com"
    message["Subject"] = "Report Domain: example.com Submitter: acme.com"
    message.set_content("A DMARC aggregate report.")
    message.add_attachment(
        gzip.compress(data), maintype="application", subtype="gzip", filename="report.xml.gz"
    )
    return message.as_bytes()


@pytest.mark.parametrize("wrap", [lambda d: d, gzip.compress, _zip, _mail])
def test_every_wrapping_parses(wrap) -> None:  # type: ignore[no-untyped-def]
    report = parse_report(wrap(REPORT))
    assert (report.org_name, report.report_id) == ("acme.com", "9391651994964116463")
    assert (report.domain, report.policy) == ("example.com", "none")
    assert report.begin.isoformat() == "2012-04-28T00:00:00+00:00"
    assert [(r.source_ip, r.count, r.disposition, r.dkim, r.spf) for r in report.rows] == [
        ("72.150.241.94", 2, "none", "fail", "pass"),
        ("2001:db8::25", 7, "quarantine", "fail", "fail"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"<html></html>",
        b"<feedback><report_metadata/></feedback>",
        b"\x1f\x8bnot really gzip",
        b"PK\x03\x04broken",
        b"<feedback>",
        b"Subject: hi\r\n\r\nno attachment\r\n",
        b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><feedback>&b;</feedback>',
    ],
)
def test_bad_input_is_a_report_error(data: bytes) -> None:
    with pytest.raises(ReportError):
        parse_report(data)


def test_cli_imports_once_and_shows_reports(
    config_path: Path, database: object, tmp_path: Path
) -> None:
    runner = CliRunner()
    (tmp_path / "r.xml.gz").write_bytes(gzip.compress(REPORT))
    (tmp_path / "bad.xml").write_bytes(b"<nope/>")
    args = ["dmarc", "import", "--config", str(config_path)]
    first = runner.invoke(cli, [*args, str(tmp_path / "r.xml.gz")])
    assert first.exit_code == 0, first.output
    assert "imported: acme.com 9391651994964116463" in first.output
    again = runner.invoke(cli, [*args, str(tmp_path / "r.xml.gz"), str(tmp_path / "bad.xml")])
    assert again.exit_code == 1 and "already imported" in again.output
    shown = runner.invoke(cli, ["dmarc", "reports", "--config", str(config_path)])
    assert shown.exit_code == 0, shown.output
    assert "example.com (p=none) from acme.com" in shown.output
    assert "2001:db8::25" in shown.output and "quarantine" in shown.output
    other = runner.invoke(
        cli, ["dmarc", "reports", "--domain", "x.test", "--config", str(config_path)]
    )
    assert "no reports" in other.output
