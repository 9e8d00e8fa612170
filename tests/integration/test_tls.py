"""TLS contexts and ``mailrs tls selfsigned``: a pair that a real TLS handshake accepts."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path

from mailrs.tls import server_context


def test_selfsigned_command_writes_a_pair_that_handshakes(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailrs",
            "tls",
            "selfsigned",
            str(folder),
            "--hostname",
            "mx.example.test",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (folder / "key.pem").stat().st_mode & 0o777 == 0o600
    context = server_context(folder / "cert.pem", folder / "key.pem")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(tls.version().encode())

        thread = threading.Thread(target=serve)
        thread.start()
        verifying = ssl.create_default_context(cafile=str(folder / "cert.pem"))
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            verifying.wrap_socket(raw, server_hostname="mx.example.test") as tls,
        ):
            assert tls.recv(20) in (b"TLSv1.2", b"TLSv1.3")
        thread.join(10)


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = subprocess.run(
        [sys.executable, "-m", "mailrs", "tls", "selfsigned", str(blocker / "sub")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "Error" in done.stderr and "Traceback" not in done.stderr


def _ensure(folder: str) -> bool:
    from mailrs.tls import ensure_dev_pair

    return ensure_dev_pair(f"{folder}/cert.pem", f"{folder}/key.pem", "localhost")


def test_dev_pair_is_made_once_even_by_processes_starting_together(tmp_path: Path) -> None:
    import multiprocessing

    folder = str(tmp_path / "tls")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        created = pool.map(_ensure, [folder] * 4)
    assert created.count(True) == 1
    server_context(f"{folder}/cert.pem", f"{folder}/key.pem")  # cert and key belong together
    assert _ensure(folder) is False
