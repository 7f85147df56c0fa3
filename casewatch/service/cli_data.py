"""Data-protection commands: erasing a victim's personal data on request.

Kept apart from cli.py (registered at its end), like the web commands.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from casewatch.cases.store import case_exists, erase_personal_data
from casewatch.service import audit
from casewatch.service.cli import (
    EXIT_REJECTED,
    ConfigOption,
    DbOption,
    _fail,
    _print_json,
    _runtime,
    app,
)
from casewatch.service.logging import get_logger

log = get_logger("casewatch.cli")


@app.command()
def erase(
    case_id: Annotated[str, typer.Argument(help="The case whose victim data is erased.")],
    reason: Annotated[
        str, typer.Option(help="Why (e.g. the data subject's request reference); audited.")
    ],
    by: Annotated[str, typer.Option(help="Who is erasing (recorded in the audit log).")] = "cli",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Erase a victim's personal data. The case's events stay (without it), so its SLA
    cycles, flags and reports are unchanged. Audited; safe to repeat."""
    if not reason.strip():
        raise typer.BadParameter("give the reason for the erasure", param_hint="--reason")
    with _runtime(db, config) as runtime, runtime.engine.connect() as conn, conn.begin():
        if not case_exists(conn, case_id):
            _fail(EXIT_REJECTED, f"case '{case_id}' not found")
        now = datetime.now(UTC)
        erased = erase_personal_data(conn, case_id, now)
        audit.record_operator(
            conn, "case.erase", now=now, by=by, case_id=case_id,
            detail={"reason": reason.strip(), "records_erased": erased},
        )  # fmt: skip
    log.info("personal_data_erased", action="erase", case_id=case_id, records=erased)
    _print_json({"case_id": case_id, "records_erased": erased})
