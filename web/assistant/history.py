"""Each user's conversation with the assistant, kept in the central database."""

from __future__ import annotations

from sqlalchemy import delete, select

from mailrs.db.engine import Database
from mailrs.db.models import ChatMessage

MAX_STORED_CHARS = 20000


def record(database: Database, user_id: int, role: str, text: str, keep: int = 200) -> None:
    """Append one turn and keep only the user's newest ``keep`` turns."""
    with database.session() as session:
        session.add(ChatMessage(user_id=user_id, role=role, text=text[:MAX_STORED_CHARS]))
        session.flush()
        cutoff = session.scalars(
            select(ChatMessage.id)
            .where(ChatMessage.user_id == user_id)
            .order_by(ChatMessage.id.desc())
            .offset(keep)
            .limit(1)
        ).first()
        if cutoff is not None:
            session.execute(
                delete(ChatMessage).where(ChatMessage.user_id == user_id, ChatMessage.id <= cutoff)
            )
        session.commit()


def recent(database: Database, user_id: int, limit: int = 50) -> list[tuple[str, str]]:
    """The user's newest ``limit`` turns as (role, text), oldest first."""
    if limit <= 0:
        return []
    with database.session() as session:
        rows = session.execute(
            select(ChatMessage.role, ChatMessage.text)
            .where(ChatMessage.user_id == user_id)
            .order_by(ChatMessage.id.desc())
            .limit(limit)
        ).all()
    return [(role, text) for role, text in reversed(rows)]
