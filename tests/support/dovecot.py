"""A throwaway Dovecot IMAP server for tests: its own config in a temp dir, one port on
127.0.0.1, plaintext logins from a passwd-file, mail in Maildirs under the temp dir.

Started as ``dovecot -F -c CONF`` (a child in its own process group) and stopped by
that child's pid. Mail processes run as ``nobody``, which owns the mail folder; the
folder is made under /tmp (pytest's own are closed to other users) and removed after.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from support.config import free_port

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def dovecot_binary() -> str | None:
    """The dovecot program, if installed."""
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )


class Dovecot:
    """A Dovecot with one account (``login``/``password``) on a free port."""

    def __init__(self, login: str, password: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mailrs-dovecot-"))
        self.login = login
        self.password = password
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Dovecot:
        binary = dovecot_binary()
        assert binary is not None
        uid, gid = 65534, 65534  # nobody: dovecot refuses mail access as root
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("mail", "home"):
            os.chown(self.root / sub, uid, gid)
        os.chmod(self.root, 0o755)
        (self.root / "users").write_text(f"{self.login}:{{PLAIN}}{self.password}\n")
        conf = self.root / "dovecot.conf"
        conf.write_text(CONFIG.format(root=self.root, uid=uid, gid=gid, port=self.port))
        self.proc = subprocess.Popen(
            [binary, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120  # generous: the machine may be loaded
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                reason = f"dovecot exited: {err}{self._log()}"
                self.stop()
                raise RuntimeError(reason)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        reason = f"dovecot did not start{self._log()}"
        self.stop()
        raise RuntimeError(reason)

    def _log(self) -> str:
        log = self.root / "dovecot.log"
        return "\n" + log.read_text() if log.exists() else ""

    def stop(self) -> None:
        """Stop dovecot (its process group, by the child's pid)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
