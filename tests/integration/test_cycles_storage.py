"""Derived cycles and flags in the database, ruleset pinning and explicit repair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from tests.builders import assessed, ev, jsonl, opened
from tests.cli import casewatch

CONFIG = Path(__file__).resolve().parents[2] / "casewatch" / "config" / "policies.yaml"


def load(db_url: str, path: Path, lines: list[Any], *config: str) -> None:
    path.write_bytes(jsonl(lines))
    result = casewatch("import", str(path), *config, db=db_url)
    assert result.exit_code == 0, result.stdout + result.stderr


def cycles(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT case_id, policy, cycle, state, outcome FROM sla_cycles ORDER BY case_id, policy, cycle"
                )
            )
        ]


def test_import_stores_cycles_and_flags(db_url: str, engine: Engine, tmp_path: Path) -> None:
    """An import derives and stores each affected case's cycles and flags."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("C1", "2014-05-01T09:00:00+01:00"),
            assessed("C1", "2014-05-06T10:30:00+01:00", "high", police_incidents_12m=4),
        ],
    )
    assert cycles(engine) == [
        ("C1", "asb-high-risk-conference", 1, "running", None),
        ("C1", "asb-high-risk-reduction", 1, "running", None),
    ]
    with engine.connect() as conn:
        flags = conn.execute(text("SELECT case_id, flag, rule_id FROM case_flags")).all()
    assert [tuple(f) for f in flags] == [("C1", "potential-escalation", "potential-escalation")]


def test_late_event_rederives_the_case(db_url: str, engine: Engine, tmp_path: Path) -> None:
    """A late event with an earlier time replays that case: its cycle becomes met."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("C1", "2014-05-01T09:00:00+01:00"),
            assessed("C1", "2014-05-06T10:30:00+01:00", "high"),
            assessed("C1", "2014-05-20T10:30:00+01:00", "medium"),
        ],
    )
    load(
        db_url,
        tmp_path / "b.jsonl",
        [ev("case_conference_held", "C1", "2014-05-08T10:30:00+01:00")],
    )
    assert ("C1", "asb-high-risk-conference", 1, "stopped", "met") in cycles(engine)


def seven_day_config(tmp_path: Path) -> str:
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "policies.yaml").write_text(
        CONFIG.read_text().replace(
            "target: {days: 5, kind: calendar}", "target: {days: 7, kind: calendar}"
        )
    )
    return str(folder)


def test_cases_keep_their_ruleset_version_until_repaired(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """A policy change applies to new cases; existing ones keep their version until an
    explicit, audited repair, whose dry run changes nothing and names breaches turning met."""
    load(
        db_url,
        tmp_path / "a.jsonl",
        [
            opened("OLD", "2014-05-01T09:00:00+01:00"),
            assessed("OLD", "2014-05-06T10:30:00+01:00", "high"),
            ev(
                "case_conference_held", "OLD", "2014-05-12T10:30:00+01:00"
            ),  # day 6: late under 5 days
        ],
    )
    config = seven_day_config(tmp_path)
    load(
        db_url,
        tmp_path / "b.jsonl",
        [
            opened("NEW", "2014-06-01T09:00:00+01:00"),
            assessed("NEW", "2014-06-02T10:30:00+01:00", "high"),
            ev("contact_attempted", "OLD", "2014-05-13T10:30:00+01:00", method="call"),
        ],
        "--config",
        config,
    )
    shown = {
        case: casewatch(
            "case", "show", case, "--format", "json", "--config", config, db=db_url
        ).json()
        for case in ("OLD", "NEW")
    }
    assert shown["OLD"]["cycles"][0]["due_at"] == "2014-05-11T10:30:00+01:00"
    assert shown["OLD"]["cycles"][0]["outcome"] == "breached"
    assert shown["NEW"]["cycles"][0]["due_at"] == "2014-06-09T10:30:00+01:00"
    assert shown["OLD"]["ruleset_version"] != shown["NEW"]["ruleset_version"]

    before = cycles(engine)
    dry = casewatch(
        "rules",
        "repair",
        "--policy",
        "asb-high-risk-conference",
        "--dry-run",
        "--config",
        config,
        db=db_url,
    )
    assert dry.exit_code == 0, dry.stderr
    plan = dry.json()
    assert (plan["applied"], plan["case_ids"]) == (False, ["OLD"])
    assert plan["breaches_that_would_become_met"] == ["OLD asb-high-risk-conference #1"]
    assert cycles(engine) == before

    applied = casewatch(
        "rules", "repair", "--policy", "asb-high-risk-conference", "--config", config, db=db_url
    )
    assert applied.json()["applied"] is True
    assert ("OLD", "asb-high-risk-conference", 1, "stopped", "met") in cycles(engine)
    with engine.connect() as conn:
        audit = conn.execute(
            text("SELECT policy, cases, cycles_changed, summary FROM rule_repairs")
        ).one()
    assert (audit.policy, audit.cases) == ("asb-high-risk-conference", 1)
    assert json.loads(audit.summary)["case_ids"] == ["OLD"]
    again = casewatch(
        "rules",
        "repair",
        "--policy",
        "asb-high-risk-conference",
        "--dry-run",
        "--config",
        config,
        db=db_url,
    )
    assert again.json()["cases"] == 0


def test_repair_of_an_unknown_policy_is_a_usage_error(db_url: str) -> None:
    """--policy must name a configured policy."""
    assert casewatch("rules", "repair", "--policy", "nope", db=db_url).exit_code == 2
