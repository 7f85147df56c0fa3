"""`casewatch rules check|repair`: rule and policy files, and moving cases pinned to an
older ruleset onto the current one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from casewatch.engine.repair import apply_repair, plan_repair
from casewatch.service.cli.shared import (
    EXIT_REJECTED,
    EXIT_USAGE,
    ConfigOption,
    DbOption,
    FormatOption,
    check_format,
    fail,
    global_options,
    opened_runtime,
    operator_time,
    print_json,
)
from casewatch.service.config import ConfigError, check_rules
from casewatch.service.logging import get_logger

log = get_logger("casewatch.cli")
rules_app = typer.Typer(help="Rule and policy files.", no_args_is_help=True)


@rules_app.command("check")
def rules_check(
    path: Annotated[
        str | None,
        typer.Argument(help="A rule file, a policies.yaml, or a folder of them (default: in use)."),
    ] = None,
    output_format: FormatOption = "table",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Validate rule and policy files; print each problem with its file and line.

    Reads files only; --db is accepted, like every command's, and not used."""
    del db
    check_format(output_format, ("table", "json"))
    if path is not None and not Path(path).exists():
        fail(EXIT_USAGE, f"cannot read {path}: no such file or folder")
    try:
        result = check_rules(path, config or global_options.config)
    except (OSError, UnicodeDecodeError, ConfigError) as exc:
        fail(EXIT_USAGE, f"cannot read the rule files: {exc}")
    if output_format == "json":
        print_json(
            {
                "files": result.files,
                "rules": result.rules,
                "policies": result.policies,
                "version": result.version,
                "problems": result.problems,
                "matcher": result.matcher,
            }
        )
    else:
        for problem in result.problems:
            typer.echo(problem)
        verdict = f"{len(result.problems)} problem(s)" if result.problems else "ok"
        typer.echo(
            f"{verdict}: {result.rules} rules, {result.policies} policies in "
            f"{len(result.files)} files (version {result.version or '-'}); "
            f"matcher: {result.matcher}"
        )
    if result.problems:
        raise typer.Exit(EXIT_REJECTED)


@rules_app.command("repair")
def rules_repair(
    policy: Annotated[str, typer.Option("--policy", help="The policy whose cases to repair.")],
    since: Annotated[
        str | None, typer.Option("--since", help="Only cases with events on or after this date.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Re-derive cases pinned to an older ruleset under the current one (audited)."""
    with opened_runtime(db, config) as runtime:
        if policy not in runtime.config.policies.ids:
            raise typer.BadParameter(
                f"unknown policy (policies: {', '.join(runtime.config.policies.ids)})",
                param_hint="--policy",
            )
        moment = operator_time(since, runtime, "--since") if since else None
        rulesets = runtime.config.rulesets()
        with runtime.engine.connect() as conn, conn.begin():
            plan, derivations = plan_repair(conn, rulesets, policy, moment)
            if not dry_run:
                apply_repair(conn, rulesets, plan, derivations)
    log.info(
        "rules_repair",
        action="rules_repair",
        policy=policy,
        applied=not dry_run,
        cases=len(plan.cases),
        cycles_changed=len(plan.changes),
    )
    print_json(plan.as_json(applied=not dry_run))
