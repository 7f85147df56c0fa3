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

_POSTGRESQL = [
    f"""
CREATE FUNCTION waiting_alerts_add(p_case text, p_recipients text, p_delta bigint)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO waiting_alerts (team, recipients, waiting)
  SELECT team, p_recipients, p_delta FROM cases WHERE case_id = p_case AND team IS NOT NULL
  {_ADD}
$$
""",
    """
CREATE FUNCTION alerts_waiting_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' AND NOT OLD.superseded AND NOT EXISTS
      (SELECT 1 FROM alert_acknowledgements WHERE alert_id = OLD.id) THEN
    PERFORM waiting_alerts_add(OLD.case_id, OLD.recipients, -1);
  END IF;
  IF TG_OP <> 'DELETE' AND NOT NEW.superseded AND NOT EXISTS
      (SELECT 1 FROM alert_acknowledgements WHERE alert_id = NEW.id) THEN
    PERFORM waiting_alerts_add(NEW.case_id, NEW.recipients, 1);
  END IF;
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER alerts_waiting_count AFTER INSERT OR DELETE ON alerts
FOR EACH ROW EXECUTE FUNCTION alerts_waiting_count()
""",
    """
CREATE TRIGGER alerts_waiting_count_update AFTER UPDATE OF case_id, recipients, superseded
ON alerts FOR EACH ROW
WHEN (OLD.case_id IS DISTINCT FROM NEW.case_id OR OLD.recipients IS DISTINCT FROM NEW.recipients
      OR OLD.superseded IS DISTINCT FROM NEW.superseded)
EXECUTE FUNCTION alerts_waiting_count()
""",
    # The alert row is locked FOR UPDATE: an acknowledgement and a change to the alert's
    # superseded flag in two concurrent transactions then count one after the other, the
    # second seeing what the first committed.
    """
CREATE FUNCTION acknowledgements_waiting_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  acknowledged alerts%ROWTYPE;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO acknowledged FROM alerts WHERE id = NEW.alert_id FOR UPDATE;
    IF FOUND AND NOT acknowledged.superseded THEN
      PERFORM waiting_alerts_add(acknowledged.case_id, acknowledged.recipients, -1);
    END IF;
  ELSE
    SELECT * INTO acknowledged FROM alerts WHERE id = OLD.alert_id FOR UPDATE;
    IF FOUND AND NOT acknowledged.superseded THEN
      PERFORM waiting_alerts_add(acknowledged.case_id, acknowledged.recipients, 1);
    END IF;
  END IF;
  RETURN NULL;
END
$$
""",
    """
CREATE TRIGGER acknowledgements_waiting_count AFTER INSERT OR DELETE ON alert_acknowledgements
FOR EACH ROW EXECUTE FUNCTION acknowledgements_waiting_count()
""",
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
        ["alerts_waiting_count ON alerts", "alerts_waiting_count_update ON alerts",
         "acknowledgements_waiting_count ON alert_acknowledgements",
         "cases_waiting_count ON cases"],
        ["alerts_waiting_count()", "acknowledgements_waiting_count()", "cases_waiting_count()",
         "waiting_alerts_add(text, text, bigint)"],
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
