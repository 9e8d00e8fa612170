"""Mail accounts: add, list, delete, change password and authenticate (blocking calls)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailrs.accounts.contacts import delete_all_contacts
from mailrs.accounts.passwords import hash_password, verify_password
from mailrs.accounts.preferences import delete_preferences
from mailrs.accounts.sessions import end_all_sessions
from mailrs.accounts.urlauth_keys import delete_keys
from mailrs.addresses import normalize_user_address
from mailrs.db.models import Domain, User
from mailrs.errors import AuthFailed, InvalidAddress, UserExists, UserNotFound
from mailrs.store.maildir import MaildirStore

MIN_PASSWORD = 8
MAX_PASSWORD = 1024


def check_password_strength(password: str) -> None:
    """Refuse passwords that are too short or too long."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"password must have at most {MAX_PASSWORD} characters")


def find_user(session: Session, address: str) -> User | None:
    """The user with that address (any case), or None; malformed addresses give None."""
    try:
        normalized = normalize_user_address(address)
    except InvalidAddress:
        return None
    return session.scalar(select(User).where(User.address == normalized))


def quota_of(session: Session | Connection, address: str) -> int | None:
    """The quota in bytes of the user with that address (None: unlimited, or no such user).

    A plain ``Connection`` costs about a third of an ORM ``Session`` (imapd reads it
    before every APPEND and COPY)."""
    try:
        normalized = normalize_user_address(address)
    except InvalidAddress:
        return None
    return session.scalar(select(User.quota_bytes).where(User.address == normalized))


def ensure_domain(session: Session, name: str) -> Domain:
    """The domain row for ``name``, created if missing."""
    domain = session.scalar(select(Domain).where(Domain.name == name))
    if domain is None:
        domain = Domain(name=name)
        session.add(domain)
        session.flush()
    return domain


def add_user(session: Session, store: MaildirStore, address: str, password: str) -> User:
    """Create an account and its Maildir; raises InvalidAddress or UserExists."""
    normalized = normalize_user_address(address)
    check_password_strength(password)
    if find_user(session, normalized) is not None:
        raise UserExists(f"user {normalized} already exists")
    domain = ensure_domain(session, normalized.rpartition("@")[2])
    user = User(address=normalized, domain=domain, password_hash=hash_password(password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise UserExists(f"user {normalized} already exists") from None
    store.create_user(normalized)
    session.commit()
    return user


def list_users(session: Session) -> list[User]:
    """Every account, sorted by address."""
    return list(session.scalars(select(User).order_by(User.address)))


def delete_user(session: Session, store: MaildirStore, address: str, purge: bool = False) -> None:
    """Remove an account and revoke its sessions; with ``purge`` its Maildir goes too."""
    user = find_user(session, address)
    if user is None:
        raise UserNotFound(f"no user {address}")
    end_all_sessions(session, user.uid, commit=False)
    delete_all_contacts(session, user.uid, commit=False)
    delete_preferences(session, user.uid)
    delete_keys(session, user.uid, commit=False)
    session.delete(user)
    session.commit()
    if purge:
        store.remove_user(user.address)


def set_password(session: Session, address: str, password: str) -> None:
    """Replace an account's password and revoke every session and token it had."""
    check_password_strength(password)
    user = find_user(session, address)
    if user is None:
        raise UserNotFound(f"no user {address}")
    user.password_hash = hash_password(password)
    end_all_sessions(session, user.uid, commit=False)
    session.commit()


@dataclass(frozen=True)
class Credentials:
    """What a login check needs of an account, read so the session can close first."""

    address: str
    password_hash: str
    disabled: bool


def lookup_credentials(session: Session, address: str) -> Credentials | None:
    """The stored credentials of an account (None if there is no such account)."""
    user = find_user(session, address)
    if user is None:
        return None
    return Credentials(user.address, str(user.password_hash), bool(user.disabled))


def check_credentials(
    found: Credentials | None, password: str, verify: Callable[[str, str | None, str], bool]
) -> str:
    """The address if ``verify(address, hash, password)`` accepts; raises AuthFailed.

    Called with no database session open: the Argon2 check (inside ``verify``) must
    not hold a pooled connection. A missing account still costs one verification.
    """
    ok = verify(found.address if found else "", found.password_hash if found else None, password)
    if found is None or not ok or found.disabled:
        raise AuthFailed("authentication failed")
    return found.address


def set_disabled(session: Session, address: str, disabled: bool) -> None:
    """Disable (revoking every session and token) or re-enable an account."""
    user = find_user(session, address)
    if user is None:
        raise UserNotFound(f"no user {address}")
    user.disabled = disabled
    if disabled:
        end_all_sessions(session, user.uid, commit=False)
    session.commit()


def authenticate(
    session: Session,
    address: str,
    password: str,
    verify: Callable[[str | None, str], bool] = verify_password,
) -> User:
    """The account if the password matches; raises AuthFailed (same cost either way).

    ``verify`` checks the hash (a caller on an event hub passes one that runs it in a
    thread pool).
    """
    user = find_user(session, address)
    ok = verify(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        raise AuthFailed("authentication failed")
    return user


def is_local_domain(session: Session, domain: str, configured: tuple[str, ...]) -> bool:
    """True for a domain in the config's local_domains or in the domains table."""
    domain = domain.lower().rstrip(".")
    if domain in configured:
        return True
    return session.scalar(select(Domain.id).where(Domain.name == domain)) is not None


def set_admin(session: Session, address: str, admin: bool) -> None:
    """Grant or withdraw the admin role (the web admin area and ``/api/admin``)."""
    user = find_user(session, address)
    if user is None:
        raise UserNotFound(f"no user {address}")
    user.is_admin = admin
    session.commit()
