"""the team page's at-risk list off indexes, and its count of waiting alerts kept

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 08:30:00

Indexes that let a page of the case list stop at its end (per team: by soonest due time,
by latest due time, by reference), and `waiting_alerts`: per team and recipients, how many
alerts are neither superseded nor acknowledged, kept by triggers on `alerts`,
`alert_acknowledgements` and `cases` in the transaction that changes them (so every
writer, a restore and a bulk load included, keeps it), and filled here from the alerts
already stored. The SQL is written out here, not imported, so that this migration stays
as it is whatever the application becomes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# A waiting alert: not superseded, not acknowledged (of alias `a`).
_WAITING = (
    "NOT a.superseded AND NOT EXISTS "
    "(SELECT 1 FROM alert_acknowledgements k WHERE k.alert_id = a.id)"
)
_ADD = "ON CONFLICT (team, recipients) DO UPDATE SET waiting = waiting_alerts.waiting + excluded.waiting"

_FILL = f"""
INSERT INTO waiting_alerts (team, recipients, waiting)
SELECT c.team, a.recipients, count(*) FROM alerts a JOIN cases c ON c.case_id = a.case_id
WHERE c.team IS NOT NULL AND {_WAITING}
GROUP BY c.team, a.recipients
"""

# Every upsert of several counting rows takes them in (team, recipients) order, so two
# transactions counting the same rows (two workers' scans, say) queue rather than deadlock.
# PostgreSQL: statement triggers over the transition tables, so that a statement adds
# one change per team and recipients, however many rows it writes. (A row trigger would
# update the same few counting rows once per alert; many updates of one row in one
# transaction make each next one slower, as it walks every earlier version of the row.)
_DELTA = f"""
  INSERT INTO waiting_alerts (team, recipients, waiting)
  SELECT c.team, d.recipients, sum(d.delta) FROM changed d JOIN cases c ON c.case_id = d.case_id
  WHERE c.team IS NOT NULL AND NOT d.superseded AND NOT EXISTS
    (SELECT 1 FROM alert_acknowledgements k WHERE k.alert_id = d.id)
  GROUP BY c.team, d.recipients HAVING sum(d.delta) <> 0
  ORDER BY 1, 2
  {_ADD};
"""

_POSTGRESQL = [
    f"""
CREATE FUNCTION alerts_added_waiting_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH changed AS (SELECT id, case_id, recipients, superseded, 1 AS delta FROM added)
  {_DELTA}
  RETURN NULL;
END
$$
""",
    f"""
CREATE FUNCTION alerts_removed_waiting_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH changed AS (SELECT id, case_id, recipients, superseded, -1 AS delta FROM removed)
  {_DELTA}
  RETURN NULL;
END
$$
""",
    f"""
CREATE FUNCTION alerts_changed_waiting_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH changed AS (
    SELECT id, case_id, recipients, superseded, -1 AS delta FROM removed
    UNION ALL SELECT id, case_id, recipients, superseded, 1 FROM added
  )
  {_DELTA}
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER alerts_added_waiting_count AFTER INSERT ON alerts
REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION alerts_added_waiting_count()
""",
    """
CREATE TRIGGER alerts_removed_waiting_count AFTER DELETE ON alerts
REFERENCING OLD TABLE AS removed
FOR EACH STATEMENT EXECUTE FUNCTION alerts_removed_waiting_count()
""",
    """
CREATE TRIGGER alerts_changed_waiting_count AFTER UPDATE ON alerts
REFERENCING OLD TABLE AS removed NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION alerts_changed_waiting_count()
""",
    # The acknowledged alerts' rows are locked FOR UPDATE (in id order) first: an
    # acknowledgement and a change to the alert's superseded flag in two concurrent
    # transactions then count one after the other, the second seeing what the first
    # committed (each statement of a trigger function reads with a new snapshot).
    f"""
CREATE FUNCTION acknowledgements_waiting_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM 1 FROM alerts WHERE id IN (SELECT alert_id FROM added) ORDER BY id FOR UPDATE;
    INSERT INTO waiting_alerts (team, recipients, waiting)
    SELECT c.team, a.recipients, -count(*) FROM added k
    JOIN alerts a ON a.id = k.alert_id JOIN cases c ON c.case_id = a.case_id
    WHERE c.team IS NOT NULL AND NOT a.superseded
    GROUP BY c.team, a.recipients
    ORDER BY 1, 2
    {_ADD};
  ELSE
    PERFORM 1 FROM alerts WHERE id IN (SELECT alert_id FROM removed) ORDER BY id FOR UPDATE;
    INSERT INTO waiting_alerts (team, recipients, waiting)
    SELECT c.team, a.recipients, count(*) FROM removed k
    JOIN alerts a ON a.id = k.alert_id JOIN cases c ON c.case_id = a.case_id
    WHERE c.team IS NOT NULL AND NOT a.superseded
    GROUP BY c.team, a.recipients
    ORDER BY 1, 2
    {_ADD};
  END IF;
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER acknowledgements_added_waiting_count AFTER INSERT ON alert_acknowledgements
REFERENCING NEW TABLE AS added
FOR EACH STATEMENT EXECUTE FUNCTION acknowledgements_waiting_count()
""",
    """
CREATE TRIGGER acknowledgements_removed_waiting_count AFTER DELETE ON alert_acknowledgements
REFERENCING OLD TABLE AS removed
FOR EACH STATEMENT EXECUTE FUNCTION acknowledgements_waiting_count()
""",
    # A case's team is set when it is opened and, in practice, never changes: a row
    # trigger that only fires when it does.
    f"""
CREATE FUNCTION cases_waiting_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO waiting_alerts (team, recipients, waiting)
  SELECT OLD.team, a.recipients, -count(*) FROM alerts a
  WHERE a.case_id = OLD.case_id AND OLD.team IS NOT NULL AND {_WAITING}
  GROUP BY a.recipients
  {_ADD};
  INSERT INTO waiting_alerts (team, recipients, waiting)
  SELECT NEW.team, a.recipients, count(*) FROM alerts a
  WHERE a.case_id = NEW.case_id AND NEW.team IS NOT NULL AND {_WAITING}
  GROUP BY a.recipients
  {_ADD};
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER cases_waiting_count AFTER UPDATE OF team ON cases FOR EACH ROW
WHEN (OLD.team IS DISTINCT FROM NEW.team) EXECUTE FUNCTION cases_waiting_count()
""",
]


def _sqlite_add(team: str, recipients: str, delta: str, source: str) -> str:
    return (
        f"INSERT INTO waiting_alerts (team, recipients, waiting) "
        f"SELECT {team}, {recipients}, {delta} {source} {_ADD};"
    )


_SQLITE = [
    f"""
CREATE TRIGGER alerts_waiting_insert AFTER INSERT ON alerts
WHEN NOT NEW.superseded
  AND NOT EXISTS (SELECT 1 FROM alert_acknowledgements WHERE alert_id = NEW.id)
BEGIN
  {_sqlite_add("team", "NEW.recipients", "1",
               "FROM cases WHERE case_id = NEW.case_id AND team IS NOT NULL")}
END
""",
    f"""
CREATE TRIGGER alerts_waiting_delete AFTER DELETE ON alerts
WHEN NOT OLD.superseded
  AND NOT EXISTS (SELECT 1 FROM alert_acknowledgements WHERE alert_id = OLD.id)
BEGIN
  {_sqlite_add("team", "OLD.recipients", "-1",
               "FROM cases WHERE case_id = OLD.case_id AND team IS NOT NULL")}
END
""",
    f"""
CREATE TRIGGER alerts_waiting_update_old AFTER UPDATE OF case_id, recipients, superseded
ON alerts
WHEN NOT OLD.superseded
  AND NOT EXISTS (SELECT 1 FROM alert_acknowledgements WHERE alert_id = OLD.id)
BEGIN
  {_sqlite_add("team", "OLD.recipients", "-1",
               "FROM cases WHERE case_id = OLD.case_id AND team IS NOT NULL")}
END
""",
    f"""
CREATE TRIGGER alerts_waiting_update_new AFTER UPDATE OF case_id, recipients, superseded
ON alerts
WHEN NOT NEW.superseded
  AND NOT EXISTS (SELECT 1 FROM alert_acknowledgements WHERE alert_id = NEW.id)
BEGIN
  {_sqlite_add("team", "NEW.recipients", "1",
               "FROM cases WHERE case_id = NEW.case_id AND team IS NOT NULL")}
END
""",
    f"""
CREATE TRIGGER acknowledgements_waiting_insert AFTER INSERT ON alert_acknowledgements
BEGIN
  {_sqlite_add("c.team", "a.recipients", "-1",
               "FROM alerts a JOIN cases c ON c.case_id = a.case_id "
               "WHERE a.id = NEW.alert_id AND NOT a.superseded AND c.team IS NOT NULL")}
END
""",
    f"""
CREATE TRIGGER acknowledgements_waiting_delete AFTER DELETE ON alert_acknowledgements
BEGIN
  {_sqlite_add("c.team", "a.recipients", "1",
               "FROM alerts a JOIN cases c ON c.case_id = a.case_id "
               "WHERE a.id = OLD.alert_id AND NOT a.superseded AND c.team IS NOT NULL")}
END
""",
    f"""
CREATE TRIGGER cases_waiting_count AFTER UPDATE OF team ON cases
WHEN OLD.team IS NOT NEW.team
BEGIN
  {_sqlite_add("OLD.team", "a.recipients", "-count(*)",
               f"FROM alerts a WHERE a.case_id = OLD.case_id AND OLD.team IS NOT NULL "
               f"AND {_WAITING} GROUP BY a.recipients")}
  {_sqlite_add("NEW.team", "a.recipients", "count(*)",
               f"FROM alerts a WHERE a.case_id = NEW.case_id AND NEW.team IS NOT NULL "
               f"AND {_WAITING} GROUP BY a.recipients")}
END
""",
]

_TRIGGERS = {
    "postgresql": (
        ["alerts_added_waiting_count ON alerts", "alerts_removed_waiting_count ON alerts",
         "alerts_changed_waiting_count ON alerts",
         "acknowledgements_added_waiting_count ON alert_acknowledgements",
         "acknowledgements_removed_waiting_count ON alert_acknowledgements",
         "cases_waiting_count ON cases"],
        ["alerts_added_waiting_count()", "alerts_removed_waiting_count()",
         "alerts_changed_waiting_count()", "acknowledgements_waiting_count()",
         "cases_waiting_count()"],
    ),
    "sqlite": (
        ["alerts_waiting_insert", "alerts_waiting_delete", "alerts_waiting_update_old",
         "alerts_waiting_update_new", "acknowledgements_waiting_insert",
         "acknowledgements_waiting_delete", "cases_waiting_count"],
        [],
    ),
}


def upgrade() -> None:
    op.drop_index('ix_cases_team_status', table_name='cases')
    op.create_index('ix_cases_team_status', 'cases', ['team', 'status', 'case_id'], unique=False)
    op.create_index(
        'ix_cases_team_due', 'cases', ['team', 'status', 'rag_due_at', 'case_id'], unique=False
    )
    op.create_index(
        'ix_cases_team_last_due', 'cases', ['team', 'status', 'rag_last_due_at'], unique=False
    )
    op.create_table('waiting_alerts',
    sa.Column('team', sa.String(length=200), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('waiting', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('team', 'recipients', name=op.f('pk_waiting_alerts'))
    )
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRESQL if dialect == "postgresql" else _SQLITE:
        op.execute(statement)
    op.execute(_FILL)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    triggers, functions = _TRIGGERS[dialect]
    for trigger in triggers:
        op.execute(f"DROP TRIGGER {trigger}")
    for function in functions:
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table('waiting_alerts')
    op.drop_index('ix_cases_team_last_due', table_name='cases')
    op.drop_index('ix_cases_team_due', table_name='cases')
    op.drop_index('ix_cases_team_status', table_name='cases')
    op.create_index('ix_cases_team_status', 'cases', ['team', 'status'], unique=False)
