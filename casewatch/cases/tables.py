"""Tables for the case event log and its projections.

`events` is append-only: the source of truth. `cases` is a projection rebuilt from the
events in the same transaction that appends them. Victim personal data sits in
`personal_data`, apart from the facts, so it can be restricted and erased without
touching the statistics.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, MetaData, String, Text, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from casewatch.cases.db import UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER only


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy's API


class ImportBatch(Base):
    """One accepted import: where it came from and what it did."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(500))
    recorded_at: Mapped[datetime]
    read: Mapped[int]
    applied: Mapped[int]
    duplicates: Mapped[int]


class EventRow(Base):
    """An accepted event. Never updated; ordered per case by (at, import_id, line)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_case_order", "case_id", "at", "import_id", "line"),
        # Partnership measures count events of one type in a period (referrals to MARAC,
        # incidents, assessments): a range scan here, not a scan of every event.
        Index("ix_events_type_at", "type", "at"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"))
    line: Mapped[int]
    payload: Mapped[str] = mapped_column(Text)
    derived: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class PersonalDataRow(Base):
    """Victim personal data from an event, kept apart from the event's facts."""

    __tablename__ = "personal_data"

    event_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("events.event_id"), primary_key=True
    )
    case_id: Mapped[str] = mapped_column(String(200), index=True)
    data: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[datetime | None]


class CaseRow(Base):
    """The current state of a case, folded from all its events."""

    __tablename__ = "cases"
    __table_args__ = (
        # A page of the case list, per team: those with no target ahead by reference...
        Index("ix_cases_team_status", "team", "status", "case_id"),
        # ... those with a target ahead by its due time, and those overdue beside one ahead.
        Index("ix_cases_team_due", "team", "status", "rag_due_at", "case_id"),
        Index("ix_cases_team_last_due", "team", "status", "rag_last_due_at"),
        Index("ix_cases_victim_link", "victim_link"),
        # The team page counts a manager's open cases by RAG off this index alone.
        Index(
            "ix_cases_team_rag",
            "team",
            "status",
            "rag_breached",
            "rag_due_at",
            "rag_warn_at",
            "risk_level",
        ),
    )

    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_type: Mapped[str | None] = mapped_column(String(40))
    team: Mapped[str | None] = mapped_column(String(200))
    caseworker: Mapped[str | None] = mapped_column(String(200))
    # The keyed pseudonym of the victim's reference (cases.linking): not personal data.
    victim_link: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    risk_level: Mapped[str | None] = mapped_column(String(20))
    risk_matrix: Mapped[str | None] = mapped_column(String(20))
    risk_score: Mapped[int | None]
    incident_count: Mapped[int] = mapped_column(Integer, default=0)
    event_count: Mapped[int]
    last_event_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # What the RAG at any moment needs from the case's cycles (engine.store writes them
    # with the cycles): a breached outcome, and the soonest due and warning times of the
    # running ones. Red = breached or due passed; amber = warning passed. The latest due
    # time of the running ones says whether any is still due once the soonest has passed.
    rag_breached: Mapped[bool] = mapped_column(default=False, server_default=false())
    rag_running: Mapped[bool] = mapped_column(default=False, server_default=false())
    rag_due_at: Mapped[datetime | None]
    rag_warn_at: Mapped[datetime | None]
    rag_last_due_at: Mapped[datetime | None]
    # Optimistic concurrency: every projection write checks and bumps it.
    version: Mapped[int] = mapped_column(Integer, default=1)


class LinkSecretRow(Base):
    """This deployment's secret for victim links: made once, on first use, and carried
    by export/restore so a restored database links new cases to old ones."""

    __tablename__ = "victim_link_secret"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
