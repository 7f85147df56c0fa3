"""`casewatch rules repair`: move cases to the current ruleset version, explicitly.

Cases stay pinned to the version they were first derived under; a repair re-derives the
chosen ones under the current version, reports every cycle that would change (and says
loudly when a breach would become met), and on apply writes an audit record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, insert, select

from casewatch.cases.store import load_histories, load_linked_events, lock_cases
from casewatch.cases.tables import CaseRow
from casewatch.engine.derive import Derivation
from casewatch.engine.store import Rulesets, pinned_versions, write_derivations
from casewatch.engine.tables import CaseRulesetRow, RepairRow, SlaCycleRow

BATCH = 500


@frozen
class CycleChange:
    case_id: str
    policy: str
    cycle: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def breach_to_met(self) -> bool:
        return bool(
            self.before
            and self.after
            and self.before["outcome"] == "breached"
            and self.after["outcome"] == "met"
        )


@frozen
class RepairPlan:
    policy: str
    to_version: str
    since: datetime | None
    cases: list[str]
    changes: list[CycleChange]

    def as_json(self, *, applied: bool) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "to_version": self.to_version,
            "since": self.since.isoformat() if self.since else None,
            "applied": applied,
            "cases": len(self.cases),
            "case_ids": self.cases,
            "cycles_changed": len(self.changes),
            "breaches_that_would_become_met": [
                f"{c.case_id} {c.policy} #{c.cycle}" for c in self.changes if c.breach_to_met
            ],
            "changes": [
                {
                    "case_id": c.case_id,
                    "policy": c.policy,
                    "cycle": c.cycle,
                    "before": c.before,
                    "after": c.after,
                }
                for c in self.changes
            ],
        }


def plan_repair(
    conn: Connection, rulesets: Rulesets, policy_id: str, since: datetime | None
) -> tuple[RepairPlan, list[Derivation]]:
    """Which cases a repair would move, and how each of their cycles would change."""
    policy = rulesets.current.policies[policy_id]
    query = (
        select(CaseRulesetRow.case_id)
        .join(CaseRow, CaseRow.case_id == CaseRulesetRow.case_id)
        .where(
            CaseRulesetRow.ruleset_version != rulesets.current.version,
            CaseRow.case_type.in_(sorted(policy.case_types)),
        )
        .order_by(CaseRulesetRow.case_id)
    )
    if since is not None:
        query = query.where(CaseRow.last_event_at >= since)
    case_ids = list(conn.execute(query).scalars())
    changes: list[CycleChange] = []
    derivations: list[Derivation] = []
    for offset in range(0, len(case_ids), BATCH):
        chunk = case_ids[offset : offset + BATCH]
        lock_cases(conn, chunk)  # an import committing meanwhile must not be derived over
        before = _stored(conn, chunk)
        linked = load_linked_events(conn, chunk)
        for history in load_histories(conn, chunk, dict.fromkeys(chunk)):
            derivation = rulesets.derive(
                conn, history.case_id, history.events, None, linked.get(history.case_id, ())
            )
            derivations.append(derivation)
            after = {
                (history.case_id, c.policy, c.number): _summary(
                    c.state, c.outcome, c.due_at, c.stopped_at
                )
                for c in derivation.cycles
            }
            keys = {k for k in (*before, *after) if k[0] == history.case_id}
            changes.extend(
                CycleChange(key[0], key[1], key[2], before.get(key), after.get(key))
                for key in sorted(keys)
                if before.get(key) != after.get(key)
            )
    plan = RepairPlan(policy_id, rulesets.current.version, since, case_ids, changes)
    return plan, derivations


def apply_repair(
    conn: Connection, rulesets: Rulesets, plan: RepairPlan, derivations: Sequence[Derivation]
) -> None:
    rulesets.record_current(conn)
    pinned = pinned_versions(conn, [d.state.case_id for d in derivations])
    write_derivations(conn, derivations, pinned, rulesets)
    conn.execute(
        insert(RepairRow).values(
            recorded_at=datetime.now(UTC),
            policy=plan.policy,
            to_version=plan.to_version,
            since=plan.since,
            cases=len(plan.cases),
            cycles_changed=len(plan.changes),
            summary=json.dumps(plan.as_json(applied=True), sort_keys=True),
        )
    )


def _stored(
    conn: Connection, case_ids: Sequence[str]
) -> dict[tuple[str, str, int], dict[str, Any]]:
    rows = conn.execute(
        select(
            SlaCycleRow.case_id,
            SlaCycleRow.policy,
            SlaCycleRow.cycle,
            SlaCycleRow.state,
            SlaCycleRow.outcome,
            SlaCycleRow.due_at,
            SlaCycleRow.stopped_at,
        ).where(SlaCycleRow.case_id.in_(case_ids))
    )
    return {
        (r.case_id, r.policy, r.cycle): _summary(r.state, r.outcome, r.due_at, r.stopped_at)
        for r in rows
    }


def _summary(
    state: str, outcome: str | None, due_at: datetime, stopped_at: datetime | None
) -> dict[str, Any]:
    return {
        "state": state,
        "outcome": outcome,
        "due_at": due_at.astimezone(UTC).isoformat(),
        "stopped_at": stopped_at.astimezone(UTC).isoformat() if stopped_at else None,
    }
