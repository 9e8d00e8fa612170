"""Web benchmark: login, inbox page, API list and chat first-token latency under load.

Starts gunicorn (the repository's gunicorn.conf.py: gthread workers) on a free port in a
temporary directory with N users of M messages each, then runs C concurrent simulated
users; each does R rounds of: log in (form + CSRF), load the inbox page, list messages
through the API, open the chat socket and ask "Liste mes emails" (time to the first
streamed token, then to ``done``). Prints p50/p99 per step.

    .venv/bin/python bench/web_bench.py --users 20 --rounds 5 --messages 50
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from pathlib import Path

from simple_websocket import Client

from mailrs.accounts.users import add_user
from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.store.maildir import MaildirStore

REPO = Path(__file__).resolve().parent.parent
CSRF_FORM = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(folder: Path, users: int, messages: int) -> tuple[Path, int]:
    """Config, database and Maildirs with ``users`` accounts of ``messages`` messages each."""
    port = free_port()
    config = folder / "mailrs.toml"
    config.write_text(
        'mode = "development"\n[smtp]\nlocal_domains = ["example.test"]\n'
        f'[api]\nlisten_addr = "127.0.0.1:{port}"\n'
        'jwt_secret = "bench-only-secret-not-real-0123456"\n'
        '[storage]\ndata_dir = "data"\n[auth]\nbase_delay_secs = 0.0\n'
        "max_failures_per_ip = 100000\n"
    )
    settings = load_settings(config, environ={})
    upgrade(settings.database_url)
    db = Database.from_settings(settings)
    store = MaildirStore(settings.maildir_path)
    with db.session() as session:
        for u in range(users):
            address = f"user{u}@example.test"
            add_user(session, store, address, f"password of user {u}")
            for n in range(messages):
                body = (
                    f"From: Sender {n} <s{n}@remote.test>\r\nTo: {address}\r\n"
                    f"Subject: Message {n}\r\n\r\nHello {n}.\r\n"
                )
                store.deliver(address, body.encode(), mtime=1e9 + n)
    db.dispose()
    return config, port


def one_user(
    base: str, u: int, rounds: int, timings: dict[str, list[float]], lock: threading.Lock
) -> None:
    """R rounds of login, inbox, API list and a chat question for one user."""
    address, password = f"user{u}@example.test", f"password of user {u}"
    for _ in range(rounds):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        start = time.perf_counter()
        form = opener.open(f"{base}/login", timeout=60).read().decode()
        token = CSRF_FORM.search(form).group(1)  # type: ignore[union-attr]
        data = urllib.parse.urlencode({"csrf_token": token, "email": address, "password": password})
        opener.open(f"{base}/login", data=data.encode(), timeout=60).read()  # follows to the inbox
        login = time.perf_counter() - start

        start = time.perf_counter()
        page = opener.open(f"{base}/", timeout=60).read().decode()
        inbox = time.perf_counter() - start
        csrf = CSRF_META.search(page).group(1)  # type: ignore[union-attr]

        start = time.perf_counter()
        listing = json.loads(opener.open(f"{base}/api/messages", timeout=60).read())
        api = time.perf_counter() - start
        assert listing["total"] > 0

        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        url = base.replace("http://", "ws://") + "/ws/chat?csrf_token=" + urllib.parse.quote(csrf)
        ws = Client.connect(url, headers={"Cookie": cookie, "Origin": base})
        try:
            start = time.perf_counter()
            ws.send(json.dumps({"type": "message", "text": "Liste mes emails"}))
            first = None
            while True:
                frame = json.loads(ws.receive(timeout=60))
                if frame["type"] == "token" and first is None:
                    first = time.perf_counter() - start
                if frame["type"] == "done":
                    done = time.perf_counter() - start
                    break
        finally:
            ws.close()
        with lock:
            timings["login (form POST incl. Argon2)"].append(login)
            timings["inbox page"].append(inbox)
            timings["API list"].append(api)
            timings["chat first token"].append(first or done)
            timings["chat done"].append(done)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent users")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per user")
    parser.add_argument("--messages", type=int, default=50, help="messages per inbox")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config, port = setup(Path(tmp), args.users, args.messages)
        env = dict(os.environ, MAILRS_CONFIG=str(config))
        gunicorn = Path(sys.executable).parent / "gunicorn"
        proc = subprocess.Popen(
            [str(gunicorn), "web:create_app()"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(f"{base}/login", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            timings: dict[str, list[float]] = defaultdict(list)
            lock = threading.Lock()
            threads = [
                threading.Thread(target=one_user, args=(base, u, args.rounds, timings, lock))
                for u in range(args.users)
            ]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        f"{args.users} concurrent users x {args.rounds} rounds, {args.messages} messages per inbox,"
        f" gunicorn gthread ({os.cpu_count()} CPUs), {elapsed:.1f} s in all"
    )
    print(f"{'step':32} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
    for name, values in timings.items():
        print(
            f"{name:32} {len(values):5d} {percentile(values, 50) * 1000:9.1f}"
            f" {percentile(values, 99) * 1000:9.1f} {statistics.fmean(values) * 1000:9.1f}"
        )


if __name__ == "__main__":
    main()
