"""Tables the engine derives from the event log: SLA cycles, flags and rule versions.

Every row here can be rebuilt by replaying a case's events under its pinned ruleset
version; they exist so the scheduler and the reports can query without replaying.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from casewatch.cases.tables import Base, BigId

LIVE_CYCLE: Final = "state = 'running' OR outcome = 'breached'"


class SlaCycleRow(Base):
    """One run of a policy's clock on a case, as derived from all of the case's events."""

    __tablename__ = "sla_cycles"
    __table_args__ = (
        UniqueConstraint("case_id", "policy", "cycle"),
        Index("ix_sla_cycles_policy_started_at", "policy", "started_at"),
        Index(
            "ix_sla_cycles_next_check_at",
            "next_check_at",
            "id",  # the scan's full sort key: a batch is read off the index, never sorted
            postgresql_where=text("next_check_at IS NOT NULL"),
            sqlite_where=text("next_check_at IS NOT NULL"),
        ),
        # The case lists' and the team page's RAG reads only the cycles that can make a
        # case red, amber or green: running, or breached. Most stored cycles are neither.
        Index(
            "ix_sla_cycles_live_case_id",
            "case_id",
            postgresql_where=text(LIVE_CYCLE),
            sqlite_where=text(LIVE_CYCLE),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(200), ForeignKey("cases.case_id"), index=True)
    policy: Mapped[str] = mapped_column(String(100))
    cycle: Mapped[int]
    policy_version: Mapped[str] = mapped_column(String(20))
    ruleset_version: Mapped[str] = mapped_column(String(20))
    working_days: Mapped[bool]
    state: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    warn_at: Mapped[datetime]
    paused_since: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    breach_reason: Mapped[str | None] = mapped_column(Text)
    exclusion_reason: Mapped[str | None] = mapped_column(Text)
    start_event_id: Mapped[str] = mapped_column(String(200))
    stop_event_id: Mapped[str | None] = mapped_column(String(200))
    # The next time the scheduler must look at this cycle: its earliest alert level not
    # yet recorded. Null when nothing is left to fire; the scan reads a partial index.
    next_check_at: Mapped[datetime | None]


class CaseFlagRow(Base):
    """A flag raised on a case, with the event and rule version that raised it."""

    __tablename__ = "case_flags"

    case_id: Mapped[str] = mapped_column(String(200), ForeignKey("cases.case_id"), primary_key=True)
    flag: Mapped[str] = mapped_column(String(100), primary_key=True)
    raised_at: Mapped[datetime]
    event_id: Mapped[str] = mapped_column(String(200))
    rule_id: Mapped[str] = mapped_column(String(200))
    rule_version: Mapped[str] = mapped_column(String(20))


class RulesetVersionRow(Base):
    """Each distinct set of rule and policy files ever used, by content hash."""

    __tablename__ = "ruleset_versions"

    version: Mapped[str] = mapped_column(String(20), primary_key=True)
    recorded_at: Mapped[datetime]
    definition: Mapped[str] = mapped_column(Text)  # JSON: rule file texts and policies


class CaseRulesetRow(Base):
    """The ruleset version a case is derived under: pinned until an explicit repair."""

    __tablename__ = "case_rulesets"

    case_id: Mapped[str] = mapped_column(String(200), ForeignKey("cases.case_id"), primary_key=True)
    ruleset_version: Mapped[str] = mapped_column(String(20), ForeignKey("ruleset_versions.version"))
    derived_at: Mapped[datetime]


class RepairRow(Base):
    """The audit record of an explicit `casewatch rules repair`."""

    __tablename__ = "rule_repairs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime]
    policy: Mapped[str] = mapped_column(String(100))
    to_version: Mapped[str] = mapped_column(String(20))
    since: Mapped[datetime | None]
    cases: Mapped[int]
    cycles_changed: Mapped[int]
    summary: Mapped[str] = mapped_column(Text)  # JSON: counts and case references


class AlertRow(Base):
    """One level of one cycle's alert ladder, recorded once (the unique key) and kept.

    A cycle is identified by (case, policy, start time), which survives re-derivation.
    An alert that a later recomputation shows should not have fired is marked
    superseded, never deleted.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("case_id", "policy", "cycle_started_at", "level"),
        # The inbox, newest first: its page is read off this index and stops at the page's
        # end instead of sorting every alert.
        Index("ix_alerts_at_id", "at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(200), ForeignKey("cases.case_id"), index=True)
    policy: Mapped[str] = mapped_column(String(100))
    cycle_started_at: Mapped[datetime]
    cycle: Mapped[int]
    level: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]  # when the level fell due
    recorded_at: Mapped[datetime]  # the check that found it
    recipients: Mapped[str] = mapped_column(Text)  # JSON list of roles
    historic: Mapped[bool]  # long past due when first found: not sent outside the inbox
    superseded: Mapped[bool]


class WaitingAlertCountRow(Base):
    """How many alerts of a team's cases, addressed to one list of recipients, are neither
    superseded nor acknowledged: what a manager's inbox counts, without reading the alerts.
    Database triggers (migration 0011) keep it in the transaction that inserts, supersedes,
    reinstates or deletes an alert, acknowledges one or moves a case to another team."""

    __tablename__ = "waiting_alerts"

    team: Mapped[str] = mapped_column(String(200), primary_key=True)
    recipients: Mapped[str] = mapped_column(Text, primary_key=True)  # as alerts.recipients
    waiting: Mapped[int] = mapped_column(BigInteger)


class MeasureFactRow(Base):
    """What the partnership measures count, narrow and typed: one row per event (its type
    and the one field a count reads) and one per span a case was open. Rebuilt from the
    case's events like the cycles (engine/facts.py), so the counts read no JSON."""

    __tablename__ = "measure_facts"
    __table_args__ = (Index("ix_measure_facts_fact_at", "fact", "at"),)

    case_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fact: Mapped[str] = mapped_column(String(40))  # an event type, or "open" for a span
    at: Mapped[datetime]
    until: Mapped[datetime | None]  # the end of an open span (None: open still)
    detail: Mapped[str | None] = mapped_column(String(100))  # case type, referral's `to`, level
    incident_at: Mapped[datetime | None]  # a referral's incident, when given
    import_id: Mapped[int | None]  # with `line`, an event's place in effect order
    line: Mapped[int | None]
    # Fixed by the case's opening, as on its case row: who the case is about (the victim's
    # link across cases, else the case) and its caseworker; kept here to spare a join.
    person: Mapped[str] = mapped_column(String(200))
    caseworker: Mapped[str | None] = mapped_column(String(200))
