"""TLS for every listener: server contexts (TLS 1.2 or newer) and development key pairs."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import ipaddress
import os
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

from mailrs.errors import ConfigError

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"


def server_context(cert_path: str | Path, key_path: str | Path) -> ssl.SSLContext:
    """A server-side SSLContext with this pair, refusing anything older than TLS 1.2."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert_path), str(key_path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot load TLS certificate {cert_path} / key {key_path}: {exc}"
        ) from None
    return context


def client_context(verify: bool = True, ca_file: str = "") -> ssl.SSLContext:
    """A client-side SSLContext (TLS 1.2+); ``verify=False`` for opportunistic STARTTLS.

    ``ca_file`` adds trusted roots to the system's (a private CA, or a test one).
    """
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot load CA file {ca_file}: {exc}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def write_selfsigned(
    directory: str | Path, hostname: str = "localhost", days: int = 825
) -> tuple[Path, Path]:
    """Write a self-signed ``cert.pem``/``key.pem`` for ``hostname`` into ``directory``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    alt_names: list[x509.GeneralName] = [x509.DNSName(hostname)]
    if hostname != "localhost":
        alt_names.append(x509.DNSName("localhost"))
    alt_names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_bytes)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def _write_selfsigned_apart(directory: Path, hostname: str) -> None:
    """``write_selfsigned`` in a child process, so a server that makes its development pair
    once does not keep ``cryptography`` (~7 MiB) loaded for the rest of its life."""
    code = "import sys; from mailrs.tls import write_selfsigned; write_selfsigned(*sys.argv[1:3])"
    done = subprocess.run(
        [sys.executable, "-c", code, str(directory), hostname], capture_output=True, text=True
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise ConfigError(f"cannot create a self-signed certificate in {directory}: {lines[-1]}")


def ensure_dev_pair(cert_path: str | Path, key_path: str | Path, hostname: str) -> bool:
    """Create a self-signed pair at these paths if neither exists; True if it was created.

    For development mode only. smtpd and imapd may start at the same moment: a lock
    next to the certificate makes one of them create the pair and the other use it.
    """
    cert, key = Path(cert_path), Path(key_path)
    cert.parent.mkdir(parents=True, exist_ok=True)
    key.parent.mkdir(parents=True, exist_ok=True)
    with open(cert.parent / ".selfsigned.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cert.exists() or key.exists():
            return False
        scratch = Path(tempfile.mkdtemp(dir=cert.parent, prefix=".selfsigned-"))
        try:
            _write_selfsigned_apart(scratch, hostname or "localhost")
            os.replace(scratch / KEY_NAME, key)
            os.replace(scratch / CERT_NAME, cert)
        finally:
            for leftover in scratch.iterdir():
                with contextlib.suppress(OSError):
                    leftover.unlink()
            scratch.rmdir()
        return True
