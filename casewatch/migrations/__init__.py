"""Alembic migrations for every casewatch table, and the helpers that run them."""
