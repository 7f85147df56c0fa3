"""The kept counts of waiting alerts (per team and recipients, kept by the database's
triggers) equal the alerts counted one by one after every kind of write, on SQLite and
PostgreSQL, and a manager's inbox count read from them equals the plain count."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from casewatch.app.inbox import count_alerts, plain_count, waiting_count_differences
from casewatch.app.repositories import SqlAlerts
from casewatch.cases.store import erase_personal_data
from casewatch.cases.tables import CaseRow
from casewatch.engine.tables import AlertRow
from casewatch.service import accounts
from casewatch.service.access import Principal, Role
from casewatch.service.tables import AlertAcknowledgementRow
from tests.integration.test_large_lists import _case

NOW: Final = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RECIPIENTS: Final = [
    ["caseworker"],
    ["caseworker", "team_manager"],
    ["service_manager"],
    ["psg_chair"],
    ["team_manager", "service_manager"],
]
MANAGERS: Final = [
    Principal(1, "m1", "One", Role.MANAGER, "council", ["t1"]),
    Principal(1, "m2", "Two", Role.MANAGER, "council", ["t2", "t3"]),
    Principal(1, "m3", "All", Role.MANAGER, "council", ["t1", "t2", "t3"]),
]


def _alert(i: int, case_id: str) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "policy": "asb-high-risk-conference",
        "cycle_started_at": NOW - timedelta(days=900) + timedelta(hours=i),
        "cycle": i,
        "level": "breach",
        "at": NOW - timedelta(minutes=i),
        "recorded_at": NOW,
        "recipients": json.dumps(RECIPIENTS[i % len(RECIPIENTS)]),
        "historic": False,
        "superseded": i % 11 == 0,
    }


def _agree(engine: Engine) -> None:
    with engine.connect() as conn:
        assert waiting_count_differences(conn) == {}
        for manager in MANAGERS:
            kept = count_alerts(conn, manager, include_acknowledged=False)
            assert kept == plain_count(conn, manager, include_acknowledged=False)


def test_kept_counts_equal_the_plain_count_after_every_kind_of_write(engine: Engine) -> None:
    """1,200 alerts on cases of three teams (and one with none): inserted, acknowledged,
    superseded, reinstated, unacknowledged, a case moved to another team, a victim's data
    erased, alerts deleted; the counts agree after each, and are not all zero."""
    case_ids = [f"W{i:03d}" for i in range(40)]
    with engine.begin() as conn:
        user_id = accounts.add_user(
            conn, username="m1", display_name="One", role="manager", agency="council",
            teams=["t1"], password="a long enough password", now=NOW,
        )  # fmt: skip
        rows = [_case(c, team=("t1", "t2", "t3")[i % 3]) for i, c in enumerate(case_ids)]
        rows.append(_case("W-NONE") | {"team": None})
        conn.execute(insert(CaseRow), rows)
        conn.execute(
            insert(AlertRow),
            [_alert(i, ([*case_ids, "W-NONE"])[i % 41]) for i in range(1, 1_201)],
        )
    _agree(engine)
    with engine.connect() as conn:
        assert count_alerts(conn, MANAGERS[2], include_acknowledged=False) > 500
        ids = [alert_id for (alert_id,) in conn.execute(select(AlertRow.id).order_by(AlertRow.id))]
    with engine.begin() as conn:
        alerts = SqlAlerts(conn, None)  # type: ignore[arg-type]  # acknowledge needs no runtime
        for alert_id in ids[::7]:
            alerts.acknowledge(alert_id, by=user_id, at=NOW)
        alerts.acknowledge(ids[0], by=user_id, at=NOW)  # a second time changes nothing
    _agree(engine)
    with engine.begin() as conn:
        conn.execute(update(AlertRow).where(AlertRow.id.in_(ids[::5])).values(superseded=True))
    _agree(engine)
    with engine.begin() as conn:
        conn.execute(update(AlertRow).where(AlertRow.id.in_(ids[::10])).values(superseded=False))
        conn.execute(
            delete(AlertAcknowledgementRow).where(AlertAcknowledgementRow.alert_id.in_(ids[::14]))
        )
    _agree(engine)
    with engine.begin() as conn:
        conn.execute(update(CaseRow).where(CaseRow.case_id == "W000").values(team="t2"))
        conn.execute(update(CaseRow).where(CaseRow.case_id == "W-NONE").values(team="t3"))
        conn.execute(update(CaseRow).where(CaseRow.case_id == "W001").values(team=None))
        conn.execute(update(CaseRow).where(CaseRow.case_id == "W002").values(status="closed"))
        erase_personal_data(conn, "W003", NOW)
    _agree(engine)
    with engine.begin() as conn:
        doomed = ids[100:300]
        conn.execute(
            delete(AlertAcknowledgementRow).where(AlertAcknowledgementRow.alert_id.in_(doomed))
        )
        conn.execute(delete(AlertRow).where(AlertRow.id.in_(doomed)))
    _agree(engine)
    with engine.connect() as conn:
        assert count_alerts(conn, MANAGERS[0], include_acknowledged=False) > 0


def test_an_acknowledgement_beside_a_concurrent_supersession_counts_once(engine: Engine) -> None:
    """On PostgreSQL two transactions, one superseding an alert and one acknowledging it,
    both taking it off the count: whichever commits first, it comes off once, not twice."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    with engine.begin() as conn:
        user_id = accounts.add_user(
            conn, username="m1", display_name="One", role="manager", agency="council",
            teams=["t1"], password="a long enough password", now=NOW,
        )  # fmt: skip
        conn.execute(insert(CaseRow), [_case("W000")])
        conn.execute(insert(AlertRow), [_alert(i, "W000") | {"superseded": False} for i in (1, 2)])
        first, second = conn.execute(select(AlertRow.id).order_by(AlertRow.id)).scalars().all()
    for superseding_first, alert_id in ((True, first), (False, second)):
        superseding, acknowledging = engine.connect(), engine.connect()
        superseding.begin()
        acknowledging.begin()

        def supersede(conn: Any = superseding, alert: int = alert_id) -> None:
            conn.execute(update(AlertRow).where(AlertRow.id == alert).values(superseded=True))

        def acknowledge(conn: Any = acknowledging, alert: int = alert_id) -> None:
            SqlAlerts(conn, None).acknowledge(alert, by=user_id, at=NOW)  # type: ignore[arg-type]

        # The second waits on the first's lock of the alert row until the first commits.
        (holds, holder), (waits, waiter) = (
            ((supersede, superseding), (acknowledge, acknowledging))
            if superseding_first
            else ((acknowledge, acknowledging), (supersede, superseding))
        )
        holds()
        blocked = threading.Thread(target=waits)
        blocked.start()
        time.sleep(0.5)
        assert blocked.is_alive()  # on the row lock
        holder.commit()
        blocked.join(timeout=30)
        waiter.commit()
        superseding.close()
        acknowledging.close()
        _agree(engine)
    with engine.connect() as conn:
        assert count_alerts(conn, MANAGERS[0], include_acknowledged=False) == 0
