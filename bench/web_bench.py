"""Web benchmark: open chat sockets, then login, inbox, API and chat latency under load.

Starts gunicorn (the shared settings of ``mailrs.cli.gunicorn_conf``: gevent workers) on a
free port in a temporary directory with N users of M messages each.

First (``--sockets S``, default 500) it runs ONE worker process, opens S authenticated
chat sockets (spread over the users' sessions) and keeps them open while it measures
GET /login and the inbox page (p50/p99/max), the worker's memory (PSS) per open socket,
and how long a new-mail event takes to reach every socket of one user.

Then it runs C concurrent simulated users; each does R rounds of: log in (form + CSRF),
load the inbox page, list messages through the API, open the chat socket and ask
"Liste mes emails" (time to the first streamed token, then to ``done``). Prints p50/p99.

    .venv/bin/python bench/web_bench.py --users 20 --rounds 5 --messages 50 --sockets 500
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from simple_websocket import Client

from mailrs.accounts.users import add_user
from mailrs.config import load_settings
from mailrs.db.engine import Database
from mailrs.db.migrate import upgrade
from mailrs.store.events import publish_event
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


def log_in(base: str, u: int) -> tuple[str, str]:
    """One login of user ``u``: (Cookie header, CSRF token of the inbox page)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{base}/login", timeout=60).read().decode()
    token = CSRF_FORM.search(form).group(1)  # type: ignore[union-attr]
    data = urllib.parse.urlencode(
        {"csrf_token": token, "email": f"user{u}@example.test", "password": f"password of user {u}"}
    )
    page = opener.open(f"{base}/login", data=data.encode(), timeout=60).read().decode()
    csrf = CSRF_META.search(page).group(1)  # type: ignore[union-attr]
    return "; ".join(f"{c.name}={c.value}" for c in jar), csrf


def pss_kib(pid: int) -> int:
    """Proportional set size of a process in KiB (/proc/PID/smaps_rollup)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def worker_pids(master: int) -> list[int]:
    """The gunicorn worker processes of a master."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def timed_get(base: str, path: str, cookie: str) -> float:
    """Seconds for one GET (the whole body read)."""
    request = urllib.request.Request(f"{base}{path}", headers={"Cookie": cookie} if cookie else {})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - start


def sockets_phase(base: str, master: int, sockets: int, users: int) -> None:
    """Open ``sockets`` chat sockets on one worker and measure pages, memory and fan-out."""
    owners = [u for u in range(min(users, 10)) for _ in range(2)]  # two sessions per user
    sessions = [log_in(base, u) for u in owners]
    (worker,) = worker_pids(master)
    for _ in range(20):  # warm the worker up before the baseline
        timed_get(base, "/", sessions[0][0])
    before = pss_kib(worker)
    ws_base = base.replace("http://", "ws://") + "/ws/chat?csrf_token="

    def open_one(n: int) -> Client:
        cookie, csrf = sessions[n % len(sessions)]
        url = ws_base + urllib.parse.quote(csrf)
        return Client.connect(url, headers={"Cookie": cookie, "Origin": base})

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        clients = list(pool.map(open_one, range(sockets)))
    opened = time.perf_counter() - start
    try:
        time.sleep(2.0)  # every handler registered with the event hub, memory settled
        after = pss_kib(worker)
        login_times = [timed_get(base, "/login", "") for _ in range(200)]
        inbox_times = [timed_get(base, "/", sessions[0][0]) for _ in range(200)]
        # fan-out: one event for user0, to every socket of user0's two sessions
        settings = load_settings(Path(os.environ["MAILRS_CONFIG"]), environ={})
        mine = [c for n, c in enumerate(clients) if owners[n % len(owners)] == 0]
        published = time.perf_counter()
        publish_event(
            settings, "user0@example.test", {"kind": "new_mail", "subject": "bench", "from": "b"}
        )

        def arrival(client: Client) -> float:
            while True:
                raw = client.receive(timeout=30)
                if raw is None:
                    return float("inf")
                if json.loads(raw).get("type") == "notification":
                    return time.perf_counter() - published

        with ThreadPoolExecutor(max_workers=64) as pool:
            arrivals = list(pool.map(arrival, mine))
    finally:
        with ThreadPoolExecutor(max_workers=32) as pool:
            list(pool.map(lambda c: c.close(), clients))
    print(
        f"{sockets} authenticated chat sockets open on ONE gevent worker "
        f"(opened in {opened:.1f} s, {len(sessions)} login sessions)"
    )
    print(f"{'page while they are open':32} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for name, values in (("GET /login", login_times), ("GET / (inbox)", inbox_times)):
        print(
            f"{name:32} {len(values):5d} {percentile(values, 50) * 1000:9.1f}"
            f" {percentile(values, 99) * 1000:9.1f} {max(values) * 1000:9.1f}"
        )
    print(
        f"worker PSS {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB with the sockets:"
        f" {(after - before) / max(1, sockets):.1f} KiB per socket"
    )
    print(
        f"new-mail event to all {len(arrivals)} sockets of one user: "
        f"p50 {percentile(arrivals, 50) * 1000:.0f} ms, max {max(arrivals) * 1000:.0f} ms"
    )


def start_gunicorn(config: Path, workers: int) -> subprocess.Popen[bytes]:
    """gunicorn with the shared settings and ``workers`` workers, in its own session."""
    env = dict(os.environ, MAILRS_CONFIG=str(config))
    gunicorn = Path(sys.executable).parent / "gunicorn"
    argv = [str(gunicorn), "--config", "python:mailrs.cli.gunicorn_conf"]
    argv += ["--bind", load_settings(config, environ={}).api.listen_addr]
    argv += ["--workers", str(workers), "web:create_app()"]
    return subprocess.Popen(
        argv,
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_ready(base: str) -> None:
    """Until GET /login answers (60 s at most)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/login", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)


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
    parser.add_argument(
        "--sockets", type=int, default=500, help="chat sockets held open on one worker (0: skip)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config, port = setup(Path(tmp), args.users, args.messages)
        os.environ["MAILRS_CONFIG"] = str(config)
        base = f"http://127.0.0.1:{port}"
        if args.sockets > 0:
            proc = start_gunicorn(config, workers=1)
            try:
                wait_ready(base)
                sockets_phase(base, proc.pid, args.sockets, args.users)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            print()
        proc = start_gunicorn(config, workers=2)
        try:
            wait_ready(base)
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
        f" gunicorn gevent, 2 workers ({os.cpu_count()} CPUs), {elapsed:.1f} s in all"
    )
    print(f"{'step':32} {'n':>5} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
    for name, values in timings.items():
        print(
            f"{name:32} {len(values):5d} {percentile(values, 50) * 1000:9.1f}"
            f" {percentile(values, 99) * 1000:9.1f} {statistics.fmean(values) * 1000:9.1f}"
        )


if __name__ == "__main__":
    main()
