"""``mailrs config check``'s look at the TLS files: each configured pair exists and loads
(and the pair that signs the Apple profile can sign).

In production a missing pair is an error (smtpd and imapd would fail at start-up). In
development smtpd makes a self-signed pair when it is missing, so only a pair that is
there must load.
"""

from __future__ import annotations

from pathlib import Path

from mailrs.config import Settings
from mailrs.errors import ConfigError
from mailrs.tls import server_context


def tls_pairs(settings: Settings) -> list[tuple[str, str, str]]:
    """(section, certificate, key) of every TLS pair the services will load."""
    pairs = []
    smtp = settings.smtp
    if smtp.enable_tls or smtp.submissions_addr:
        pairs.append(("smtp", smtp.tls_cert_path, smtp.tls_key_path))
    imap = settings.imap
    if imap.tls_cert_path or imap.tls_listen_addr:
        pairs.append(("imap", imap.tls_cert_path, imap.tls_key_path))
    return pairs


def check_tls_files(settings: Settings) -> list[str]:
    """Load every pair; ConfigError naming the section and file. Returns what was checked."""
    checked = []
    for section, cert, key in tls_pairs(settings):
        if not cert or not key:
            raise ConfigError(f"{section}.tls_cert_path/tls_key_path: TLS is on but not both set")
        missing = [path for path in (cert, key) if not Path(path).is_file()]
        if missing:
            if settings.is_development:
                continue  # smtpd writes a self-signed development pair at start-up
            raise ConfigError(f"{section}.tls_cert_path/tls_key_path: {missing[0]} does not exist")
        try:
            server_context(cert, key)
        except ConfigError as exc:
            raise ConfigError(f"{section}: {exc}") from None
        checked.append(f"{section} TLS {cert}")
    public = settings.public
    if public.profile_cert_path:
        from mailrs.accounts.profile_signing import load_signer

        try:
            load_signer(public.profile_cert_path, public.profile_key_path)
        except ConfigError as exc:
            raise ConfigError(f"public.profile_cert_path/profile_key_path: {exc}") from None
        checked.append(f"profile signing {public.profile_cert_path}")
    return checked
