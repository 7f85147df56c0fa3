"""The counts partnership measures are built from, each one query over the measure facts
(engine/facts.py: the events' types and fields, and the spans cases were open), flags and
cases.

A measure file names a count and its parameters (`{count: referrals, to: idva}`); this
module is the vocabulary. Every count takes the period [start, end) and `as_of`: events
after `as_of` are ignored, as everywhere in reports.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import attrs
from dateutil.relativedelta import relativedelta
from sqlalchemy import ColumnElement, Connection, and_, exists, func, or_, select

from casewatch.engine.facts import OPEN
from casewatch.engine.tables import CaseFlagRow
from casewatch.engine.tables import MeasureFactRow as Fact


@attrs.frozen
class Window:
    """What every count is asked about: the period and the moment things are seen from."""

    start: datetime
    end: datetime
    as_of: datetime
    tz: ZoneInfo

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end and at <= self.as_of


@attrs.frozen
class CountSpec:
    """One side of a measure, as written in the measure file."""

    count: str
    params: Mapping[str, Any] = attrs.field(factory=dict)


Count = Callable[[Connection, Window, Mapping[str, Any]], int]


@attrs.frozen
class CountKind:
    run: Count
    required: frozenset[str]
    optional: frozenset[str]
    about: str


def _in_window(window: Window, column: Any = Fact.at) -> ColumnElement[bool]:
    return and_(column >= window.start, _by_end(window, column))


def _by_end(window: Window, column: Any = Fact.at) -> ColumnElement[bool]:
    """Seen by the end of the period: before its end and not after `as_of`."""
    return and_(column < window.end, column <= window.as_of)


def _cases_opened(conn: Connection, window: Window, params: Mapping[str, Any]) -> int:
    query = select(func.count()).where(Fact.fact == "case_opened", _in_window(window))
    if "case_type" in params:
        query = query.where(Fact.detail == params["case_type"])
    return int(conn.execute(query).scalar_one())


def _flag_by(flag: str, window: Window) -> Any:
    return exists().where(
        CaseFlagRow.case_id == Fact.case_id,
        CaseFlagRow.flag == flag,
        _by_end(window, CaseFlagRow.raised_at),
    )


def _victims(conn: Connection, window: Window, params: Mapping[str, Any]) -> int:
    """Victims with an incident reported in the period (cases linked by the victim's
    reference count once); with `flag`, those with a case carrying it by the period's end."""
    query = (
        # `person`: the victim's link when cases are linked by the victim's reference (the
        # same person across cases), otherwise the case.
        select(func.count(Fact.person.distinct()))
        .select_from(Fact)
        .where(Fact.fact == "incident_reported", _in_window(window))
    )
    if "flag" in params:
        query = query.where(_flag_by(params["flag"], window))
    return int(conn.execute(query).scalar_one())


def _referrals(conn: Connection, window: Window, params: Mapping[str, Any]) -> int:
    """Referrals to `to` made in the period; `followed_by` keeps those with that event on
    the case at or after the referral; `repeat_within_months` keeps those whose incident
    (`incident_at`, else the referral itself) falls within so many calendar months of a
    previous referral of the victim (their linked cases included) to the same place."""
    if "repeat_within_months" in params:
        return _repeat_referrals(conn, window, params["to"], int(params["repeat_within_months"]))
    query = (
        select(func.count())
        .select_from(Fact)
        .where(Fact.fact == "referral_made", Fact.detail == params["to"], _in_window(window))
    )
    if "followed_by" in params:
        # The case's latest such event, found once per case and joined: a correlated
        # EXISTS per referral cost SQLite 40 s at 100,000 cases (it chose the type index).
        later = (
            select(Fact.case_id, func.max(Fact.at).label("last_at"))
            .where(Fact.fact == params["followed_by"], Fact.at <= window.as_of)
            .group_by(Fact.case_id)
            .subquery("later")
        )
        query = query.join(later, and_(later.c.case_id == Fact.case_id, later.c.last_at >= Fact.at))
    return int(conn.execute(query).scalar_one())


def _repeat_referrals(conn: Connection, window: Window, to: str, months: int) -> int:
    to_here = and_(Fact.fact == "referral_made", Fact.detail == to)
    # How far back a previous referral can be: `months` before the earliest moment a
    # referral of the period is judged by (its incident, when given, may be earlier).
    judged = conn.execute(
        select(func.min(func.coalesce(Fact.incident_at, Fact.at))).where(
            to_here, _in_window(window)
        )
    ).scalar_one()
    earliest = window.start if judged is None else min(window.start, judged)
    reach = (earliest.astimezone(window.tz) - relativedelta(months=months)).astimezone(
        window.start.tzinfo
    )
    referral = and_(to_here, Fact.at >= reach, _by_end(window))
    # Only victims with two or more referrals in reach can hold a repeat: the database
    # finds those, Python applies calendar months to their few referrals.
    repeated = select(Fact.person).where(referral).group_by(Fact.person).having(func.count() > 1)
    rows = conn.execute(
        select(Fact.person, Fact.at, Fact.incident_at)
        .where(referral, Fact.person.in_(repeated))
        .order_by(Fact.at, Fact.import_id, Fact.line)
    )
    return count_repeats(((r.person, r.at, r.incident_at) for r in rows), months, window)


def count_repeats(
    referrals: Iterable[tuple[str, datetime, datetime | None]], months: int, window: Window
) -> int:
    """Referrals in the window whose incident (the given time, else the referral's own)
    falls within `months` calendar months (local time) after an earlier referral of the
    same victim, as the repeat-MARAC flag rule counts them. Referrals come in effect order."""
    by_person: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for person, at, incident_at in referrals:
        by_person[person].append((at, incident_at))
    repeats = 0
    for history in by_person.values():
        for index, (at, incident_at) in enumerate(history):
            if not window.holds(at):
                continue
            until = incident_at or at
            since = until.astimezone(window.tz) - relativedelta(months=months)
            if any(since <= before <= until for before, _ in history[:index]):
                repeats += 1
    return repeats


def _cases_assessed(conn: Connection, window: Window, params: Mapping[str, Any]) -> int:
    """Cases assessed at `level` in the period (the level fixed when the assessment was
    accepted, professional judgement included)."""
    query = select(func.count(Fact.case_id.distinct())).where(
        Fact.fact == "risk_assessed", _in_window(window), Fact.detail == params["level"]
    )
    return int(conn.execute(query).scalar_one())


def _open_at(window: Window) -> ColumnElement[bool]:
    """Each case open at the end of the window (its latest opening after its latest
    closing, both up to that moment): the one open span of the case that began by then
    and had not ended by then."""
    return and_(
        Fact.fact == OPEN,
        _by_end(window),
        or_(Fact.until.is_(None), Fact.until >= window.end, Fact.until > window.as_of),
    )


def _open_cases(conn: Connection, window: Window, params: Mapping[str, Any]) -> int:
    """Cases open at the end of the period (or at `as_of` if earlier)."""
    return int(conn.execute(select(func.count()).where(_open_at(window))).scalar_one())


def _caseworkers_with_open_cases(
    conn: Connection, window: Window, params: Mapping[str, Any]
) -> int:
    query = select(func.count(Fact.caseworker.distinct())).where(_open_at(window))
    return int(conn.execute(query).scalar_one())


def _flags_raised(conn: Connection, window: Window, params: Mapping[str, Any]) -> int:
    """Cases on which `flag` was first raised in the period (a Community Trigger, say)."""
    query = select(func.count()).where(
        CaseFlagRow.flag == params["flag"],
        _in_window(window, CaseFlagRow.raised_at),
    )
    return int(conn.execute(query).scalar_one())


COUNTS: Final[Mapping[str, CountKind]] = {
    "cases_opened": CountKind(
        _cases_opened, frozenset(), frozenset({"case_type"}), "cases opened in the period"
    ),
    "victims": CountKind(
        _victims,
        frozenset(),
        frozenset({"flag"}),
        "cases with an incident reported in the period (with `flag`: carrying that flag)",
    ),
    "referrals": CountKind(
        _referrals,
        frozenset({"to"}),
        frozenset({"followed_by", "repeat_within_months"}),
        "referrals made in the period to `to`",
    ),
    "cases_assessed": CountKind(
        _cases_assessed, frozenset({"level"}), frozenset(), "cases assessed at `level`"
    ),
    "open_cases": CountKind(_open_cases, frozenset(), frozenset(), "cases open at the end"),
    "caseworkers_with_open_cases": CountKind(
        _caseworkers_with_open_cases,
        frozenset(),
        frozenset(),
        "caseworkers holding an open case at the end",
    ),
    "flags_raised": CountKind(
        _flags_raised, frozenset({"flag"}), frozenset(), "cases first flagged in the period"
    ),
}


def run_count(conn: Connection, window: Window, spec: CountSpec) -> int:
    return COUNTS[spec.count].run(conn, window, spec.params)
