"""`casewatch check`: every case's stored state, cycles, flags and measure facts against a
fresh replay of its events.

The event log is the truth; `cases`, `sla_cycles`, `case_flags` and `measure_facts` are
projections of it. After a crash, a concurrent-writer race or a bug, this says whether
they still agree, case by case and field by field, without changing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from attrs import frozen
from sqlalchemy import Connection, select

from casewatch.cases.state import fold
from casewatch.cases.store import case_projection, load_histories, load_linked_events
from casewatch.cases.tables import CaseRow, EventRow
from casewatch.engine.fact_store import fresh_facts, stored_facts
from casewatch.engine.facts import FACT_FIELDS
from casewatch.engine.store import Rulesets, cycle_row, pinned_versions, rag_columns
from casewatch.engine.tables import CaseFlagRow, SlaCycleRow

BATCH: Final = 500
CASE_FIELDS: Final = tuple(
    k for k in case_projection(fold("-", ()), datetime.now(UTC)) if k not in ("updated_at",)
) + tuple(rag_columns(()))  # the RAG columns the engine keeps with the cycles
CYCLE_FIELDS: Final = (
    "policy_version", "ruleset_version", "working_days", "state", "started_at", "due_at",
    "warn_at", "paused_since", "stopped_at", "outcome", "breach_reason", "exclusion_reason",
    "start_event_id", "stop_event_id",
)  # fmt: skip
FLAG_FIELDS: Final = ("raised_at", "event_id", "rule_id", "rule_version")


@frozen
class Difference:
    case_id: str
    what: str  # "case", "cycle", "flag" or "measure fact"
    key: str  # the cycle ("policy #n"), flag name or fact ("#n"); "" for the case row
    field: str  # a column, or "presence" when one side has no such row
    stored: Any
    replayed: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "what": self.what,
            "key": self.key,
            "field": self.field,
            "stored": _plain(self.stored),
            "replayed": _plain(self.replayed),
        }


def compare(
    case_id: str,
    what: str,
    stored: Mapping[str, Mapping[str, Any]],
    replayed: Mapping[str, Mapping[str, Any]],
    fields: Sequence[str],
) -> Iterator[Difference]:
    """Rows keyed alike on both sides; a key on one side only is a `presence` difference."""
    for key in sorted(stored.keys() | replayed.keys()):
        before, after = stored.get(key), replayed.get(key)
        if before is None or after is None:
            yield Difference(case_id, what, key, "presence", before is not None, after is not None)
            continue
        for field in fields:
            if before.get(field) != after.get(field):
                yield Difference(case_id, what, key, field, before.get(field), after.get(field))


def check_cases(
    conn: Connection,
    rulesets: Rulesets,
    case_ids: Sequence[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> tuple[int, list[Difference]]:
    """(cases checked, differences). Cases under the ruleset version they are pinned to."""
    if case_ids is None:
        case_ids = sorted(
            set(conn.execute(select(EventRow.case_id).distinct()).scalars())
            | set(conn.execute(select(CaseRow.case_id)).scalars())
        )
    differences: list[Difference] = []
    for offset in range(0, len(case_ids), BATCH):
        chunk = list(case_ids[offset : offset + BATCH])
        differences += _check_batch(conn, rulesets, chunk)
        if progress is not None:
            progress("cases checked", offset + len(chunk))
    return len(case_ids), differences


def _check_batch(conn: Connection, rulesets: Rulesets, chunk: list[str]) -> list[Difference]:
    stored_cases = {
        row["case_id"]: {f: row[f] for f in CASE_FIELDS}
        for row in conn.execute(select(CaseRow).where(CaseRow.case_id.in_(chunk))).mappings()
    }
    stored_cycles: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in chunk}
    query = select(SlaCycleRow).where(SlaCycleRow.case_id.in_(chunk))
    for cycle in conn.execute(query).mappings():
        key = f"{cycle['policy']} #{cycle['cycle']}"
        stored_cycles[cycle["case_id"]][key] = {f: cycle[f] for f in CYCLE_FIELDS}
    stored_flags: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in chunk}
    for flag in conn.execute(select(CaseFlagRow).where(CaseFlagRow.case_id.in_(chunk))).mappings():
        stored_flags[flag["case_id"]][flag["flag"]] = {f: flag[f] for f in FLAG_FIELDS}
    pinned = pinned_versions(conn, chunk)
    differences: list[Difference] = []
    histories = load_histories(conn, chunk, dict.fromkeys(chunk))
    linked = load_linked_events(conn, chunk)
    replayed_ids = {history.case_id for history in histories}
    differences += [  # a projection with no events behind it
        Difference(case_id, "case", "", "presence", True, False)
        for case_id in chunk
        if case_id in stored_cases and case_id not in replayed_ids
    ]
    for history in histories:
        case_id = history.case_id
        state = fold(case_id, history.events)
        derivation = rulesets.derive(
            conn, case_id, history.events, pinned.get(case_id), linked.get(case_id, ())
        )
        replayed_case = {
            **case_projection(state, datetime.now(UTC)),
            **rag_columns(derivation.cycles),
        }
        differences += compare(
            case_id, "case", _one(stored_cases.get(case_id)), _one(replayed_case), CASE_FIELDS
        )
        cycles = {
            f"{c.policy} #{c.number}": cycle_row(case_id, derivation.ruleset_version, c)
            for c in derivation.cycles
        }
        differences += compare(case_id, "cycle", stored_cycles[case_id], cycles, CYCLE_FIELDS)
        flags = {
            f.flag: {"raised_at": f.raised_at, "event_id": f.event_id, "rule_id": f.rule_id,
                     "rule_version": f.rule_version}
            for f in derivation.flags
        }  # fmt: skip
        differences += compare(case_id, "flag", stored_flags[case_id], flags, FLAG_FIELDS)
    return differences + _check_facts(conn, chunk)


def _check_facts(conn: Connection, chunk: list[str]) -> list[Difference]:
    stored, fresh = stored_facts(conn, chunk), fresh_facts(conn, chunk)
    differences: list[Difference] = []
    for case_id in chunk:
        differences += compare(
            case_id,
            "measure fact",
            {f"#{row['seq']}": row for row in stored.get(case_id, [])},
            {f"#{row['seq']}": row for row in fresh.get(case_id, [])},
            FACT_FIELDS,
        )
    return differences


def _one(row: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    return {} if row is None else {"": row}


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
