"""docker/compose.yaml run for real: two smtpd, two workers, Redis restarted, exactly once.

Runs only where a Docker engine answers ``docker info`` (not in CI). It builds the images,
brings the site up under a project name of its own on free 127.0.0.1 ports, adds a user
with ``flask mail-user add`` in the web container, sends N messages through both smtpd
containers while one worker container is killed and Redis is restarted, and then reads
every folder over IMAPS: each Message-ID sent must be there exactly once, and web's
/health and Flower must see the database, Redis and a worker again. The site is torn
down with its volumes in every case.

Without a registry, build a local base first (``docker/local-base.sh``); the test then
uses it and ``docker/compose.local.yaml`` (or set MAILRS_DOCKER_BASE to another image).
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import imaplib
import json
import os
import re
import secrets
import shutil
import smtplib
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml

from mailrs.tls import write_selfsigned

DOCKER = Path(__file__).resolve().parent.parent / "docker"
LOCAL_BASE = "mailrs-base:trixie"
MESSAGES = int(os.environ.get("MAILRS_DOCKER_MESSAGES", "200"))
DOMAIN = "example.com"
USER = f"alice@{DOMAIN}"
PASSWORD = "docker-site-password-1"
APP_SERVICES = ("migrate", "smtpd-1", "smtpd-2", "worker-1", "worker-2", "imapd", "web", "flower")
PORTS = (
    "MAILRS_SMTPD1_MX_PORT",
    "MAILRS_SMTPD1_SUBMISSION_PORT",
    "MAILRS_SMTPD1_SUBMISSIONS_PORT",
    "MAILRS_SMTPD2_MX_PORT",
    "MAILRS_SMTPD2_SUBMISSION_PORT",
    "MAILRS_SMTPD2_SUBMISSIONS_PORT",
    "MAILRS_IMAP_PORT",
    "MAILRS_IMAPS_PORT",
    "MAILRS_WEB_PORT",
    "MAILRS_FLOWER_PORT",
)


def _docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _compose_command() -> list[str]:
    """``docker compose`` (v2 plugin) if present, else Debian's ``docker-compose``."""
    done = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if done.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor docker-compose is installed")


pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2400),
    pytest.mark.skipif(not _docker_answers(), reason="no Docker engine answers `docker info`"),
]


def _local_base() -> str:
    """The base image to build on when no registry is reachable ('' for the public one)."""
    if "MAILRS_DOCKER_BASE" in os.environ:
        return os.environ["MAILRS_DOCKER_BASE"]
    found = subprocess.run(["docker", "image", "inspect", LOCAL_BASE], capture_output=True)
    return LOCAL_BASE if found.returncode == 0 else ""


def _free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


class Site:
    """One compose project: run compose commands against it, find its containers."""

    def __init__(self, tmp_path: Path) -> None:
        self.project = f"mailrstest{secrets.token_hex(4)}"
        self.base = _local_base()
        files = [DOCKER / "compose.yaml"]
        if self.base:
            files.append(DOCKER / "compose.local.yaml")
        files.append(self._test_overrides(tmp_path))
        self.command = [*_compose_command(), "-p", self.project]
        for file in files:
            self.command += ["-f", str(file)]
        tls = tmp_path / "tls"
        write_selfsigned(tls, "localhost")
        for pem in tls.iterdir():
            pem.chmod(0o644)  # the container's mailrs user is not the owner
        tls.chmod(0o755)
        self.ports = dict(zip(PORTS, _free_ports(len(PORTS)), strict=True))
        self.env = dict(
            os.environ,
            POSTGRES_PASSWORD=secrets.token_urlsafe(16),
            MAILRS_API_JWT_SECRET=secrets.token_urlsafe(32),
            FLOWER_BASIC_AUTH="admin:" + secrets.token_urlsafe(12),
            MAILRS_LOCAL_DOMAINS=DOMAIN,
            MAILRS_PUBLISH_ADDR="127.0.0.1",
            MAILRS_TLS_DIR=str(tls),
            **{name: str(port) for name, port in self.ports.items()},
        )
        if self.base:
            self.env["MAILRS_BASE"] = self.base

    @staticmethod
    def _test_overrides(tmp_path: Path) -> Path:
        """Settings for a test from one client: no per-IP limits, quick sweeps."""
        env = {
            # Every connection arrives from the Docker bridge: it is the test, not the world.
            "MAILRS_SPAM_TRUSTED_NETWORKS": "0.0.0.0/0,::/0",
            "MAILRS_SMTP_MESSAGES_PER_MINUTE_PER_IP": "0",
            "MAILRS_SMTP_MAX_CONNECTIONS_PER_IP": "200",
            # What the killed worker held is published again this soon.
            "MAILRS_CELERY_SWEEP_GRACE_SECS": "15",
            "MAILRS_CELERY_SWEEP_INTERVAL_SECS": "5",
        }
        path = tmp_path / "compose.test.yaml"
        services = {name: {"environment": env} for name in APP_SERVICES}
        path.write_text(yaml.safe_dump({"services": services}))
        return path

    def run(self, *args: str, timeout: float = 900, check: bool = True) -> str:
        """Run one compose command for this project; its output."""
        done = subprocess.run(
            [*self.command, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"compose {' '.join(args)}: {done.stderr[-3000:]}")
        return done.stdout

    def container(self, service: str) -> str:
        """The id of the (first) container of ``service``."""
        return self.run("ps", "-q", service).split()[0]

    def port(self, name: str) -> int:
        return self.ports[name]


def _docker(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, capture_output=True, timeout=120)


def _docker_output(*args: str) -> str:
    done = subprocess.run(["docker", *args], check=True, capture_output=True, timeout=120)
    return done.stdout.decode().strip()


def _wait_for(what: str, probe, deadline_secs: float = 240) -> None:  # noqa: ANN001
    deadline = time.monotonic() + deadline_secs
    while True:
        try:
            probe()
            return
        except (OSError, smtplib.SMTPException, imaplib.IMAP4.error) as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not come up: {exc!r}") from exc
            time.sleep(1)


def _smtp_probe(port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.noop()


def _get_json(url: str, auth: str = "") -> dict:
    """GET ``url`` (with basic auth ``user:password``); the decoded JSON body."""
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, url
        return dict(json.loads(response.read()))


def _imaps(port: int) -> imaplib.IMAP4_SSL:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    imap = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=context, timeout=30)
    imap.login(USER, PASSWORD)
    return imap


class Sender:
    """Sends each message until it gets a 250, retrying after 4xx and dropped connections."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.retries = 0
        self.per_port = collections.Counter[int]()
        self.lock = threading.Lock()

    def send(self, number: int) -> str:
        msg = EmailMessage()
        msg["From"] = "sender@outside.test"
        msg["To"] = USER
        msg["Subject"] = f"docker site {number}"
        msg["Message-ID"] = f"<docker-site-{number}-{secrets.token_hex(6)}@outside.test>"
        msg.set_content(f"Message {number} through the scaled-out site.\n")
        port = self.ports[number % len(self.ports)]
        for _attempt in range(60):
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                    smtp.send_message(msg)
                with self.lock:
                    self.per_port[port] += 1
                return str(msg["Message-ID"])
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code >= 500:
                    raise
            except (OSError, smtplib.SMTPServerDisconnected):
                pass
            with self.lock:
                self.retries += 1
            time.sleep(1)
        raise AssertionError(f"message {number} was never accepted")


def _message_ids(imap: imaplib.IMAP4_SSL) -> collections.Counter[str]:
    """Every Message-ID in every folder of the account, counted."""
    ids = collections.Counter[str]()
    status, folders = imap.list()
    assert status == "OK"
    for line in folders:
        name = (line.decode() if isinstance(line, bytes) else str(line)).rsplit(" ", 1)[-1]
        status, exists = imap.select(name, readonly=True)
        assert status == "OK", name
        if int(exists[0] or 0) == 0:
            continue
        status, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        assert status == "OK", name
        for part in data:
            if isinstance(part, tuple):
                found = re.search(rb"<[^>]+>", part[1])
                if found:
                    ids[found.group().decode()] += 1
    return ids


def _inbox_count(port: int) -> int:
    imap = _imaps(port)
    try:
        status, data = imap.status("INBOX", "(MESSAGES)")
        assert status == "OK"
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))  # type: ignore[union-attr,index]
    finally:
        imap.logout()


def test_compose_site_delivers_every_message_once_through_faults(tmp_path: Path) -> None:
    site = Site(tmp_path)
    started = time.monotonic()
    try:
        site.run("build", timeout=1800)
        built = time.monotonic()
        site.run("up", "-d", timeout=600)
        smtp_ports = [site.port("MAILRS_SMTPD1_MX_PORT"), site.port("MAILRS_SMTPD2_MX_PORT")]
        for port in smtp_ports:
            _wait_for(f"smtpd on {port}", lambda port=port: _smtp_probe(port))
        site.run("exec", "-T", "web", "flask", "mail-user", "add", USER, PASSWORD)
        imaps = site.port("MAILRS_IMAPS_PORT")
        _wait_for("imapd", lambda: _imaps(imaps).logout())
        up = time.monotonic()

        sender = Sender(smtp_ports)
        worker = site.container("worker-1")
        redis = site.container("redis")
        sent: list[str] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(sender.send, n) for n in range(MESSAGES)]
            faults = {MESSAGES // 4: ("kill", worker), MESSAGES // 2: ("restart", redis)}
            for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                sent.append(future.result())
                if done in faults:
                    _docker(*faults.pop(done))
        assert not faults
        assert len(set(sent)) == MESSAGES
        assert all(sender.per_port[port] > 0 for port in smtp_ports), sender.per_port
        loaded = time.monotonic()
        killed = _docker_output("inspect", "-f", "{{.State.Status}}", worker)

        deadline = time.monotonic() + 600
        while _inbox_count(imaps) < MESSAGES and time.monotonic() < deadline:
            time.sleep(3)
        delivered = time.monotonic()
        time.sleep(20)  # a late duplicate would show up now
        imap = _imaps(imaps)
        try:
            received = _message_ids(imap)
        finally:
            imap.logout()
        missing = set(sent) - set(received)
        duplicated = {mid: n for mid, n in received.items() if n > 1}
        unknown = set(received) - set(sent)
        logs = site.run("logs", "--no-color", "worker-1", "worker-2", timeout=120)
        print(
            f"\ndocker site: sent {len(sent)} ({dict(sender.per_port)} per smtpd port, "
            f"{sender.retries} sender retries), read {sum(received.values())} over IMAP, "
            f"missing {len(missing)}, duplicated {len(duplicated)}; worker-1 {killed} after "
            f"the kill, {logs.count('sweeper: re-published')} sweeps re-published; "
            f"build {built - started:.0f} s, up {up - built:.0f} s, send {loaded - up:.0f} s, "
            f"all read {delivered - loaded:.0f} s later, total {time.monotonic() - started:.0f} s"
        )
        assert not missing, sorted(missing)[:10]
        assert not duplicated, duplicated
        assert not unknown, sorted(unknown)[:10]
        # After the faults the site is whole again: web sees the database and Redis,
        # Flower sees the surviving worker.
        web = _get_json(f"http://127.0.0.1:{site.port('MAILRS_WEB_PORT')}/health")
        assert web == {"status": "ok", "database": "ok", "broker": "ok"}, web
        flower = f"http://127.0.0.1:{site.port('MAILRS_FLOWER_PORT')}/api/workers?refresh=1"
        assert _get_json(flower, site.env["FLOWER_BASIC_AUTH"]), "Flower sees no worker"
    except BaseException:
        print(site.run("logs", "--no-color", "--tail", "60", timeout=120, check=False)[-20000:])
        raise
    finally:
        site.run("down", "-v", "--remove-orphans", "-t", "5", timeout=300, check=False)
