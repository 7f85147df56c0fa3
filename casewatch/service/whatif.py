"""Running a what-if: the proposal loaded over the configuration in force, the replay,
and the renderings. Reads the database in a transaction that is rolled back, so nothing
a what-if does can be written."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from attrs import evolve, frozen

from casewatch.cases.db import is_sqlite
from casewatch.engine.changes import Setup, describe_changes
from casewatch.engine.policies import PolicyConfigError, policies_from_mapping
from casewatch.engine.rules import RuleFileError, load_rule_files
from casewatch.reports.formats import whatif_csv
from casewatch.reports.whatif import Period, Proposal, whatif_report
from casewatch.service.config import Config, ConfigError, load_config
from casewatch.service.replay import parallel_replay
from casewatch.service.runtime import Runtime

FORMATS: Final = ("json", "csv", "html")


@frozen
class LoadedProposal:
    config: Config
    changes: list[str]

    def proposal(self) -> Proposal:
        config = self.config
        return Proposal(
            policies=config.policies,
            rules=config.rules,
            evaluator=config.evaluator(),
            calendar=config.calendar,
            matrices=config.matrices,
            validator=config.validator(),
        )


def load_proposal(
    active: Config,
    active_dir: str | None,
    config_dir: str | None,
    rules_dir: str | None,
) -> LoadedProposal:
    """The configuration in force with the proposal's files laid over it. Raises
    ConfigError (each problem in `rules check`'s words) for a proposal that cannot load."""
    proposed = load_config(active_dir, overlay_config=config_dir, overlay_rules=rules_dir)
    return LoadedProposal(proposed, describe_changes(setup_of(active), setup_of(proposed)))


@frozen
class PolicyEdit:
    """A what-if typed into a form: one policy's target, kind, target % and amber band."""

    policy: str
    days: int
    kind: str
    target_pct: float
    amber_band: float


def edited_proposal(active: Config, edit: PolicyEdit) -> LoadedProposal:
    """The configuration in force with one policy edited, checked as a policy file would
    be; nothing is written anywhere. Raises ConfigError in the file check's words."""
    if edit.policy not in active.policies.ids:
        raise ConfigError(f"unknown policy '{edit.policy}'")
    data = {
        **active.policies_data,
        "policies": [
            {
                **entry,
                "target": {"days": edit.days, "kind": edit.kind},
                "target_pct": edit.target_pct,
                "amber_band": edit.amber_band,
            }
            if entry.get("id") == edit.policy
            else entry
            for entry in active.policies_data["policies"]
        ],
    }
    try:
        policies = policies_from_mapping(data, "the what-if form")
        rules = load_rule_files(active.rule_texts.items(), policies, "the what-if form")
    except PolicyConfigError as exc:
        raise ConfigError(str(exc)) from None
    except RuleFileError as exc:
        raise ConfigError(str(exc), exc.problems) from None
    proposed = evolve(active, policies=policies, rules=rules, policies_data=data)
    return LoadedProposal(proposed, describe_changes(setup_of(active), setup_of(proposed)))


def setup_of(config: Config) -> Setup:
    return Setup(
        policies=config.policies,
        rules=config.rules,
        timezone=config.timezone.key,
        nation=config.nation,
        matrices={"dash": config.matrices.dash.version, "asb": config.matrices.asb.version},
    )


def run_whatif(
    runtime: Runtime, loaded: LoadedProposal, period: Period, workers: int | None = None
) -> dict[str, Any]:
    """The what-if in one read: on PostgreSQL a repeatable-read transaction whose snapshot
    the replay's worker processes share (`workers`, default one per CPU)."""
    config = runtime.config
    # read_only: on SQLite a deferred BEGIN, so a what-if never holds the write lock (the
    # temporary table lives in SQLite's own temp database).
    with runtime.engine.connect().execution_options(read_only=True) as conn:
        if not is_sqlite(conn):
            conn.execution_options(isolation_level="REPEATABLE READ")
        transaction = conn.begin()
        try:
            replay = parallel_replay(conn, runtime.url, loaded.proposal, period, workers)
            return whatif_report(
                conn,
                policies=config.policies,
                rulesets=config.rulesets(),
                tz=config.timezone,
                proposal=loaded.proposal(),
                period=period,
                changes=loaded.changes,
                replay=replay,
            )
        finally:
            # Only a temporary table was made (the report's own replay of late cases);
            # rolling back keeps even that from touching anything.
            transaction.rollback()


def titles(active: Config, proposed: Config) -> dict[str, str]:
    """Policy id -> title, the proposal's wording winning for a policy on both sides."""
    return {p.id: p.title for p in (*active.policies.policies, *proposed.policies.policies)}


def render_whatif(
    whatif: Mapping[str, Any],
    by: str | None,
    output_format: str,
    names: Mapping[str, str],
    *,
    pretty: bool = False,
) -> bytes:
    if output_format == "csv":
        return whatif_csv(whatif, by).encode()
    if output_format == "html":
        from casewatch.reports.render import whatif_html  # noqa: PLC0415 - matplotlib

        return whatif_html(whatif, by, names).encode()
    return (json.dumps(whatif, ensure_ascii=False, indent=2 if pretty else None) + "\n").encode()
