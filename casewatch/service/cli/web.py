"""`casewatch serve` and `casewatch users`: the web service and the people who use it.

The web framework and the server are imported only when `serve` runs, so the commands
every script runs do not pay for them.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from casewatch.app.commands import AddUser, IssueToken, ResetTwoFactor, SetPassword
from casewatch.service import accounts
from casewatch.service.access import ROLES, Operator
from casewatch.service.bootstrap import bootstrap
from casewatch.service.cli.shared import (
    EXIT_REJECTED,
    EXIT_USAGE,
    ConfigOption,
    DbOption,
    fail,
    global_options,
    opened_runtime,
    print_json,
)
from casewatch.service.logging import get_logger

log = get_logger("casewatch.cli")
commands = typer.Typer()
users_app = typer.Typer(help="People who sign in, and API tokens.", no_args_is_help=True)

PASSWORD_ENV = "CASEWATCH_PASSWORD"  # noqa: S105 - the name of a variable, not a secret


@commands.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Server processes (each with its own connections).")
    ] = 1,
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Run the SLA scan and outbox relay in the server (off when separate "
            "`casewatch worker`s do it).",
        ),
    ] = True,
    scan_every: Annotated[float, typer.Option(help="Seconds between SLA scans.")] = 60.0,
    relay_every: Annotated[float, typer.Option(help="Seconds between deliveries.")] = 10.0,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The HTTP API and web pages, with the scheduler running in-process."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    from casewatch.service.web import serving  # noqa: PLC0415 - as above

    if not 0 < port < 65536:
        raise typer.BadParameter("must be 1-65535", param_hint="--port")
    if not 1 <= workers <= 64:
        raise typer.BadParameter("must be 1-64", param_hint="--workers")
    if scan_every <= 0 or relay_every <= 0:
        raise typer.BadParameter("intervals must be positive", param_hint="--scan-every")
    with opened_runtime(db, config) as runtime:  # fail here, in words, if the database is unusable
        url, matcher = runtime.url, runtime.config.matcher
        proxies = [str(network) for network in runtime.config.web.trusted_proxies]
    chosen_config = config or global_options.config
    settings = serving.ServeSettings(url, chosen_config, scheduler, scan_every, relay_every)
    log.info(
        "serving", action="serve", url=f"http://{host}:{port}", workers=workers, matcher=matcher
    )
    typer.echo(f"casewatch: serving on http://{host}:{port} (Ctrl+C stops)", err=True)
    # uvicorn believes X-Forwarded-For/-Proto only from the configured proxies.
    options = {"host": host, "port": port, "log_level": "warning", "proxy_headers": bool(proxies)}
    if proxies:
        options["forwarded_allow_ips"] = proxies
    if workers == 1:
        uvicorn.run(serving.build(settings), **options)  # type: ignore[arg-type]
        return
    serving.to_environment(settings)
    with serving.shared_metrics():
        uvicorn.run(
            "casewatch.service.web.serving:from_environment",
            factory=True,
            workers=workers,
            **options,  # type: ignore[arg-type]
        )


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The sign-in name, e.g. j.carter.")],
    role: Annotated[str, typer.Option(help=f"One of {', '.join(ROLES)}.")],
    agency: Annotated[str, typer.Option(help="The person's agency.")],
    team: Annotated[
        list[str] | None, typer.Option("--team", help="A team (repeat for several).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Full name as shown on pages.")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Add a person. The password comes from $CASEWATCH_PASSWORD, else a prompt; never an
    option (it would be kept in shell history)."""
    password = _password()
    command = AddUser(
        Operator(),
        username=username,
        display_name=name or username,
        role=role,
        agency=agency,
        teams=team or [],
        password=password,
    )
    with opened_runtime(db, config) as runtime:
        try:
            bootstrap(runtime).handle(command)
        except accounts.AccountError as exc:
            fail(EXIT_REJECTED, str(exc))
    log.info("user_added", action="users_add", role=role)
    print_json({"username": username, "role": role, "agency": agency, "teams": team or []})


@users_app.command("list")
def users_list(db: DbOption = None, config: ConfigOption = None) -> None:
    """Everyone who can sign in, with role, agency and teams."""
    with opened_runtime(db, config) as runtime, runtime.engine.connect() as conn:
        people = accounts.list_users(conn)
    print_json(
        [
            {
                "username": p.username,
                "name": p.display_name,
                "role": p.role.value,
                "agency": p.agency,
                "teams": sorted(p.teams),
            }
            for p in people
        ]
    )


@users_app.command("password")
def users_password(
    username: Annotated[str, typer.Argument(help="Whose password to set.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Set a new password (from $CASEWATCH_PASSWORD, else a prompt); ends their sessions."""
    password = _password()
    with opened_runtime(db, config) as runtime:
        try:
            bootstrap(runtime).handle(SetPassword(Operator(), username, password))
        except accounts.AccountError as exc:
            fail(EXIT_REJECTED, str(exc))
    print_json({"username": username, "password": "changed"})


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument(help="The person the integration acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Issue an API token; it is printed once and stored only as a hash."""
    with opened_runtime(db, config) as runtime:
        try:
            token = bootstrap(runtime).handle(IssueToken(Operator(), username, name))
        except accounts.AccountError as exc:
            fail(EXIT_REJECTED, str(exc))
    print_json({"username": username, "name": name, "token": token})


@users_app.command("reset-two-factor")
def users_reset_two_factor(
    username: Annotated[str, typer.Argument(help="Who lost their authenticator app.")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Switch someone's two-factor sign-in off (their recovery codes too) and end their
    sessions; a role that requires it sets it up again at the next sign-in."""
    with opened_runtime(db, config) as runtime:
        if not bootstrap(runtime).handle(ResetTwoFactor(Operator(), username)):
            fail(EXIT_REJECTED, f"no user '{username}'")
    print_json({"username": username, "two_factor": "off"})


def _password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        fail(EXIT_USAGE, f"set {PASSWORD_ENV}, or run this at a terminal to be asked")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password
