"""Connector configuration, sync runs and checkpoints, quarantine, outbox, and Dukcapil evidence."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, RegionScoped, Timestamps, UUIDPk
from hub.models.registry import str_enum


class RunStatus(StrEnum):
    queued = "queued"  # asked for (runSync, the scheduler); waiting for a worker
    running = "running"
    succeeded = "succeeded"
    mismatch = "mismatch"  # finished, but reconciliation with the source found a difference
    failed = "failed"
    crashed = "crashed"  # found still "running" by the next run: the process died
    skipped = "skipped"  # another worker held the connector's lock


class OutboxStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # permanent refusal; kept for an admin to read


class Connector(UUIDPk, Timestamps, Base):
    """One configured connection to an external system.

    ``credentials`` is a Fernet token (``hub.sync.secrets``): written, never read back through the API.
    ``region_code`` both narrows what is pulled and decides which district IT admins manage it.
    """

    __tablename__ = "connectors"

    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    base_url: Mapped[str] = mapped_column(Text)
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    schedule: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(13), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class SyncRun(UUIDPk, Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_connector_started", "connector_id", "started_at"),)

    connector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"))
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, "run_status"))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    resumed: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_pages: Mapped[int] = mapped_column(Integer, default=0)
    out_of_order_pages: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # gone from the source
    error: Mapped[str | None] = mapped_column(Text)
    reconciliation: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class SyncCheckpoint(Base):
    """Where a connector's sync stands. Written in the same transaction as each page's rows.

    ``cursor``/``page`` are set while a run is under way (a crash resumes from them) and cleared when
    it finishes; ``watermark`` is the newest source timestamp of the last finished run, the
    ``updated_since`` of the next incremental one. ``since`` is the one the current run uses.
    """

    __tablename__ = "sync_checkpoints"

    connector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"),
                                                    primary_key=True)
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    cursor: Mapped[str | None] = mapped_column(Text)
    page: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[bool] = mapped_column(Boolean, default=False)
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    run_watermark: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    watermark: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class QuarantinedRecord(UUIDPk, RegionScoped, Base):
    """A source record the hub could not take, with why, and the payload exactly as received.

    Region columns hold what could be read from the record (or the connector's region), so the
    district IT admin of that region sees it; a level that could not be read is ``''``.
    """

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("connector_id", "natural_key", "source_version",
                                       name="uq_quarantine_record_version"),
                      # the admin's newest-first pages (keyset on created_at, id)
                      Index("ix_quarantine_connector_created", "connector_id", "created_at", "id"))

    connector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("connectors.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16), default="invalid")  # invalid | unmatched
    natural_key: Mapped[str | None] = mapped_column(String(128))
    source_version: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxMessage(UUIDPk, RegionScoped, Base):
    """A push to another system, written in the transaction of the change it reports, delivered after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_created", "created_at", "id"))  # the admin's newest-first pages

    topic: Mapped[str] = mapped_column(String(64))  # e.g. baznas.referral, siks-ng.proposal
    connector_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("connectors.id", ondelete="SET NULL"))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, "outbox_status"),
                                                 default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NikCheck(UUIDPk, RegionScoped, Base):
    """Evidence of one Dukcapil check: match flags, time and reference. Never the civil-registry data."""

    __tablename__ = "nik_checks"
    __table_args__ = (Index("ix_nik_checks_checked_at", "checked_at"),)

    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    connector_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("connectors.id", ondelete="SET NULL"))
    reference: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    purpose: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(128))
    nik_found: Mapped[bool] = mapped_column(Boolean)
    name_match: Mapped[bool] = mapped_column(Boolean)
    name_similarity: Mapped[float | None] = mapped_column(Float)
    birth_date_match: Mapped[bool] = mapped_column(Boolean)
    birth_place_match: Mapped[bool] = mapped_column(Boolean)
    birth_place_similarity: Mapped[float | None] = mapped_column(Float)


class SyncConflict(UUIDPk, RegionScoped, Base):
    """Two sources disagree on a field; the lower-precedence value was not applied (see docs/connectors.md)."""

    __tablename__ = "sync_conflicts"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    kept_value: Mapped[str | None] = mapped_column(Text)
    kept_source: Mapped[str] = mapped_column(String(32))
    rejected_value: Mapped[str | None] = mapped_column(Text)
    rejected_source: Mapped[str] = mapped_column(String(32))
    rejected_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
