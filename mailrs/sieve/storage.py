"""Per-user Sieve scripts in the database: one active at a time (RFC 5804 semantics)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailrs.db.models import SieveScript, utcnow
from mailrs.sieve.grammar import SieveSyntaxError, check_script

MAX_SCRIPT_BYTES = 64 * 1024
MAX_SCRIPTS = 32


class ScriptError(ValueError):
    """A refused script operation; ``code`` is the ManageSieve response code, if any."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def _row(session: Session, user: str, name: str) -> SieveScript | None:
    """The row of one script, or None."""
    return session.scalar(
        select(SieveScript).where(
            SieveScript.user_address == user.lower(), SieveScript.name == name
        )
    )


def check_name(name: str) -> None:
    """ScriptError for a name ManageSieve may not carry (RFC 5804 section 1.6)."""
    if not name or len(name) > 128 or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ScriptError("bad script name")


def list_scripts(session: Session, user: str) -> list[tuple[str, bool]]:
    """Every script of a user as (name, active), by name."""
    rows = session.scalars(
        select(SieveScript)
        .where(SieveScript.user_address == user.lower())
        .order_by(SieveScript.name)
    )
    return [(row.name, row.active) for row in rows]


def get_script(session: Session, user: str, name: str) -> str:
    """A script's text; ScriptError (NONEXISTENT) when there is none."""
    row = _row(session, user, name)
    if row is None:
        raise ScriptError("no such script", "NONEXISTENT")
    return row.content


def have_space(session: Session, user: str, name: str, size: int) -> bool:
    """Whether a script of ``size`` bytes under ``name`` fits the quota."""
    if size > MAX_SCRIPT_BYTES:
        return False
    names = {n for n, _ in list_scripts(session, user)}
    return name in names or len(names) < MAX_SCRIPTS


def put_script(session: Session, user: str, name: str, content: str) -> None:
    """Store (create or replace) a script after validating it; the caller commits."""
    check_name(name)
    if not have_space(session, user, name, len(content.encode())):
        raise ScriptError("script quota exceeded", "QUOTA")
    reason = check_script(content)
    if reason is not None:
        raise ScriptError(f"script error: {reason}")
    row = _row(session, user, name)
    if row is None:
        session.add(
            SieveScript(user_address=user.lower(), name=name, content=content, active=False)
        )
    else:
        row.content = content
        row.updated_at = utcnow()


def set_active(session: Session, user: str, name: str) -> None:
    """Make ``name`` the active script ("" deactivates every script); the caller commits."""
    if name and _row(session, user, name) is None:
        raise ScriptError("no such script", "NONEXISTENT")
    for row in session.scalars(select(SieveScript).where(SieveScript.user_address == user.lower())):
        row.active = row.name == name


def delete_script(session: Session, user: str, name: str) -> None:
    """Delete a script that is not active; the caller commits."""
    row = _row(session, user, name)
    if row is None:
        raise ScriptError("no such script", "NONEXISTENT")
    if row.active:
        raise ScriptError("script is active", "ACTIVE")
    session.delete(row)


def rename_script(session: Session, user: str, old: str, new: str) -> None:
    """Rename a script (keeping whether it is active); the caller commits."""
    check_name(new)
    row = _row(session, user, old)
    if row is None:
        raise ScriptError("no such script", "NONEXISTENT")
    if _row(session, user, new) is not None:
        raise ScriptError("a script of that name exists", "ALREADYEXISTS")
    row.name = new
    row.updated_at = utcnow()


def active_script(session: Session, user: str) -> str | None:
    """The text of the user's active script, or None."""
    return session.scalar(
        select(SieveScript.content).where(
            SieveScript.user_address == user.lower(), SieveScript.active.is_(True)
        )
    )


__all__ = [
    "ScriptError",
    "SieveSyntaxError",
    "active_script",
    "check_name",
    "delete_script",
    "get_script",
    "have_space",
    "list_scripts",
    "put_script",
    "rename_script",
    "set_active",
]
