"""DKIM keys per domain: an RSA-2048 and an Ed25519 key per selector, on disk with 0600 perms.

A selector ``S`` of a domain is a pair of PEM files under ``data/dkim/<domain>/``:
``S.rsa.pem`` and ``S.ed25519.pem``. One DNS name holds one key, so the pair is
published under two DKIM selectors, ``S-rsa`` and ``S-ed25519`` (RFC 8463 asks
signers to sign with both while verifiers learn Ed25519). Signing puts two
DKIM-Signature fields on each message, one per key.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailrs.config import Settings
from mailrs.errors import ConfigError

RSA = "rsa"
ED25519 = "ed25519"
ALGORITHMS = {RSA: b"rsa-sha256", ED25519: b"ed25519-sha256"}
RSA_BITS = 2048
SELECTOR_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


@dataclass(frozen=True)
class SigningKey:
    """One key as dkimpy takes it: the DNS selector, the algorithm and the private key."""

    domain: str
    selector: str
    algorithm: bytes
    private: bytes


def check_domain_name(name: str) -> str:
    """``name`` lowered without a final dot; ValueError if it is not a domain name."""
    domain = name.strip().lower().rstrip(".")
    if not DOMAIN_RE.match(domain):
        raise ValueError(f"not a domain name: {name!r}")
    return domain


def dkim_dir(settings: Settings, domain: str) -> Path:
    """The folder holding a domain's DKIM keys."""
    return settings.data_dir / "dkim" / check_domain_name(domain)


def key_path(settings: Settings, domain: str, selector: str, kind: str) -> Path:
    """The PEM file of one key of a selector."""
    if not SELECTOR_RE.match(selector) or kind not in ALGORITHMS:
        raise ValueError(f"bad selector or key kind: {selector!r} {kind!r}")
    return dkim_dir(settings, domain) / f"{selector}.{kind}.pem"


def dns_selector(selector: str, kind: str) -> str:
    """The DKIM ``s=`` selector (and DNS label) of one key of a selector."""
    return f"{selector}-{kind}"


def new_selector(existing: set[str], today: dt.date | None = None) -> str:
    """A fresh selector name: ``mr`` and the date, with a letter when taken already."""
    base = f"mr{(today or dt.datetime.now(dt.UTC).date()).strftime('%Y%m%d')}"
    if base not in existing:
        return base
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if base + letter not in existing:
            return base + letter
    raise ValueError("too many selectors made today")


def _write_private(path: Path, pem: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())


def generate_keys(settings: Settings, domain: str, selector: str) -> list[Path]:
    """Create the RSA-2048 and Ed25519 keys of a new selector; FileExistsError if present."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    paths = []
    for kind, key in ((RSA, rsa_key), (ED25519, ed_key)):
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = key_path(settings, domain, selector, kind)
        _write_private(path, pem)
        paths.append(path)
    return paths


def _load(path: Path) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ConfigError(f"DKIM key {path} does not exist") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"DKIM key {path}: cannot load: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ConfigError(f"DKIM key {path}: neither RSA nor Ed25519")
    return key


def public_key_text(settings: Settings, domain: str, selector: str, kind: str) -> str:
    """The DKIM TXT record value of one key: ``v=DKIM1; k=...; p=...``."""
    key = _load(key_path(settings, domain, selector, kind))
    if isinstance(key, rsa.RSAPrivateKey):
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"


def signing_keys(settings: Settings, domain: str, selector: str) -> list[SigningKey]:
    """Both keys of a selector in the form dkimpy signs with (Ed25519 as its raw seed)."""
    keys = []
    for kind in (RSA, ED25519):
        key = _load(key_path(settings, domain, selector, kind))
        if isinstance(key, rsa.RSAPrivateKey):
            private = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        else:
            seed = key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            private = base64.b64encode(seed)
        keys.append(SigningKey(domain, dns_selector(selector, kind), ALGORITHMS[kind], private))
    return keys


def selectors_on_disk(settings: Settings, domain: str) -> set[str]:
    """Every selector that has a key file for the domain."""
    folder = dkim_dir(settings, domain)
    if not folder.is_dir():
        return set()
    return {p.name.split(".", 1)[0] for p in folder.glob("*.pem")}


def remove_keys(settings: Settings, domain: str, selector: str) -> None:
    """Delete both key files of a selector (a retired one)."""
    for kind in (RSA, ED25519):
        key_path(settings, domain, selector, kind).unlink(missing_ok=True)


def remove_domain_keys(settings: Settings, domain: str) -> None:
    """Delete a domain's whole key folder."""
    shutil.rmtree(dkim_dir(settings, domain), ignore_errors=True)
