"""`casewatch tick` and `alerts list` on SQLite and PostgreSQL: contract sections 2 and 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.builders import assessed, ev, jsonl, opened
from tests.cli import casewatch

START = "2014-05-06T10:30:00+01:00"  # due 11 May 10:30 (conference), 13 May (reduction)


def load(db_url: str, path: Path, lines: list[Any]) -> None:
    path.write_bytes(jsonl(lines))
    result = casewatch("import", str(path), db=db_url)
    assert result.exit_code == 0, result.stdout


def tick(db_url: str, now: str) -> dict[str, Any]:
    result = casewatch("tick", "--now", now, db=db_url)
    assert result.exit_code == 0, result.stderr
    summary: dict[str, Any] = result.json()
    return summary


def alerts(db_url: str, case: str | None = None) -> list[dict[str, Any]]:
    args = ["alerts", "list", "--format", "json"] + (["--case", case] if case else [])
    result = casewatch(*args, db=db_url)
    assert result.exit_code == 0, result.stderr
    listed: list[dict[str, Any]] = result.json()
    return listed


def levels(db_url: str, policy: str = "asb-high-risk-conference") -> list[str]:
    return [a["level"] for a in alerts(db_url) if a["policy"] == policy]


def high_case(db_url: str, tmp_path: Path, *extra: dict[str, Any]) -> None:
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened(
                "C1",
                "2014-05-01T09:00:00+01:00",
                team="asb-north",
                caseworker="r.hughes",
                victim={"name": "Ada Example"},
            ),
            assessed("C1", START, "high"),
            *extra,
        ],
    )


def test_tick_summary_shape(db_url: str, tmp_path: Path) -> None:
    """tick prints the contract's summary; an empty database has nothing to do."""
    summary = tick(db_url, "2014-05-01T00:00:00+01:00")
    assert summary == {
        "now": "2014-05-01T00:00:00+01:00",
        "warnings": 0,
        "breaches": 0,
        "escalations": 0,
        "notifications_queued": 0,
        "notifications_sent": 0,
        "backlog": 0,
    }


def test_warning_at_80_percent_and_breach_after_due(db_url: str, tmp_path: Path) -> None:
    """Warning when 80% of the target has elapsed; breach at the first check after due."""
    high_case(db_url, tmp_path)
    assert tick(db_url, "2014-05-10T10:29")["warnings"] == 0
    assert tick(db_url, "2014-05-10T10:30")["warnings"] == 1
    assert tick(db_url, "2014-05-11T10:30")["breaches"] == 0
    after = tick(db_url, "2014-05-11T10:31")
    assert (after["breaches"], after["notifications_queued"], after["notifications_sent"]) == (
        1,
        2,
        2,
    )
    listed = alerts(db_url)
    breach = next(a for a in listed if a["level"] == "breach")
    assert breach == {
        **breach,
        "case_id": "C1",
        "policy": "asb-high-risk-conference",
        "cycle": 1,
        "at": "2014-05-11T10:30:00+01:00",
        "recipients": ["caseworker", "team_manager"],
        "delivered": True,
        "superseded": False,
    }


def test_same_now_twice_queues_nothing_new(db_url: str, tmp_path: Path) -> None:
    """Running tick again at the same moment records and queues nothing."""
    high_case(db_url, tmp_path)
    first = tick(db_url, "2014-05-20T12:00")
    again = tick(db_url, "2014-05-20T12:00")
    assert first["warnings"] + first["breaches"] + first["escalations"] > 0
    assert (
        again["warnings"],
        again["breaches"],
        again["escalations"],
        again["notifications_queued"],
    ) == (0, 0, 0, 0)
    assert len(alerts(db_url)) == first["warnings"] + first["breaches"] + first["escalations"]


def test_one_late_check_records_every_level_due(db_url: str, tmp_path: Path) -> None:
    """A check that finds several levels due records each, at the time it fell due."""
    high_case(db_url, tmp_path)
    summary = tick(db_url, "2014-06-01")
    assert (summary["warnings"], summary["breaches"], summary["escalations"]) == (2, 2, 4)
    conference = [a for a in alerts(db_url) if a["policy"] == "asb-high-risk-conference"]
    assert [(a["level"], a["at"]) for a in conference] == [
        ("warning", "2014-05-10T10:30:00+01:00"),
        ("breach", "2014-05-11T10:30:00+01:00"),
        ("escalation-1", "2014-05-13T00:00:00+01:00"),
        ("escalation-2", "2014-05-15T00:00:00+01:00"),
    ]
    assert conference[2]["recipients"] == ["service_manager"]
    assert conference[3]["recipients"] == ["psg_chair"]


def test_escalations_only_while_running(db_url: str, tmp_path: Path) -> None:
    """A late conference stops the ladder: escalations after it never fire."""
    high_case(db_url, tmp_path, ev("case_conference_held", "C1", "2014-05-14T10:00:00+01:00"))
    tick(db_url, "2014-06-01")
    assert levels(db_url) == ["warning", "breach", "escalation-1"]


def test_events_after_now_are_ignored(db_url: str, tmp_path: Path) -> None:
    """A tick before a recorded stop sees the cycle still running."""
    high_case(db_url, tmp_path, ev("case_conference_held", "C1", "2014-05-14T10:00:00+01:00"))
    assert tick(db_url, "2014-05-12T00:00")["breaches"] == 1  # the conference: reduction due 13th
    assert levels(db_url) == ["warning", "breach"]


def test_late_stop_supersedes_alerts_it_shows_should_not_have_fired(
    db_url: str, tmp_path: Path
) -> None:
    """A conference recorded late with its true time before the due time: the breach
    alert already recorded is kept, marked superseded; the warning stands."""
    high_case(db_url, tmp_path)
    tick(db_url, "2014-05-12T00:00")
    load(
        db_url,
        tmp_path / "late.jsonl",
        [ev("case_conference_held", "C1", "2014-05-10T12:00:00+01:00")],
    )
    conference = {
        a["level"]: a for a in alerts(db_url) if a["policy"] == "asb-high-risk-conference"
    }
    assert conference["breach"]["superseded"] is True
    assert conference["warning"]["superseded"] is False
    assert tick(db_url, "2014-06-01")["escalations"] == 2  # only the reduction's


def test_paused_cycles_get_no_alerts(db_url: str, tmp_path: Path) -> None:
    """While paused a cycle gets no alerts; after resuming its moved times apply."""
    high_case(
        db_url,
        tmp_path,
        ev(
            "sla_paused",
            "C1",
            "2014-05-07T10:30:00+01:00",
            policy="asb-high-risk-conference",
            reason="hospital",
        ),
        ev(
            "sla_resumed",
            "C1",
            "2014-05-17T10:30:00+01:00",
            policy="asb-high-risk-conference",
            reason="home",
        ),
    )
    tick(db_url, "2014-05-16T00:00")
    assert levels(db_url) == []
    tick(db_url, "2014-05-21T10:31")  # due moved by 10 days: 21 May 10:30
    assert levels(db_url) == ["warning", "breach"]


def test_closing_ends_escalations(db_url: str, tmp_path: Path) -> None:
    """An overdue cycle stops breached at the close, and its escalations end there."""
    high_case(db_url, tmp_path, ev("case_closed", "C1", "2014-05-12T09:00:00+01:00"))
    tick(db_url, "2014-06-01")
    assert levels(db_url) == ["warning", "breach"]


def test_alerts_list_filters_by_case_and_hides_victims(db_url: str, tmp_path: Path) -> None:
    """--case narrows the list; no alert or message carries the victim's name."""
    high_case(db_url, tmp_path)
    load(
        db_url,
        tmp_path / "b.jsonl",
        [opened("C2", "2014-05-01T09:00:00+01:00"), assessed("C2", START, "high")],
    )
    tick(db_url, "2014-05-12")
    assert {a["case_id"] for a in alerts(db_url, "C2")} == {"C2"}
    everything = casewatch("alerts", "list", db=db_url)
    assert "Ada Example" not in everything.stdout


def test_historic_alerts_stay_in_the_inbox(db_url: str, tmp_path: Path) -> None:
    """Levels found long after they fell due are recorded as historic, inbox only."""
    high_case(db_url, tmp_path)
    tick(db_url, "2015-01-01")
    assert all(a["historic"] and a["delivered"] for a in alerts(db_url))


def test_alerts_of_an_unknown_case_exit_1(db_url: str) -> None:
    """alerts list --case for a case that does not exist exits 1."""
    result = casewatch("alerts", "list", "--case", "NOPE", db=db_url)
    assert result.exit_code == 1
    assert "not found" in result.stderr
