"""Persisting derivations: the cycles and flags tables, and pinned ruleset versions.

A case is derived under the ruleset version it was first derived under, so a change to a
rule or policy file never silently rewrites an existing case's history; `rules repair`
moves cases to the current version explicitly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from attrs import frozen
from sqlalchemy import Connection, and_, bindparam, delete, exists, func, select, update

from casewatch.cases.db import bulk_insert, upsert_insert
from casewatch.cases.events import CaseOpened, Event
from casewatch.cases.state import LinkedEvent
from casewatch.cases.store import (
    CaseHistory,
    CaseProjector,
    linked_cases,
    load_histories,
    load_linked_events,
    lock_cases,
)
from casewatch.cases.tables import CaseRow
from casewatch.engine.alerts import Level, next_check, schedule
from casewatch.engine.calendar import WorkCalendar
from casewatch.engine.cycles import Cycle
from casewatch.engine.derive import Derivation, derive
from casewatch.engine.evaluators import Evaluator
from casewatch.engine.policies import policies_from_mapping
from casewatch.engine.rules import RuleSet, load_rule_files
from casewatch.engine.tables import (
    AlertRow,
    CaseFlagRow,
    CaseRulesetRow,
    RulesetVersionRow,
    SlaCycleRow,
)

EvaluatorFactory = Callable[[RuleSet], Evaluator]
CycleKey = tuple[str, str, datetime]  # case, policy, start: a cycle's lasting identity


class Rulesets:
    """The current ruleset and every pinned one, loaded from the database on demand."""

    def __init__(
        self,
        current: RuleSet,
        definition: Mapping[str, Any],
        make_evaluator: EvaluatorFactory,
        calendar: WorkCalendar,
    ) -> None:
        self.current = current
        self.definition = definition
        self.make_evaluator = make_evaluator
        self.calendar = calendar
        self._loaded: dict[str, tuple[RuleSet, Evaluator]] = {}
        self._seen_recorded = False

    def record_current(self, conn: Connection) -> None:
        """Store the current version's definition once, so it can be reloaded later.
        Two writers meeting a new version at once both insert: the second's is dropped.

        Once it has been found stored, it is not looked up again by these Rulesets (one
        kept for a process's writes asks once): found by a transaction that had not
        inserted it, it was committed by another, and versions are never deleted."""
        if self._seen_recorded:
            return
        known = conn.execute(
            select(RulesetVersionRow.version).where(
                RulesetVersionRow.version == self.current.version
            )
        ).first()
        if known is not None:
            self._seen_recorded = True
            return
        conn.execute(
            upsert_insert(conn, RulesetVersionRow)
            .values(
                version=self.current.version,
                recorded_at=datetime.now(UTC),
                definition=json.dumps(self.definition, sort_keys=True),
            )
            .on_conflict_do_nothing(index_elements=["version"])
        )

    def get(self, conn: Connection, version: str | None) -> tuple[RuleSet, Evaluator]:
        version = version or self.current.version
        if version not in self._loaded:
            if version == self.current.version:
                rules = self.current
            else:
                stored = conn.execute(
                    select(RulesetVersionRow.definition).where(RulesetVersionRow.version == version)
                ).scalar_one()
                data = json.loads(stored)
                policies = policies_from_mapping(data["policies"], f"ruleset {version}")
                rules = load_rule_files(data["rules"].items(), policies)
            self._loaded[version] = (rules, self.make_evaluator(rules))
        return self._loaded[version]

    def derive(
        self,
        conn: Connection,
        case_id: str,
        events: Sequence[Event],
        version: str | None,
        linked: Sequence[LinkedEvent] = (),
    ) -> Derivation:
        """`linked`: the incidents and referrals of the cases linked to this one
        (cases.store.load_linked_events), read with the same `as_of` as `events`."""
        rules, evaluator = self.get(conn, version)
        return derive(case_id, events, rules, evaluator, self.calendar, linked=linked)


def pinned_versions(conn: Connection, case_ids: Sequence[str]) -> dict[str, str]:
    return dict(
        conn.execute(
            select(CaseRulesetRow.case_id, CaseRulesetRow.ruleset_version).where(
                CaseRulesetRow.case_id.in_(case_ids)
            )
        ).all()
    )


class CycleProjector:
    """Keeps sla_cycles and case_flags equal to each case's derivation."""

    def __init__(self, rulesets: Rulesets) -> None:
        self.rulesets = rulesets
        self._recorded = False

    def project(self, conn: Connection, histories: Sequence[CaseHistory]) -> None:
        derived = self.derive(conn, histories)
        self.write(conn, derived.histories, derived.derivations, derived.pinned)

    def derive(self, conn: Connection, histories: Sequence[CaseHistory]) -> Derived:
        """Each case's derivation under the ruleset version it is pinned to, and the pins.
        The cases linked to these (the same victim's) come back with them: an event on one
        case can raise a flag on another. Each case's victim link is its opening's (what
        its row holds), so a case without one costs no lookup of linked cases."""
        histories = [*histories, *_linked_histories(conn, histories)]
        existing = _existing(histories)
        pinned = pinned_versions(conn, existing) if existing else {}
        ids = [h.case_id for h in histories]
        linked = load_linked_events(conn, ids, links=_links(histories))
        derivations = [
            self.rulesets.derive(
                conn, h.case_id, h.events, pinned.get(h.case_id), linked.get(h.case_id, ())
            )
            for h in histories
        ]
        return Derived(histories, derivations, pinned, linked)

    def write(
        self,
        conn: Connection,
        histories: Sequence[CaseHistory],
        derivations: Sequence[Derivation],
        pinned: Mapping[str, str],
        rag_written: Collection[str] = (),
    ) -> None:
        """`rag_written`: cases whose row got its RAG columns with the rest of it."""
        if not self._recorded:
            self.rulesets.record_current(conn)
            self._recorded = True
        write_derivations(
            conn,
            derivations,
            pinned,
            self.rulesets,
            existing=_existing(histories),
            rag_written=rag_written,
        )


@frozen
class Derived:
    """What CycleProjector.derive read and derived: the histories (the linked cases'
    after the given ones), their derivations in the same order, the ruleset pins, and
    each case's linked cases' events that its derivation counted."""

    histories: list[CaseHistory]
    derivations: list[Derivation]
    pinned: dict[str, str]
    linked: Mapping[str, Sequence[LinkedEvent]]


# Told what a DerivedProjector derived, in the transaction that writes it.
DerivedHook = Callable[[Derived], None]


def _links(histories: Sequence[CaseHistory]) -> dict[str, str]:
    return {h.case_id: link for h in histories if (link := h.victim_link) is not None}


def _existing(histories: Sequence[CaseHistory]) -> list[str]:
    """Cases that may have stored rows. One with no projection row yet (version None) has
    nothing stored to look up or replace: skipping it keeps a bulk import off the growing
    tables."""
    return [h.case_id for h in histories if h.version is not None]


class DerivedProjector:
    """The case row, the cycles and the flags of each case from one derivation: the case
    is folded once for all of them (the derivation folds its state on the way), and the
    row's RAG columns are written with the rest of the row.

    `on_derived` is told what was derived and written (a write that answers with the
    case uses the derivation it made)."""

    def __init__(self, rulesets: Rulesets, on_derived: DerivedHook | None = None) -> None:
        self.cases = CaseProjector()
        self.cycles = CycleProjector(rulesets)
        self.on_derived = on_derived

    def project(self, conn: Connection, histories: Sequence[CaseHistory]) -> None:
        own = {h.case_id for h in histories}
        histories = self._register_new_links(conn, histories)
        derived = self.cycles.derive(conn, histories)
        histories, derivations, pinned = derived.histories, derived.derivations, derived.pinned
        # Linked cases come back for their flags; their own rows do not change.
        mine = [d for d in derivations if d.state.case_id in own]
        states = {d.state.case_id: d.state for d in mine}
        rag = {d.state.case_id: rag_columns(d.cycles) for d in mine}
        reread = self.cases.write_states(
            conn, [h for h in histories if h.case_id in own], states, rag
        )
        if reread:
            # Another writer changed these cases in between: derive them again from the
            # events the case rows were just written from (their RAG columns too).
            again = self.cycles.derive(conn, list(reread.values()))
            fresh = {d.state.case_id: d for d in again.derivations}
            derivations = [fresh.get(d.state.case_id, d) for d in derivations]
            histories = [reread.get(h.case_id, h) for h in histories]
            pinned = {**pinned, **again.pinned}
            derived = Derived(histories, derivations, pinned, {**derived.linked, **again.linked})
        self.cycles.write(conn, histories, derivations, pinned, rag_written=own - set(reread))
        if self.on_derived is not None:
            self.on_derived(derived)

    def _register_new_links(
        self, conn: Connection, histories: Sequence[CaseHistory]
    ) -> Sequence[CaseHistory]:
        """Derivations find a victim's cases through their rows, so a new case that opens
        with a victim link gets its row before anything is derived (folded once more: only
        these cases pay for it). Their histories come back with the row's version."""
        new = [h for h in histories if h.version is None and _opens_linked(h)]
        if not new:
            return histories
        self.cases.write_states(conn, new)
        ids, records = [h.case_id for h in new], all(h.records for h in new)
        stored = {h.case_id: h for h in load_histories(conn, ids, records=records)}
        return [stored.get(h.case_id, h) for h in histories]


def _opens_linked(history: CaseHistory) -> bool:
    return any(isinstance(e, CaseOpened) and e.victim_link for e in history.events)


def _linked_histories(conn: Connection, histories: Sequence[CaseHistory]) -> list[CaseHistory]:
    """The cases linked to these (the same victim's) that are not among them: an event on
    one case can raise a flag on another, so they are derived again too (locked first,
    like every case a writer re-derives)."""
    ids = {h.case_id for h in histories}
    links = _links(histories)
    if not links:
        return []
    found = linked_cases(conn, list(ids), links)
    others = sorted({other for linked in found.values() for other in linked} - ids)
    if not others:
        return []
    lock_cases(conn, others)
    return load_histories(conn, others)


def recorded_levels(conn: Connection, case_ids: Sequence[str]) -> dict[CycleKey, dict[str, int]]:
    """Alerts already recorded for these cases: cycle -> {level: alert id}."""
    recorded: dict[CycleKey, dict[str, int]] = defaultdict(dict)
    for row in conn.execute(
        select(
            AlertRow.id,
            AlertRow.case_id,
            AlertRow.policy,
            AlertRow.cycle_started_at,
            AlertRow.level,
        ).where(AlertRow.case_id.in_(case_ids))
    ):
        recorded[(row.case_id, row.policy, row.cycle_started_at)][row.level] = row.id
    return recorded


def cycle_schedule(
    rulesets: Rulesets, conn: Connection, derivation: Derivation, cycle: Cycle
) -> list[Level]:
    rules, _ = rulesets.get(conn, derivation.ruleset_version)
    return schedule(cycle, rules.policies[cycle.policy], rulesets.calendar)


def write_derivations(
    conn: Connection,
    derivations: Sequence[Derivation],
    pinned: Mapping[str, str],
    rulesets: Rulesets,
    existing: Sequence[str] | None = None,
    *,
    rag_written: Collection[str] = (),
) -> None:
    """Replace the stored cycles and flags of these cases with their derivations, set each
    cycle's next check from its alert ladder, and mark recorded alerts that the new
    derivation shows should not have fired as superseded (never deleting them).

    `existing` names the cases that may have stored rows (default: all of them);
    `rag_written` those whose row's RAG columns were written already, from the same
    derivation, with the rest of the row."""
    ids = [d.state.case_id for d in derivations] if existing is None else list(existing)
    now = datetime.now(UTC)
    recorded = recorded_levels(conn, ids) if ids else {}
    cycles: list[dict[str, Any]] = []
    superseded: list[int] = []
    reinstated: list[int] = []
    for derivation in derivations:
        case_id = derivation.state.case_id
        live: set[tuple[CycleKey, str]] = set()
        for cycle in derivation.cycles:
            key = (case_id, cycle.policy, cycle.started_at)
            levels = cycle_schedule(rulesets, conn, derivation, cycle)
            live.update((key, level.name) for level in levels)
            row = cycle_row(case_id, derivation.ruleset_version, cycle)
            row["next_check_at"] = next_check(levels, set(recorded.get(key, {})))
            cycles.append(row)
        for key, levels_recorded in recorded.items():
            if key[0] == case_id:
                for level, alert_id in levels_recorded.items():
                    (reinstated if (key, level) in live else superseded).append(alert_id)
    if ids:
        conn.execute(delete(SlaCycleRow).where(SlaCycleRow.case_id.in_(ids)))
        conn.execute(delete(CaseFlagRow).where(CaseFlagRow.case_id.in_(ids)))
    bulk_insert(conn, SlaCycleRow, cycles)
    _write_rag(conn, [d for d in derivations if d.state.case_id not in rag_written])
    if superseded:
        conn.execute(update(AlertRow).where(AlertRow.id.in_(superseded)).values(superseded=True))
    if reinstated:
        conn.execute(update(AlertRow).where(AlertRow.id.in_(reinstated)).values(superseded=False))
    flags = [
        {
            "case_id": d.state.case_id,
            "flag": f.flag,
            "raised_at": f.raised_at,
            "event_id": f.event_id,
            "rule_id": f.rule_id,
            "rule_version": f.rule_version,
        }
        for d in derivations
        for f in d.flags
    ]
    bulk_insert(conn, CaseFlagRow, flags)
    new = [d for d in derivations if d.state.case_id not in pinned]
    bulk_insert(
        conn,
        CaseRulesetRow,
        [
            {"case_id": d.state.case_id, "ruleset_version": d.ruleset_version, "derived_at": now}
            for d in new
        ],
    )
    moved = [
        d
        for d in derivations
        if pinned.get(d.state.case_id, d.ruleset_version) != d.ruleset_version
    ]
    for derivation in moved:
        conn.execute(
            update(CaseRulesetRow)
            .where(CaseRulesetRow.case_id == derivation.state.case_id)
            .values(ruleset_version=derivation.ruleset_version, derived_at=now)
        )


def rag_columns(cycles: Sequence[Cycle]) -> dict[str, Any]:
    """The case row's RAG columns for its cycles: all a case list needs to say red,
    amber or green at any moment without reading the cycles."""
    running = [c for c in cycles if c.state == "running"]
    return {
        "rag_breached": any(c.outcome == "breached" for c in cycles),
        "rag_running": bool(running),
        "rag_due_at": min((c.due_at for c in running), default=None),
        "rag_warn_at": min((c.warn_at for c in running), default=None),
        "rag_last_due_at": max((c.due_at for c in running), default=None),
    }


def _write_rag(conn: Connection, derivations: Sequence[Derivation]) -> None:
    """Keep each case row's RAG columns equal to the cycles just written."""
    if derivations:
        conn.execute(
            update(CaseRow).where(CaseRow.case_id == bindparam("rag_case_id")),
            [{"rag_case_id": d.state.case_id, **rag_columns(d.cycles)} for d in derivations],
        )


def refresh_rag_columns(conn: Connection) -> None:
    """Set every case row's RAG columns from its stored cycles, in one statement: for a
    database whose cycles were written before the columns existed, or written directly."""
    s, c = SlaCycleRow, CaseRow
    running = and_(s.case_id == c.case_id, s.state == "running")
    conn.execute(
        update(CaseRow).values(
            rag_breached=exists().where(s.case_id == c.case_id, s.outcome == "breached"),
            rag_running=exists().where(running),
            rag_due_at=select(func.min(s.due_at)).where(running).scalar_subquery(),
            rag_warn_at=select(func.min(s.warn_at)).where(running).scalar_subquery(),
            rag_last_due_at=select(func.max(s.due_at)).where(running).scalar_subquery(),
        )
    )


def cycle_row(case_id: str, ruleset_version: str, cycle: Any) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "policy": cycle.policy,
        "cycle": cycle.number,
        "policy_version": cycle.policy_version,
        "ruleset_version": ruleset_version,
        "working_days": cycle.working_days,
        "state": cycle.state,
        "started_at": cycle.started_at,
        "due_at": cycle.due_at,
        "warn_at": cycle.warn_at,
        "paused_since": cycle.paused_since,
        "stopped_at": cycle.stopped_at,
        "outcome": cycle.outcome,
        "breach_reason": cycle.breach_reason,
        "exclusion_reason": cycle.exclusion_reason,
        "start_event_id": cycle.start_event_id,
        "stop_event_id": cycle.stop_event_id,
    }
