"""Lists past 500 rows: the dashboard's counts and the alert inbox are computed in SQL over
every row, on SQLite and PostgreSQL, never over the first page only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import Engine, insert, select

from casewatch.app.case_list import (
    CaseFilters,
    _case_query,
    _utc,
    count_cases,
    list_cases,
    team_counts,
)
from casewatch.app.inbox import count_alerts, my_alerts
from casewatch.app.queries import ViewTeam
from casewatch.cases.tables import CaseRow
from casewatch.engine.store import refresh_rag_columns
from casewatch.engine.tables import AlertRow, SlaCycleRow
from casewatch.service import accounts
from casewatch.service.access import Principal, Role
from casewatch.service.bootstrap import bootstrap
from casewatch.service.runtime import open_runtime

NOW: Final = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LONDON: Final = ZoneInfo("Europe/London")
OPEN_CASES: Final = 700
MANAGER: Final = Principal(1, "mgr", "Manager", Role.MANAGER, "council", ["t1"])
CASEWORKER: Final = Principal(2, "cw", "Caseworker", Role.CASEWORKER, "council", ["t1"])


def _case(case_id: str, *, team: str = "t1", status: str = "open", risk: str | None = None) -> Any:
    return {
        "case_id": case_id,
        "case_type": "asb",
        "team": team,
        "caseworker": "cw",
        "status": status,
        "opened_at": NOW - timedelta(days=30),
        "closed_at": None,
        "risk_level": risk,
        "risk_matrix": None,
        "risk_score": None,
        "incident_count": 0,
        "event_count": 1,
        "last_event_at": NOW - timedelta(days=30),
        "updated_at": NOW,
        "version": 1,
    }


def _cycle(case_id: str, cycle: int, *, due: datetime, warn: datetime, **kw: Any) -> Any:
    return {
        "case_id": case_id,
        "policy": "asb-high-risk-conference",
        "cycle": cycle,
        "policy_version": "1",
        "ruleset_version": "1",
        "working_days": True,
        "state": kw.get("state", "running"),
        "started_at": due - timedelta(days=7),
        "due_at": due,
        "warn_at": warn,
        "paused_since": None,
        "stopped_at": kw.get("stopped_at"),
        "outcome": kw.get("outcome"),
        "breach_reason": kw.get("reason"),
        "exclusion_reason": None,
        "start_event_id": f"{case_id}-start-{cycle}",
        "stop_event_id": None,
        "next_check_at": None,
    }


def seed_cases(engine: Engine) -> None:
    """700 open cases in t1: every 7th high risk (100); i % 10 == 0 breached (70 red),
    i % 10 == 1 past its warning point (70 amber), i % 10 == 2 running quietly (green);
    every 20th breached case also has a warned running target, still red only. Besides:
    50 closed cases with breaches, and 40 open breached high-risk cases in another team."""
    cases, cycles = [], []
    for i in range(OPEN_CASES):
        case_id = f"C{i:04d}"
        cases.append(_case(case_id, risk="high" if i % 7 == 0 else "standard"))
        if i % 10 == 0:
            due = NOW - timedelta(days=2)
            cycles.append(
                _cycle(
                    case_id,
                    1,
                    due=due,
                    warn=due - timedelta(days=1),
                    state="stopped",
                    stopped_at=NOW - timedelta(days=1),
                    outcome="breached",
                    reason="victim unreachable",
                )
            )
            if i % 20 == 0:
                cycles.append(_cycle(case_id, 2, due=NOW + timedelta(days=1), warn=NOW))
        elif i % 10 == 1:
            cycles.append(_cycle(case_id, 1, due=NOW + timedelta(hours=5), warn=NOW))
        elif i % 10 == 2:
            due = NOW + timedelta(days=3)
            cycles.append(_cycle(case_id, 1, due=due, warn=due - timedelta(days=1)))
    for i in range(50):
        case_id = f"X{i:04d}"
        cases.append(_case(case_id, status="closed", risk="high"))
        cycles.append(
            _cycle(case_id, 1, due=NOW - timedelta(days=9), warn=NOW - timedelta(days=10))
        )
    for i in range(40):
        case_id = f"O{i:04d}"
        cases.append(_case(case_id, team="t2", risk="high"))
        cycles.append(
            _cycle(case_id, 1, due=NOW - timedelta(days=9), warn=NOW - timedelta(days=10))
        )
    with engine.begin() as conn:
        conn.execute(insert(CaseRow), cases)
        conn.execute(insert(SlaCycleRow), cycles)
        refresh_rag_columns(conn)  # what the engine writes beside the cycles


def test_team_counts_cover_every_open_case_past_500(engine: Engine) -> None:
    """700 open cases give 700/70/70/100 from the GROUP BY, where a 500-row page could not."""
    seed_cases(engine)
    with engine.connect() as conn:
        (t1,) = team_counts(conn, MANAGER, CaseFilters(), NOW)
        assert (t1.team, t1.cases, t1.red, t1.amber, t1.high) == ("t1", 700, 70, 70, 100)
        assert count_cases(conn, MANAGER, CaseFilters(), NOW) == 700
        at_risk = CaseFilters(at_risk=True, limit=500)
        assert count_cases(conn, MANAGER, at_risk, NOW) == 140
        page = list_cases(conn, MANAGER, CaseFilters(limit=500, offset=600), NOW, LONDON)
        assert len(page) == 100


def test_a_breached_case_lists_its_due_time_lateness_and_reason(engine: Engine) -> None:
    """A target due two days ago and stopped a day ago reads 1 day late, with its reason."""
    seed_cases(engine)
    with engine.connect() as conn:
        breached = CaseFilters(breached=True, limit=500)
        assert count_cases(conn, MANAGER, breached, NOW) == 70
        (first,) = list_cases(conn, MANAGER, CaseFilters(breached=True, limit=1), NOW, LONDON)
    # Of the breached cases, those with a running target (i % 20 == 0) list first: C0000.
    assert first.case_id == "C0000"
    assert first.rag == "red"
    (breach,) = first.breaches
    assert breach.due_at == "2026-11-18T12:00:00+00:00"  # GMT in November
    assert breach.late == "1 day late"
    assert breach.reason == "victim unreachable"


def seed_alerts(engine: Engine) -> None:
    """On one case of t1: 600 caseworker-only warnings (the newest), then 30 alerts for the
    team manager (older), and 5 for the team manager that were superseded."""
    with engine.begin() as conn:
        conn.execute(insert(CaseRow), [_case("A1")])
        rows = []
        for i in range(635):
            manager = i >= 600
            rows.append(
                {
                    "case_id": "A1",
                    "policy": "asb-high-risk-conference",
                    "cycle_started_at": NOW - timedelta(days=1000) + timedelta(hours=i),
                    "cycle": i + 1,
                    "level": "breach" if manager else "warning",
                    "at": NOW - timedelta(hours=i),
                    "recorded_at": NOW,
                    "recipients": json.dumps(["team_manager"] if manager else ["caseworker"]),
                    "historic": False,
                    "superseded": i >= 630,
                }
            )
        conn.execute(insert(AlertRow), rows)


def test_a_manager_sees_their_alerts_behind_500_newer_ones_for_others(engine: Engine) -> None:
    """The role is tested in SQL before paging: the manager's 30 alerts all show, not 0."""
    seed_alerts(engine)
    with engine.connect() as conn:
        mine = my_alerts(conn, MANAGER, LONDON, include_acknowledged=False)
        assert len(mine) == 30
        assert {a.level for a in mine} == {"breach"}
        assert count_alerts(conn, MANAGER, include_acknowledged=False) == 30
        page = my_alerts(conn, MANAGER, LONDON, include_acknowledged=False, limit=10, offset=25)
        assert [a.cycle for a in page] == [626, 627, 628, 629, 630]


def test_a_caseworker_inbox_counts_past_the_page(engine: Engine) -> None:
    """600 warnings for the caseworker: a page of 500, a count of 600, the rest on page 2."""
    seed_alerts(engine)
    with engine.connect() as conn:
        first = my_alerts(conn, CASEWORKER, LONDON, include_acknowledged=False)
        second = my_alerts(conn, CASEWORKER, LONDON, include_acknowledged=False, offset=500)
        total = count_alerts(conn, CASEWORKER, include_acknowledged=False)
    assert (len(first), len(second), total) == (500, 100, 600)
    assert first[0].cycle == 1 and second[-1].cycle == 600  # newest first


def test_the_team_dashboard_summary_counts_every_case_and_pages_the_list(db_url: str) -> None:
    """Through the service the team page uses: 700/70/70/100 counted, 140 at risk of which
    the first 100 listed, and the 600 caseworker alerts not counted as the manager's."""
    runtime = open_runtime(db_url, None)
    try:
        seed_cases(runtime.engine)
        with runtime.engine.begin() as conn:
            user_id = accounts.add_user(
                conn, username="mgr", display_name="Manager", role="manager",
                agency="council", teams=["t1"], password="a long enough password", now=NOW,
            )  # fmt: skip
        manager = attrs.evolve(MANAGER, user_id=user_id)
        summary = bootstrap(runtime, lambda: NOW).handle(ViewTeam(manager, address=None))
    finally:
        runtime.engine.dispose()
    (t1,) = summary.teams
    assert (t1.cases, t1.red, t1.amber, t1.high) == (700, 70, 70, 100)
    assert (summary.at_risk_total, len(summary.at_risk)) == (140, 100)
    assert summary.alerts_waiting == 0


def _reference(cycles: list[Any], now: datetime) -> dict[str, tuple[Any, ...]]:
    """Per case from its stored cycles, as the lists computed it before the case row kept
    RAG columns: (next due still ahead, breached or overdue, warned, running)."""
    figures: dict[str, tuple[Any, ...]] = {}
    for case_id in sorted({c.case_id for c in cycles}):
        mine = [c for c in cycles if c.case_id == case_id]
        running = [c for c in mine if c.state == "running"]
        ahead = [c.due_at for c in running if c.due_at >= now]
        figures[case_id] = (
            min(ahead, default=None),
            any(c.outcome == "breached" for c in mine) or any(c.due_at < now for c in running),
            any(c.warn_at <= now for c in running),
            bool(running),
        )
    return figures


def test_rag_follows_the_clock_past_warning_and_due_times(engine: Engine) -> None:
    """At moments around each warning and due time, the lists and counts match the cycles."""
    start = NOW - timedelta(days=1)
    hour = timedelta(hours=1)
    cases = [_case(f"R{i}") for i in range(6)]
    cycles = [
        # one running target: green, then amber at its warning point, then red
        _cycle("R0", 1, due=start + 10 * hour, warn=start + 5 * hour),
        # two running targets: red once the first is overdue, still due the second
        _cycle("R1", 1, due=start + 4 * hour, warn=start + 2 * hour),
        _cycle("R1", 2, due=start + 20 * hour, warn=start + 15 * hour),
        # breached and stopped: red at every moment, with nothing due
        _cycle("R2", 1, due=start, warn=start - hour, state="stopped", outcome="breached"),
        # met and stopped beside a running one: only the running one counts
        _cycle("R3", 1, due=start + hour, warn=start, state="stopped", outcome="met"),
        _cycle("R3", 2, due=start + 12 * hour, warn=start + 8 * hour),
        # paused: past its times but not running, so no RAG
        _cycle("R4", 1, due=start + hour, warn=start, state="paused"),
    ]  # R5 has no cycle at all
    with engine.begin() as conn:
        conn.execute(insert(CaseRow), cases)
        conn.execute(insert(SlaCycleRow), cycles)
        refresh_rag_columns(conn)
    with engine.connect() as conn:
        stored = list(conn.execute(select(SlaCycleRow)))
        for hours in (0, 2, 3, 4, 5, 6, 8, 10, 11, 12, 15, 20, 21):
            now = start + hours * hour
            expected = _reference(stored, now)
            page = list_cases(conn, MANAGER, CaseFilters(limit=500), now, UTC)
            got = {
                s.case_id: (s.next_due_at, s.breached, s.rag == "amber", s.rag is not None)
                for s in page
                if s.case_id in expected
            }
            want = {
                case_id: (
                    due.isoformat() if due else None,
                    breached,
                    warned and not breached,
                    running or breached,
                )
                for case_id, (due, breached, warned, running) in expected.items()
            }
            assert got == want, hours
            order = sorted(
                expected, key=lambda c: (expected[c][0] is None, expected[c][0] or now, c)
            )
            assert [s.case_id for s in page if s.case_id in expected] == order, hours
            red = sum(1 for f in expected.values() if f[1])
            amber = sum(1 for f in expected.values() if f[2] and not f[1])
            (t1,) = team_counts(conn, MANAGER, CaseFilters(), now)
            assert (t1.cases, t1.red, t1.amber) == (6, red, amber), hours
            at_risk = list_cases(conn, MANAGER, CaseFilters(at_risk=True), now, UTC)
            assert [s.case_id for s in at_risk] == [
                c for c in order if expected[c][1] or expected[c][2]
            ]
            assert count_cases(conn, MANAGER, CaseFilters(at_risk=True), now) == red + amber


def _whole_list_sorted(
    conn: Any, who: Principal, filters: CaseFilters, now: datetime
) -> list[tuple[str, Any]]:
    """Every matching case in the list's order, by sorting them all: (case, next due)."""
    matching = _case_query(who, filters, now, "next_due").subquery()
    rows = conn.execute(
        select(matching.c.case_id, matching.c.next_due).order_by(
            matching.c.next_due.is_(None), matching.c.next_due, matching.c.case_id
        )
    )
    return [(case_id, _utc(due)) for case_id, due in rows]


def seed_mixed_cases(engine: Engine, count: int) -> None:
    """`count` open cases over t1 and t2 (and some closed): no target, one or two running
    targets around NOW (ahead, warned, overdue, or one overdue beside one still ahead),
    a breached one beside them, or only a paused one; due times often equal."""
    cases, cycles = [], []
    for i in range(count):
        case_id = f"M{(i * 7919) % count:05d}"
        cases.append(
            _case(case_id, team=("t1", "t2")[i % 2], status="closed" if i % 13 == 0 else "open")
        )
        kind = i % 6
        due = NOW + timedelta(hours=(i % 17) - 8)
        if kind == 1:
            cycles.append(_cycle(case_id, 1, due=due, warn=due - timedelta(hours=4)))
        elif kind in (2, 3):
            cycles.append(_cycle(case_id, 1, due=due, warn=due - timedelta(hours=4)))
            later = due + timedelta(hours=(i % 5) * 6)
            cycles.append(_cycle(case_id, 2, due=later, warn=later - timedelta(hours=2)))
        elif kind == 4:
            cycles.append(
                _cycle(case_id, 1, due=due, warn=due, state="stopped", outcome="breached")
            )
            if i % 4 == 0:
                cycles.append(_cycle(case_id, 2, due=due + timedelta(hours=9), warn=due))
        elif kind == 5:
            cycles.append(_cycle(case_id, 1, due=due, warn=due, state="paused"))
    with engine.begin() as conn:
        conn.execute(insert(CaseRow), cases)
        conn.execute(insert(SlaCycleRow), cycles)
        refresh_rag_columns(conn)


def test_pages_read_in_parts_equal_the_whole_list_sorted(engine: Engine) -> None:
    """1,200 cases: every page, for a manager of two teams, a caseworker and the PSG, with
    and without filters and at several moments, is the same slice of the whole list sorted
    as the page read part by part (due ahead, overdue beside one ahead, none ahead)."""
    seed_mixed_cases(engine, 1_200)
    manager = attrs.evolve(MANAGER, teams=["t1", "t2"])
    psg = Principal(3, "psg", "Chair", Role.PSG, "police", [])
    filter_sets = [
        CaseFilters(limit=500),
        CaseFilters(at_risk=True, limit=100),
        CaseFilters(at_risk=True, limit=77),
        CaseFilters(due_within_days=1, limit=50),
        CaseFilters(breached=True, limit=200),
        CaseFilters(status=None, limit=300),
        CaseFilters(team="t2", at_risk=True, limit=60),
    ]
    pages = 0
    with engine.connect() as conn:
        for now in (NOW - timedelta(hours=9), NOW + timedelta(hours=3)):
            for who in (manager, CASEWORKER, psg):
                for filters in filter_sets:
                    whole = _whole_list_sorted(conn, who, filters, now)
                    pages += len(whole) // filters.limit
                    for offset in range(0, len(whole) + filters.limit, filters.limit):
                        paged = attrs.evolve(filters, offset=offset)
                        page = list_cases(conn, who, paged, now, UTC)
                        got = [(s.case_id, s.next_due_at) for s in page]
                        want = [
                            (case_id, due.isoformat() if due else None)
                            for case_id, due in whole[offset : offset + filters.limit]
                        ]
                        assert got == want, (who.username, filters, now, offset)
    assert pages > 50  # most lists run to several pages
