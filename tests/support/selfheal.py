"""Helpers for the self-healing tests: service pids from ``mailrs status``, sending with
outcomes, and counting delivered copies by Message-ID straight from the Maildir."""

from __future__ import annotations

import contextlib
import json
import re
import smtplib
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from mailrs.config import Settings
from support.processes import mailrs_argv, service_env

MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^>]+)>", re.IGNORECASE | re.MULTILINE)


def status_json(config: Path) -> dict[str, Any]:
    """``mailrs status --json`` of this config (whatever its exit status)."""
    result = subprocess.run(
        mailrs_argv("status", "--json", "--config", str(config)),
        env=service_env(config),
        capture_output=True,
        text=True,
        timeout=60,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def service_pid(config: Path, name: str) -> int | None:
    """The pid ``mailrs status`` shows for a running service, or None."""
    for svc in status_json(config)["services"]:
        if svc["name"] == name and svc["alive"] and svc["state"] == "running":
            return int(svc["pid"])
    return None


def service_restarts(config: Path, name: str) -> int:
    """How many times the supervisor has restarted ``name``."""
    for svc in status_json(config)["services"]:
        if svc["name"] == name:
            return int(svc["restarts"])
    raise AssertionError(f"no service {name}")


def message(msgid: str, to: str = "alice@example.test", body: bytes = b"hello\r\n") -> bytes:
    """A small message with this Message-ID."""
    return (
        f"From: bob@remote.test\r\nTo: {to}\r\nSubject: {msgid}\r\n"
        f"Message-ID: <{msgid}>\r\n\r\n".encode()
        + body
    )


def send(addr: tuple[str, int], msgid: str, body: bytes = b"hello\r\n", timeout: float = 60) -> str:
    """Send one message; '250', the 4xx/5xx code, or 'no answer' (connection failed/lost)."""
    try:
        client = smtplib.SMTP(*addr, timeout=timeout)
        try:
            client.sendmail("bob@remote.test", ["alice@example.test"], message(msgid, body=body))
        finally:
            # A stopping server may answer QUIT (or nothing) with 421 after the message's
            # 250: the message was accepted all the same, so only the DATA reply counts.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                client.quit()
            client.close()
        return "250"
    except smtplib.SMTPResponseException as exc:
        return str(exc.smtp_code)
    except smtplib.SMTPRecipientsRefused as exc:
        (code, _), *_ = exc.recipients.values()
        return str(code)
    except (TimeoutError, OSError, smtplib.SMTPServerDisconnected):
        return "no answer"


def delivered_ids(settings: Settings, address: str = "alice@example.test") -> Counter[str]:
    """How many copies of each Message-ID are in the user's Maildir (new and cur)."""
    local, domain = address.split("@")
    root = settings.maildir_path / domain / local
    found: Counter[str] = Counter()
    for sub in ("new", "cur"):
        folder = root / sub
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            try:
                head = path.read_bytes()[:8192]
            except OSError:
                continue
            match = MESSAGE_ID.search(head)
            if match:
                found[match.group(1).decode()] += 1
    return found
