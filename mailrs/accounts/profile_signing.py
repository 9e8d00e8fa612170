"""The Apple configuration profile, signed: CMS SignedData with the profile inside, as
``openssl smime -sign -nodetach -outform der`` makes it.

iOS and macOS install an unsigned profile only after warning that it is "Unsigned"; one
signed by a certificate they trust shows as "Verified". The signer is the mail host's
certificate: ``[public] profile_cert_path``/``profile_key_path``, else the ``[imap]`` TLS
pair. The certificate file may hold the chain after the leaf; it goes into the signature
so the device can build the path to a root it trusts. RSA and EC keys can sign.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from mailrs.config import Settings
from mailrs.errors import ConfigError

SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True)
class ProfileSigner:
    """A loaded signing pair: the leaf certificate, the chain after it, the private key."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def signing_pair(settings: Settings) -> tuple[str, str] | None:
    """(certificate, key) paths to sign profiles with, or None to serve them unsigned."""
    public = settings.public
    if public.profile_cert_path:
        return public.profile_cert_path, public.profile_key_path
    imap = settings.imap
    if imap.tls_cert_path and imap.tls_key_path:
        return imap.tls_cert_path, imap.tls_key_path
    return None


def load_signer(cert_path: str, key_path: str) -> ProfileSigner:
    """Read and check a pair; ConfigError naming the file when it cannot sign."""
    try:
        certificates = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
        key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot load {cert_path} / {key_path}: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{key_path}: only RSA and EC keys can sign a profile")
    leaf = certificates[0]
    if key.public_key().public_bytes(*SPKI) != leaf.public_key().public_bytes(*SPKI):
        raise ConfigError(f"{key_path} is not the key of {cert_path}")
    return ProfileSigner(leaf, tuple(certificates[1:]), key)


@functools.lru_cache(maxsize=4)
def _cached_signer(cert_path: str, key_path: str, stamp: tuple[int, int]) -> ProfileSigner:
    return load_signer(cert_path, key_path)


def current_signer(settings: Settings) -> ProfileSigner | None:
    """The configured signer, loaded again when either file changes (a renewed certificate)."""
    pair = signing_pair(settings)
    if pair is None:
        return None
    try:
        stamp = (Path(pair[0]).stat().st_mtime_ns, Path(pair[1]).stat().st_mtime_ns)
    except OSError as exc:
        raise ConfigError(f"cannot read {exc.filename}: {exc.strerror}") from None
    return _cached_signer(pair[0], pair[1], stamp)


def sign_profile(signer: ProfileSigner, profile: bytes) -> bytes:
    """``profile`` (its bytes as they are) in a DER SignedData: SHA-256, chain included."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(profile)
    builder = builder.add_signer(signer.certificate, signer.key, hashes.SHA256())
    for certificate in signer.chain:
        builder = builder.add_certificate(certificate)
    return builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
