"""`casewatch whatif`: a period's SLA report as it reads now beside the report it would
have been had a proposed configuration been in force from the start.

`current` is `report sla`'s own cohort, cycle by cycle. `proposed` replays every case
that can hold a cycle of the cohort — one with an event in the period, up to `as_of` —
from its event log under the proposal, as a fresh database that imported the same events
under it would have derived them: risk assessments re-scored where the proposal's matrix
differs from the one they were scored under, every case under the proposed rules whatever
ruleset it is pinned to, its cycles and outcomes as of `as_of`. Nothing is written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from zoneinfo import ZoneInfo

from attrs import frozen
from sqlalchemy import Connection, and_, select

from casewatch.cases.events import Event, RiskAssessed, SlaEvent
from casewatch.cases.matrices import Matrices
from casewatch.cases.problems import sentences
from casewatch.cases.store import Decoder, load_histories
from casewatch.cases.tables import EventRow
from casewatch.cases.validation import EventValidator, RejectedEventError, decode_event
from casewatch.engine.calendar import WorkCalendar
from casewatch.engine.derive import Derivation, derive
from casewatch.engine.evaluators import Evaluator
from casewatch.engine.policies import PolicyCatalogue
from casewatch.engine.rules import RuleSet
from casewatch.engine.store import Rulesets
from casewatch.reports.arithmetic import one_decimal
from casewatch.reports.sla import (
    OUTCOMES,
    UNEXPLAINED,
    CohortCycle,
    Tally,
    cohort_reader,
    entries,
    period_bounds,
)

Replay = Callable[[Sequence[str]], Iterable[tuple[Sequence[str], Sequence[CohortCycle]]]]
_Counted = tuple[str | None, str, str, str | None]  # group, policy, outcome, reason
GROUPINGS: Final = ("team", "case_type")
FIGURES: Final = ("cohort", *OUTCOMES, "pct", "rag")
_BATCH: Final = 500


class ProposalRefusedError(ValueError):
    """The events on record could not have been imported under the proposal."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@frozen
class Proposal:
    """What replaying a case under the proposed configuration needs."""

    policies: PolicyCatalogue
    rules: RuleSet
    evaluator: Evaluator
    calendar: WorkCalendar
    matrices: Matrices
    validator: EventValidator


@frozen
class Period:
    date_from: date
    date_to: date
    as_of: datetime
    by: str | None = None


def whatif_report(
    conn: Connection,
    *,
    policies: PolicyCatalogue,
    rulesets: Rulesets,
    tz: ZoneInfo,
    proposal: Proposal,
    period: Period,
    changes: Sequence[str],
    replay: Replay | None = None,
) -> dict[str, Any]:
    """The what-if JSON. `replay` maps case ids to their proposed cohort cycles, a batch of
    cases at a time (default: in this process on `conn`; the command line may spread it
    over processes). Both sides are compared batch by batch, so memory holds one batch's
    cycles, not the cohort's."""
    case_ids = candidate_cases(conn, period, proposal.calendar.tz)
    run = replay or (lambda ids: replay_batches(conn, ids, proposal, period))
    comparison = Comparison()
    with cohort_reader(
        conn,
        rulesets=rulesets,
        date_from=period.date_from,
        date_to=period.date_to,
        as_of=period.as_of,
        tz=tz,
        by=period.by,
    ) as current:
        for batch, proposed in run(case_ids):
            comparison.add(current.of_cases(batch), proposed)
        if comparison.current != current.count():
            # A current cycle of a case with no event in the period: none is expected (a
            # cycle starts at an event), but counted all the same, with no proposed side.
            candidates = set(case_ids)
            comparison.add([c for c in current.every() if c.case_id not in candidates], [])
    return {
        "from": period.date_from.isoformat(),
        "to": period.date_to.isoformat(),
        "as_of": period.as_of.astimezone(tz).isoformat(),
        "changes": list(changes),
        "slas": comparison.entries(policies, proposal.policies, period.by),
    }


def candidate_cases(conn: Connection, period: Period, tz: ZoneInfo) -> list[str]:
    """Cases with an event in the period by `as_of`: a cycle starts at an event's time,
    so no other case can hold a cycle of the cohort, under any rules."""
    start, end = period_bounds(period.date_from, period.date_to, tz)
    query = (
        select(EventRow.case_id)
        .where(and_(EventRow.at >= start, EventRow.at < end, EventRow.at <= period.as_of))
        .distinct()
        .order_by(EventRow.case_id)
    )
    return list(conn.execute(query).scalars())


def replay_cases(
    conn: Connection, case_ids: Sequence[str], proposal: Proposal, period: Period
) -> Iterator[CohortCycle]:
    """The proposed cohort cycles of these cases."""
    for _, cycles in replay_batches(conn, case_ids, proposal, period):
        yield from cycles


def replay_batches(
    conn: Connection, case_ids: Sequence[str], proposal: Proposal, period: Period
) -> Iterator[tuple[Sequence[str], list[CohortCycle]]]:
    """The proposed cohort cycles of these cases, a batch of cases at a time, in order:
    each batch with its case ids."""
    decode = rescoring_decoder(proposal)
    for offset in range(0, len(case_ids), _BATCH):
        chunk = case_ids[offset : offset + _BATCH]
        cycles = []
        for history in load_histories(conn, chunk, dict.fromkeys(chunk), decode):
            events = [e for e in history.events if e.at <= period.as_of]
            cycles += proposed_cycles(history.case_id, events, proposal, period)
        yield chunk, cycles


def proposed_cycles(
    case_id: str, events: Sequence[Event], proposal: Proposal, period: Period
) -> list[CohortCycle]:
    """One case's cohort cycles under the proposal, from its events up to `as_of`.

    A linked victim's other cases are not passed in: rules that read them may only raise
    flags (`rules check` refuses any other effect there), so no cycle depends on them."""
    derivation = derive(case_id, events, proposal.rules, proposal.evaluator, proposal.calendar)
    refuse_foreign_policies(events, derivation, proposal.policies)
    return cohort_of(derivation, period, proposal.calendar.tz)


def cohort_of(derivation: Derivation, period: Period, tz: ZoneInfo) -> list[CohortCycle]:
    """The derivation's cycles in the cohort, with their outcome at `as_of` counted as
    `report sla` counts it: decided, else breached if running past due, else open."""
    start, end = period_bounds(period.date_from, period.date_to, tz)
    as_of, state = period.as_of, derivation.state
    group = getattr(state, period.by) if period.by is not None else None
    found = []
    for cycle in derivation.cycles:
        if not (start <= cycle.started_at < end and cycle.started_at <= as_of):
            continue
        outcome = cycle.outcome_at(as_of) or "open"
        reason = None
        if outcome == "breached":
            reason = cycle.breach_reason or UNEXPLAINED
        elif outcome == "excluded":
            reason = cycle.exclusion_reason or UNEXPLAINED
        found.append(
            CohortCycle(
                case_id=state.case_id,
                policy=cycle.policy,
                cycle=cycle.number,
                started_at=cycle.started_at,
                outcome=outcome,
                reason=reason,
                group=group,
            )
        )
    return found


def rescoring_decoder(proposal: Proposal) -> Decoder:
    """Events as an import under the proposal would have accepted them: an assessment
    scored under another version of its matrix is scored again under the proposed one."""
    versions = {"dash": proposal.matrices.dash.version, "asb": proposal.matrices.asb.version}

    def decode(payload: Mapping[str, Any], derived_text: str | None) -> Event:
        derived = json.loads(derived_text) if derived_text else None
        if (
            payload["type"] == RiskAssessed.TYPE
            and derived is not None
            and derived.get("matrix_version") != versions.get(payload["matrix"])
        ):
            try:
                return proposal.validator.validate(dict(payload)).event
            except RejectedEventError as exc:
                raise ProposalRefusedError(
                    [
                        f"event {payload['event_id']} (case {payload['case_id']}) could not "
                        f"have been imported under the proposal: {sentences(exc.problems)}"
                    ]
                ) from None
        return decode_event(payload, derived)

    return decode


def refuse_foreign_policies(
    events: Iterable[Event], derivation: Derivation, policies: PolicyCatalogue
) -> None:
    """An SLA instruction naming a policy the proposal lacks, or one it no longer applies
    to the case's type, would have been refused on import: say so rather than guess."""
    case_type = derivation.state.case_type
    known = policies.case_types()
    problems = [
        f"event {e.event_id} (case {e.case_id}) names policy '{e.policy}', which the "
        f"proposal {'does not apply to this case type' if e.policy in known else 'lacks'}; "
        "it could not have been imported under the proposal"
        for e in events
        if isinstance(e, SlaEvent) and case_type not in known.get(e.policy, frozenset())
    ]
    if problems:
        raise ProposalRefusedError(problems)


def compare(
    current: Sequence[CohortCycle],
    proposed: Sequence[CohortCycle],
    active: PolicyCatalogue,
    proposal: PolicyCatalogue,
    by: str | None,
) -> list[dict[str, Any]]:
    """One entry per policy of either side (per group and policy with `by`, where either
    side's cohort is not empty): both sides' figures, the change and the flipped cycles."""
    comparison = Comparison()
    comparison.add(current, proposed)
    return comparison.entries(active, proposal, by)


class Comparison:
    """Both sides' cohorts compared a batch of cases at a time: each side's counts and the
    flipped cycles so far. A case's cycles on both sides must come in the same batch."""

    def __init__(self) -> None:
        self.before: Counter[_Counted] = Counter()
        self.after: Counter[_Counted] = Counter()
        self.flips: dict[tuple[Any, str], list[dict[str, Any]]] = {}
        self.current = 0  # current cycles counted so far

    def add(self, current: Sequence[CohortCycle], proposed: Sequence[CohortCycle]) -> None:
        self.current += len(current)
        self.before.update((c.group, c.policy, c.outcome, c.reason) for c in current)
        self.after.update((c.group, c.policy, c.outcome, c.reason) for c in proposed)
        for key, listed in _flipped(current, proposed).items():
            self.flips.setdefault(key, []).extend(listed)

    def entries(
        self, active: PolicyCatalogue, proposal: PolicyCatalogue, by: str | None
    ) -> list[dict[str, Any]]:
        """The comparison's entries (see `compare`)."""
        before = {_key(e, by): e for e in entries(_tallies(self.before), active, by)}
        after = {_key(e, by): e for e in entries(_tallies(self.after), proposal, by)}
        order = {pid: i for i, pid in enumerate(dict.fromkeys([*active.ids, *proposal.ids]))}
        keys = sorted(
            set(before) | set(after),
            key=lambda k: (k[0] is not None, k[0] or "", order[k[1]]),
        )
        for listed in self.flips.values():
            listed.sort(key=lambda f: (f["case_id"], f["cycle"]))
        result = []
        for group_key, policy_id in keys:
            old, new = before.get((group_key, policy_id)), after.get((group_key, policy_id))
            entry: dict[str, Any] = {"policy": policy_id}
            if by is not None:
                entry[by] = group_key
            entry |= {
                "current": _figures(old),
                "proposed": _figures(new),
                "change": _change(old, new),
                "flipped": self.flips.get((group_key, policy_id), []),
            }
            result.append(entry)
        return result


def _tallies(counts: Counter[_Counted]) -> list[Tally]:
    return [Tally(*key, n) for key, n in counts.items()]


def _key(entry: Mapping[str, Any], by: str | None) -> tuple[Any, str]:
    return (entry[by] if by is not None else None, entry["policy"])


def _figures(entry: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return {name: entry[name] for name in FIGURES} if entry is not None else None


def _change(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> float | None:
    if old is None or new is None or old["pct"] is None or new["pct"] is None:
        return None
    return one_decimal(Decimal(str(new["pct"])) - Decimal(str(old["pct"])))


def _flipped(
    current: Sequence[CohortCycle], proposed: Sequence[CohortCycle]
) -> dict[tuple[Any, str], list[dict[str, Any]]]:
    """Cycles whose outcome differs, a cycle being its case, policy and start; one in the
    cohort on one side only has null for the other side's outcome."""
    before = {(c.case_id, c.policy, c.started_at): c for c in current}
    after = {(c.case_id, c.policy, c.started_at): c for c in proposed}
    flips: dict[tuple[Any, str], list[dict[str, Any]]] = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key), after.get(key)
        if old is not None and new is not None and old.outcome == new.outcome:
            continue
        shown = new or old
        assert shown is not None
        flips.setdefault((shown.group, shown.policy), []).append(
            {
                "case_id": shown.case_id,
                "cycle": shown.cycle,
                "from": old.outcome if old else None,
                "to": new.outcome if new else None,
            }
        )
    return flips
