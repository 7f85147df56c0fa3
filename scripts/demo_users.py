"""Create the demo's people that are missing, one per role, and print their passwords once.

    python scripts/demo_users.py [--db URL]

Run by `make demo`. A new person's password is random and stored only as an argon2 hash;
the table printed here is the only place it appears. People already there keep their
passwords (a second `make demo` must not lock out whoever is using the first): the table
says how to set a new one.
"""

from __future__ import annotations

import argparse
import secrets
from datetime import UTC, datetime

from casewatch.service import accounts
from casewatch.service.runtime import open_runtime

# Usernames of caseworkers match the demo data's, so "my cases" is full from the start.
DEMO_PEOPLE = (
    ("k.doyle", "Kate Doyle", "caseworker", "council", ["asb-north"]),
    ("j.carter", "Jo Carter", "caseworker", "idva-service", ["da-idva"]),
    ("n.shah", "Nadia Shah", "manager", "council", ["asb-north", "asb-south", "da-idva"]),
    ("psg.chair", "Chris Morgan", "psg", "csp", []),
    ("admin", "CSP administrator", "admin", "csp", []),
)


def create(db: str | None) -> None:
    """Add the missing demo people and print a sign-in table."""
    runtime = open_runtime(db, None)
    now = datetime.now(UTC)
    rows = []
    with runtime.engine.connect() as conn, conn.begin():
        existing = {p.username for p in accounts.list_users(conn)}
        for username, name, role, agency, teams in DEMO_PEOPLE:
            if username in existing:
                rows.append((role, username, None))
                continue
            password = secrets.token_urlsafe(12)
            accounts.add_user(
                conn,
                username=username,
                display_name=name,
                role=role,
                agency=agency,
                teams=teams,
                password=password,
                now=now,
            )
            rows.append((role, username, password))
    runtime.engine.dispose()
    print("Demo sign-ins (new passwords are shown only now):")
    for role, username, password in rows:
        shown = password or "(kept from before)"
        print(f"  {role:<11} {username:<10} {shown}")
    if any(password is None for _, _, password in rows):
        print(
            "To set a new password for someone: .venv/bin/casewatch users password USERNAME"
            "\n(or delete casewatch.db and run make demo again for a fresh demo)"
        )
    required = sorted(runtime.config.sign_in.two_factor_roles)
    if required:
        print(
            f"Two-factor sign-in is required for: {', '.join(required)}. At their first\n"
            "sign-in they are shown a QR code: scan it with an authenticator app (Microsoft\n"
            "or Google Authenticator, FreeOTP, ...) or type the key shown under it, then enter\n"
            "the 6-digit code. Keep the recovery codes shown next. Afterwards each sign-in\n"
            "asks for the password and the app's current code."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    create(args.db)


if __name__ == "__main__":
    main()
