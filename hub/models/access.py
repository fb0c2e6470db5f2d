"""Registered API clients and the access log (UU PDP art. 31: every processing of personal data is recorded)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Index, String, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from hub.db.base import Base, Timestamps, UUIDPk


class ApiClient(UUIDPk, Timestamps, Base):
    """A third-party application or ministry system allowed to use the client-credentials grant."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(Text)  # argon2id; the secret itself is shown once and never stored
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    regions: Mapped[list[str]] = mapped_column(ARRAY(String(13)))
    programmes: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")
    purpose: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccessLog(Base):
    """One GraphQL operation that touched personal data, allowed or denied.

    Rows are inserted by the request (``seq``/``prev_hash``/``hash`` empty) and chained later by the
    sealer in one total order. A trigger rejects DELETE, TRUNCATE and any UPDATE other than sealing a
    pending row once; the app role holds only INSERT and SELECT.
    """

    __tablename__ = "access_logs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    logged_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp(), nullable=False)
    actor: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(String(32))
    scope: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    purpose: Mapped[str | None] = mapped_column(Text)
    operation_name: Mapped[str | None] = mapped_column(Text)
    operation_type: Mapped[str | None] = mapped_column(String(16))
    document_hash: Mapped[str | None] = mapped_column(String(64))
    person_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    household_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), server_default="{}")
    record_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    fields: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    outcome: Mapped[str] = mapped_column(String(16))
    # personal: records were (or could have been) returned; aggregate: only counts (the dashboard).
    kind: Mapped[str] = mapped_column(String(16), server_default="personal")
    error_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    source_ip: Mapped[str | None] = mapped_column(Text)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("outcome IN ('allowed', 'denied', 'error')", name="outcome"),
        CheckConstraint("kind IN ('personal', 'aggregate')", name="kind"),
        CheckConstraint("(seq IS NULL) = (hash IS NULL) AND (seq IS NULL) = (prev_hash IS NULL)", name="sealed"),
        # "What did actor X read between T1 and T2" and the same per client: a range scan, newest first.
        Index("ix_access_logs_actor_time", "actor", "logged_at", "id"),
        Index("ix_access_logs_client_time", "client_id", "logged_at", "id"),
        Index("ix_access_logs_time", "logged_at", "id"),
        # "Who read person P / household H": containment on the id arrays.
        # Entries go to a pending list (cheap to append to), which the access-log writer merges in the
        # background every few hundred entries (hub.audit.writer, migration 0013).
        Index("ix_access_logs_person_ids", "person_ids", postgresql_using="gin",
              postgresql_with={"fastupdate": "on"}),
        Index("ix_access_logs_household_ids", "household_ids", postgresql_using="gin",
              postgresql_with={"fastupdate": "on"}),
        # The sealer's queue: only pending rows are in this index.
        Index("ix_access_logs_pending", "logged_at", "id", postgresql_where=text("seq IS NULL")),
    )
