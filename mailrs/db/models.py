"""SQLAlchemy models of the central database: accounts and the pipeline state of messages."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from mailrs.queue.states import DeliveryKind, DeliveryState, MessageState, RecipientState

_E = TypeVar("_E", bound=StrEnum)


def new_user_uid() -> str:
    """A fresh random account identifier (never reused, unlike a SQLite row id)."""
    return uuid.uuid4().hex


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Store as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Read back as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class EnumText(TypeDecorator[_E]):
    """A ``StrEnum`` kept as its plain value in a VARCHAR (no database enum type)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[_E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: _E | str | None, dialect: Dialect) -> str | None:
        """Store the value; anything that is not one of the enum's values is refused."""
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> _E | None:
        """Read back as the enum member."""
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    """Declarative base of every model."""


class Domain(Base):
    """A domain that this installation receives mail for."""

    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(253), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # DKIM selectors (mailrs.accounts.domains): the one signing now, a new one published
    # but not yet signing (rotation), and an old one still published until retired.
    dkim_selector: Mapped[str | None] = mapped_column(String(63), nullable=True)
    dkim_next_selector: Mapped[str | None] = mapped_column(String(63), nullable=True)
    dkim_old_selector: Mapped[str | None] = mapped_column(String(63), nullable=True)


class User(Base):
    """A mail account: its address is also its login."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The identity tokens and sessions name: random, so a deleted account's token can
    # never match a later account that happens to get the same row id.
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_user_uid)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="RESTRICT"))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    domain: Mapped[Domain] = relationship()


class Alias(Base):
    """One destination of an alias address; an alias with several rows fans out."""

    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("source", "destination", name="uq_alias_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(254), index=True)
    destination: Mapped[str] = mapped_column(String(254))
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    """One accepted message: its envelope, spool file and pipeline state."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[str] = mapped_column(String(32), unique=True)
    mail_from: Mapped[str] = mapped_column(String(254))
    size: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[MessageState] = mapped_column(
        EnumText(MessageState, 16), default=MessageState.RECEIVED, index=True
    )
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by: Mapped[str] = mapped_column(String(255), default="")
    client_addr: Mapped[str] = mapped_column(String(64), default="")
    helo: Mapped[str] = mapped_column(String(255), default="")
    auth_user: Mapped[str | None] = mapped_column(String(254), nullable=True)
    protocol: Mapped[str] = mapped_column(String(16), default="")
    tls: Mapped[str] = mapped_column(String(128), default="")
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    added_headers: Mapped[str] = mapped_column(Text, default="")
    defects: Mapped[str] = mapped_column(Text, default="")
    spam_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    spam_verdict: Mapped[str] = mapped_column(String(16), default="")
    spam_symbols: Mapped[str] = mapped_column(Text, default="")
    # what the From domain's DMARC policy did to it: none | quarantine (filed to Junk)
    dmarc_disposition: Mapped[str] = mapped_column(String(16), default="", server_default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    warned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dsn_ret: Mapped[str] = mapped_column(String(4), default="", server_default="")
    dsn_envid: Mapped[str] = mapped_column(String(100), default="", server_default="")
    require_tls: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    recipients: Mapped[list[Recipient]] = relationship(
        back_populates="message", order_by="Recipient.idx", cascade="all, delete-orphan"
    )
    events: Mapped[list[MessageEvent]] = relationship(
        back_populates="message", order_by="MessageEvent.id", cascade="all, delete-orphan"
    )
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="message", order_by="Delivery.id", cascade="all, delete-orphan"
    )
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="message", order_by="DeliveryAttempt.id", cascade="all, delete-orphan"
    )


class Recipient(Base):
    """One envelope recipient of a message and how far its delivery got."""

    __tablename__ = "message_recipients"
    __table_args__ = (UniqueConstraint("message_id", "idx", name="uq_recipient_idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(254))
    state: Mapped[RecipientState] = mapped_column(
        EnumText(RecipientState, 16), default=RecipientState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_as: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    notify: Mapped[str] = mapped_column(String(32), default="", server_default="")  # RFC 3461
    orcpt: Mapped[str] = mapped_column(String(512), default="", server_default="")

    message: Mapped[Message] = relationship(back_populates="recipients")


class MessageEvent(Base):
    """One step in a message's history (received, validated, delivered, ...)."""

    __tablename__ = "message_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    stage: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")

    message: Mapped[Message] = relationship(back_populates="events")


class Delivery(Base):
    """One final target of a message after routing: a local account or a remote address."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("message_id", "kind", "address", name="uq_delivery"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    rcpt_idx: Mapped[int] = mapped_column(Integer)
    kind: Mapped[DeliveryKind] = mapped_column(EnumText(DeliveryKind, 8))
    address: Mapped[str] = mapped_column(String(254))
    domain: Mapped[str] = mapped_column(String(253), default="")
    folder: Mapped[str] = mapped_column(String(64), default="INBOX")
    state: Mapped[DeliveryState] = mapped_column(
        EnumText(DeliveryState, 16), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="")  # RFC 3463 code, e.g. 5.1.1
    last_error: Mapped[str] = mapped_column(Text, default="")
    remote_mta: Mapped[str] = mapped_column(String(255), default="")
    delivered_as: Mapped[str] = mapped_column(String(255), default="")
    dsn_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[Message] = relationship(back_populates="deliveries")


class DeliveryAttempt(Base):
    """One outbound SMTP attempt (one host, one destination domain) and what it gave."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    domain: Mapped[str] = mapped_column(String(253))
    host: Mapped[str] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(16))  # sent | partial | temporary | permanent
    detail: Mapped[str] = mapped_column(Text, default="")

    message: Mapped[Message] = relationship(back_populates="attempt_log")


class ChatMessage(Base):
    """One turn of a user's conversation with the web assistant (kept per user)."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # "user" or "assistant"
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginEvent(Base):
    """One web or API login attempt: who, from where, and whether it worked (audit)."""

    __tablename__ = "login_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    address: Mapped[str] = mapped_column(String(254), index=True)
    client_addr: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))  # "web" or "api"
    outcome: Mapped[str] = mapped_column(String(16))  # "ok", "failed" or "throttled"


class AuthSession(Base):
    """One web session or API token: revoked by deleting its row (logout, password change)."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_uid: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "web" or "api"
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    client_addr: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class AuthCounter(Base):
    """A login-throttle counter shared by smtpd, imapd and web on the embedded default."""

    __tablename__ = "auth_counters"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # Unix time


class ImportedMessage(Base):
    """A message ``mailrs import imap`` copied in: re-running the import skips it."""

    __tablename__ = "imported_messages"
    __table_args__ = (UniqueConstraint("address", "source", "folder", "uidvalidity", "uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(254), index=True)  # the local user
    source: Mapped[str] = mapped_column(String(512))  # imap://login@host:port
    folder: Mapped[str] = mapped_column(String(512))  # the source's folder name
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SieveScript(Base):
    """One user's Sieve script (ManageSieve and the web write them); at most one is active."""

    __tablename__ = "sieve_scripts"
    __table_args__ = (UniqueConstraint("user_address", "name", name="uq_sieve_scripts_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_address: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(128))
    content: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class VacationReply(Base):
    """When a user's vacation last answered a sender (RFC 5230 section 4.2 duplicates)."""

    __tablename__ = "sieve_vacation_replies"
    __table_args__ = (
        UniqueConstraint("user_address", "sender", "handle", name="uq_sieve_vacation_sender"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_address: Mapped[str] = mapped_column(String(254), index=True)
    sender: Mapped[str] = mapped_column(String(254))
    handle: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MtaStsPolicy(Base):
    """A recipient domain's MTA-STS policy (RFC 8461), cached until ``expires_at``."""

    __tablename__ = "mta_sts_policies"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    policy_id: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(8))
    mx: Mapped[str] = mapped_column(Text)  # one pattern per line
    max_age: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TlsResult(Base):
    """One outbound SMTP session's TLS outcome, for the daily TLS-RPT report (RFC 8460)."""

    __tablename__ = "tls_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    policy_domain: Mapped[str] = mapped_column(String(253))
    policy_type: Mapped[str] = mapped_column(String(16))  # sts | no-policy-found
    policy_text: Mapped[str] = mapped_column(Text, default="")
    mx_host: Mapped[str] = mapped_column(String(255), default="")
    receiving_ip: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[str] = mapped_column(String(40))  # success, or an RFC 8460 result type
    detail: Mapped[str] = mapped_column(Text, default="")


class DmarcReport(Base):
    """A DMARC aggregate report another receiver sent about our domain (RFC 7489)."""

    __tablename__ = "dmarc_reports"
    __table_args__ = (UniqueConstraint("org_name", "report_id", name="uq_dmarc_reports_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_name: Mapped[str] = mapped_column(String(200))
    report_id: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(253), index=True)
    policy: Mapped[str] = mapped_column(String(16))
    begin: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    records: Mapped[list[DmarcRecord]] = relationship(
        back_populates="report", cascade="all, delete-orphan", order_by="DmarcRecord.id"
    )


class DmarcRecord(Base):
    """One row of an aggregate report: a source IP, a count and the evaluated policy."""

    __tablename__ = "dmarc_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("dmarc_reports.id", ondelete="CASCADE"), index=True
    )
    source_ip: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    disposition: Mapped[str] = mapped_column(String(16))
    dkim: Mapped[str] = mapped_column(String(8))
    spf: Mapped[str] = mapped_column(String(8))
    header_from: Mapped[str] = mapped_column(String(253))

    report: Mapped[DmarcReport] = relationship(back_populates="records")


class DmarcResult(Base):
    """One DMARC evaluation of a received message: a row of our aggregate reports to send."""

    __tablename__ = "dmarc_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    queue_id: Mapped[str] = mapped_column(String(32), default="")  # "" when refused in SMTP
    source_ip: Mapped[str] = mapped_column(String(64))
    header_from: Mapped[str] = mapped_column(String(253))
    envelope_from: Mapped[str] = mapped_column(String(253), default="")
    policy_domain: Mapped[str] = mapped_column(String(253), index=True)  # where the record is
    # the published record as we read it (policy_published of the report)
    record: Mapped[str] = mapped_column(Text, default="")
    disposition: Mapped[str] = mapped_column(String(16))  # none | quarantine | reject
    dkim_aligned: Mapped[str] = mapped_column(String(8))  # pass | fail
    spf_aligned: Mapped[str] = mapped_column(String(8))
    override: Mapped[str] = mapped_column(String(16), default="")  # e.g. sampled_out
    # the uninterpreted results: "d=example.org s=sel result=pass" per DKIM signature
    dkim_results: Mapped[str] = mapped_column(Text, default="")
    spf_domain: Mapped[str] = mapped_column(String(253), default="")
    spf_scope: Mapped[str] = mapped_column(String(8), default="mfrom")
    spf_result: Mapped[str] = mapped_column(String(16), default="none")
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)


class Contact(Base):
    """One address in a user's contacts: saved by hand, imported, or collected from mail."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("owner_uid", "email", name="uq_contacts_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_uid: Mapped[str] = mapped_column(String(32), index=True)  # users.uid
    email: Mapped[str] = mapped_column(String(254))  # lower-cased
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    saved: Mapped[bool] = mapped_column(Boolean, default=False)  # by hand or vCard import
    times: Mapped[int] = mapped_column(Integer, default=0)  # messages exchanged seen
    last_used: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContactHarvest(Base):
    """How far the collecting of contacts has read a user's folder (the highest UID seen)."""

    __tablename__ = "contact_harvests"
    __table_args__ = (UniqueConstraint("owner_uid", "folder", name="uq_contact_harvests"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_uid: Mapped[str] = mapped_column(String(32), index=True)
    folder: Mapped[str] = mapped_column(String(512))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)


class UserPreferences(Base):
    """A user's webmail identity: the name in From of mail sent and the signature."""

    __tablename__ = "user_preferences"

    owner_uid: Mapped[str] = mapped_column(String(32), primary_key=True)  # users.uid
    display_name: Mapped[str] = mapped_column(String(100), default="")
    signature: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
