"""Telegram notifications: one row per (signal event or incident, chat), and every HTTP attempt made.

The row is reserved before anything is sent, so its unique keys are what makes "at most one
message per event and chat" hold across retries, crashes, threads and replicas.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import NEVER_REUSE_IDS, Base, BigIntPK


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("signal_event_id", "chat_id"),
        UniqueConstraint("dedupe_key", "chat_id"),
        Index("ix_notifications_status_created_at", "status", "created_at"),
        NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # signal | alert | report | training
    # "signal:<event id>", an alert's incident key, "report:<day>" / "report-file:<day>" (the daily
    # report's summary and its file) or "training:<job run id>"; only signals have a signal event.
    dedupe_key: Mapped[str] = mapped_column(String(200))
    signal_event_id: Mapped[int | None] = mapped_column(ForeignKey("signal_events.id", ondelete="CASCADE"))
    chat_id: Mapped[str] = mapped_column(String(64))  # an integer id or @channelname, as text
    source: Mapped[str] = mapped_column(String(16))  # who asked: endpoint | scheduler | action | alert
    status: Mapped[str] = mapped_column(String(16))  # reserved | sent | failed
    retryable: Mapped[bool]  # a failed send a later call may try again
    attempts: Mapped[int]  # HTTP attempts so far, over every call
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class NotificationAttempt(Base):
    """One sendMessage (or sendDocument) exchange with Telegram, written as it happens."""

    __tablename__ = "notification_attempts"
    __table_args__ = (UniqueConstraint("notification_id", "number"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    number: Mapped[int]  # 1, 2, ... across every call for this notification
    outcome: Mapped[str] = mapped_column(String(32))  # ok or a TelegramError outcome
    status_code: Mapped[int | None]
    detail: Mapped[str] = mapped_column(Text)
    retry_after: Mapped[int | None]
    duration_ms: Mapped[int]
    at: Mapped[datetime]
