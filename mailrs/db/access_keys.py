"""The table of URLAUTH mailbox access keys (RFC 4467), beside ``models`` (which holds
every other table and is at the module size limit); same declarative base."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mailrs.db.models import Base, UTCDateTime, utcnow


class UrlauthKey(Base):
    """A mailbox access key: the secret that signs a user's URLAUTH URLs for one
    mailbox. Random, never derived from anything else; RESETKEY replaces it."""

    __tablename__ = "urlauth_keys"

    owner_uid: Mapped[str] = mapped_column(String(32), primary_key=True)  # users.uid
    mailbox: Mapped[str] = mapped_column(String(512), primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
