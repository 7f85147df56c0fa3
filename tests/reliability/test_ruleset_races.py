"""Writers racing over a ruleset change (PostgreSQL; SQLite writers queue at BEGIN
IMMEDIATE): `rules repair` against an import of the same case, and two imports that both
meet a new ruleset version first."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from casewatch.cases.importing import Importer, ImportSummary
from casewatch.engine.repair import apply_repair, plan_repair
from casewatch.service.runtime import open_runtime
from tests.builders import assessed, opened
from tests.cli import casewatch
from tests.databases import PostgresTestDatabase
from tests.integration.test_cycles_storage import seven_day_config
from tests.reliability.processes import hold_until_another_waits, rows

POLICY = "asb-high-risk-conference"


def test_a_repair_waits_for_an_import_of_the_same_case_and_derives_from_it(
    postgres_database: PostgresTestDatabase, tmp_path: Path
) -> None:
    """The case is pinned to the old ruleset with its conference cycle running; an import
    holding the case records the conference; a repair to the new ruleset started meanwhile
    must wait, then store the cycle as met, as a replay says."""
    url = postgres_database.reset()
    opening = [opened("OLD", "2014-05-01T09:00:00+01:00"),
               assessed("OLD", "2014-05-06T10:30:00+01:00", "high")]  # fmt: skip
    body = "\n".join(json.dumps(line) for line in opening).encode()
    assert casewatch("import", "-", stdin=body, db=url).exit_code == 0
    config = seven_day_config(tmp_path)
    runtime = open_runtime(url, config)  # the repair's: the new ruleset is current
    rulesets = runtime.config.rulesets()
    writer = open_runtime(url, None)  # the import's: the case's own ruleset
    conference = {"event_id": "c-1", "type": "case_conference_held", "case_id": "OLD",
                  "at": "2014-05-12T10:30:00+01:00", "agencies": ["police"]}  # fmt: skip
    repaired: dict[str, int] = {}

    def repair() -> None:
        with runtime.engine.connect() as conn, conn.begin():
            plan, derivations = plan_repair(conn, rulesets, POLICY, None)
            apply_repair(conn, rulesets, plan, derivations)
            repaired["cases"] = len(plan.cases)

    repairing = threading.Thread(target=repair)

    def hold_the_case(conn: Connection, _summary: ImportSummary) -> None:
        hold_until_another_waits(conn, url, repairing)

    try:
        importer = Importer(writer.engine, writer.config.validator(), writer.projectors())
        imported = importer.run([json.dumps(conference).encode()], "first", then=hold_the_case)
        repairing.join(timeout=60)
    finally:
        runtime.engine.dispose()
        writer.engine.dispose()
    assert (imported.applied, repaired) == (1, {"cases": 1})
    checked = casewatch("check", "--config", config, db=url)
    assert checked.exit_code == 0, checked.stdout[-2000:]
    shown = casewatch("case", "show", "OLD", "--format", "json", "--config", config, db=url)
    cycle = shown.json()["cycles"][0]
    assert (cycle["policy"], cycle["outcome"]) == (POLICY, "met")  # day 6 of 7


def test_two_writers_meeting_a_new_ruleset_version_both_commit(
    postgres_database: PostgresTestDatabase, tmp_path: Path
) -> None:
    """The first writes under a changed policy file record its version; a second, started
    before the first commits, must not fail on recording it too."""
    url = postgres_database.reset()
    runtime = open_runtime(url, seven_day_config(tmp_path))
    results: dict[str, ImportSummary] = {}

    def run(case_id: str, then: Any = None) -> ImportSummary:
        line = json.dumps(opened(case_id, "2014-05-01T09:00:00+01:00")).encode()
        importer = Importer(runtime.engine, runtime.config.validator(), runtime.projectors())
        return importer.run([line], case_id, then=then)

    second = threading.Thread(target=lambda: results.update(second=run("B")))
    try:
        first = run("A", then=lambda conn, _summary: hold_until_another_waits(conn, url, second))
        second.join(timeout=60)
    finally:
        runtime.engine.dispose()
    assert (first.applied, results["second"].applied) == (1, 1)
    assert rows(url, "SELECT count(*) FROM ruleset_versions")[0][0] == 1
