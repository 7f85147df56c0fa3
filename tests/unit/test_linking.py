"""Victims linked across cases: the reference, its link key, and flags counted across cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casewatch.cases.events import CaseOpened, Event, ReferralMade
from casewatch.cases.linking import victim_link
from casewatch.cases.state import LinkedEvent
from casewatch.cases.validation import RejectedEventError
from casewatch.engine.derive import Derivation, derive
from casewatch.engine.evaluators import ReferenceEvaluator, make_evaluator
from casewatch.service.config import Config
from tests.builders import ev, needs_durable, opened

SECRET = b"k" * 32
LONDON = ZoneInfo("Europe/London")


def _validated(config: Config, line: dict[str, Any]) -> Event:
    return config.validator().with_link_secret(SECRET).validate(line).event


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        ("", "non-empty text"),
        ("   ", "non-empty text"),
        (17, "non-empty text"),
        (None, "non-empty text"),
        ("R" * 65, "longer than 64 characters"),
        ("PR-1\n", "cannot be printed"),
        ("PR\t1", "cannot be printed"),
    ],
)
def test_a_bad_reference_is_refused_without_quoting_it(
    config: Config, reference: Any, words: str
) -> None:
    """Not a non-empty printable text of at most 64 characters: refused, value not echoed."""
    line = opened("C1", "2014-05-01T09:00:00+01:00", victim={"reference": reference})
    with pytest.raises(RejectedEventError) as caught:
        _validated(config, line)
    [problem] = caught.value.problems
    assert problem.path == "victim.reference"
    assert problem.words.startswith("'victim.reference'")
    assert words in problem.words
    if isinstance(reference, str) and reference.strip():
        assert reference.strip() not in problem.words


def test_a_good_reference_gives_a_link_key_that_is_not_the_reference(config: Config) -> None:
    """64 printable characters are accepted; the link is the keyed hash, stored as derived."""
    reference = "PR-" + "x" * 61
    valid = (
        config.validator()
        .with_link_secret(SECRET)
        .validate(
            opened("C1", "2014-05-01T09:00:00+01:00", victim={"reference": reference, "name": "A"})
        )
    )
    assert isinstance(valid.event, CaseOpened)
    assert valid.event.victim_link == victim_link(SECRET, reference)
    assert reference not in valid.payload
    assert valid.derived is not None
    assert reference not in valid.derived
    assert victim_link(SECRET, reference) != victim_link(b"other secret", reference)


@pytest.mark.parametrize(
    ("incident_at", "words"),
    [
        ("2015-05-06T10:00:00", "offset"),
        ("not a time", "incident_at"),
        ("2015-06-02T10:00:00+01:00", "cannot be after"),
    ],
)
def test_incident_at_is_checked_like_at(config: Config, incident_at: str, words: str) -> None:
    """A timestamp with offset, not after the referral itself."""
    line = ev("referral_made", "C1", "2015-06-01T10:00:00+01:00", to="marac",
              incident_at=incident_at)  # fmt: skip
    with pytest.raises(RejectedEventError) as caught:
        _validated(config, line)
    assert any(
        p.path == "incident_at" and "'incident_at'" in p.words and words in p.words
        for p in caught.value.problems
    )


def test_incident_at_is_read_back(config: Config) -> None:
    """The referral carries the incident's time; a repeat is judged by it."""
    event = _validated(
        config,
        ev("referral_made", "C1", "2015-06-01T10:00:00+01:00", to="marac",
           incident_at="2015-05-06T10:00:00+01:00"),
    )  # fmt: skip
    assert isinstance(event, ReferralMade)
    assert event.repeat_reference_at.isoformat() == "2015-05-06T10:00:00+01:00"


@pytest.fixture(params=[pytest.param("durable", marks=needs_durable), "reference"])
def replay(request: pytest.FixtureRequest, config: Config) -> Any:
    evaluator = make_evaluator(request.param, config.rules)

    def run(
        case_id: str, lines: list[dict[str, Any]], others: list[tuple[str, dict[str, Any]]]
    ) -> Derivation:
        events = [_validated(config, line) for line in lines]
        linked = [LinkedEvent(_validated(config, line), kind) for kind, line in others]
        return derive(case_id, events, config.rules, evaluator, config.calendar, linked=linked)

    return run


def _incident(case_id: str, at: str, event_id: str) -> dict[str, Any]:
    return ev("incident_reported", case_id, at, event_id=event_id, category="noise")


def test_a_flag_lands_on_a_linked_case_open_at_that_moment(replay: Any) -> None:
    """Two incidents on another case and one here: repeat-victim here at the third."""
    derivation = replay(
        "B",
        [opened("B", "2014-05-01T09:00:00+01:00", case_type="domestic_abuse")],
        [
            ("asb", _incident("A", "2014-05-02T09:00:00+01:00", "a1")),
            ("asb", _incident("A", "2014-05-03T09:00:00+01:00", "a2")),
            ("asb", _incident("A", "2014-05-04T09:00:00+01:00", "a3")),
        ],
    )
    [flag] = derivation.flags
    assert (flag.flag, flag.event_id, flag.rule_id) == ("repeat-victim", "a3", "repeat-victim")
    assert derivation.cycles == ()


def test_no_flag_on_a_case_not_yet_opened_or_closed_then(replay: Any) -> None:
    """Opened after the count was reached, or closed before it: no flag."""
    others = [("asb", _incident("A", f"2014-05-0{d}T09:00:00+01:00", f"a{d}")) for d in (2, 3, 4)]
    later = replay("B", [opened("B", "2014-05-04T09:00:01+01:00")], others)
    assert later.flags == ()
    closed = replay(
        "B",
        [opened("B", "2014-05-01T09:00:00+01:00"),
         ev("case_closed", "B", "2014-05-03T12:00:00+01:00")],
        others,
    )  # fmt: skip
    assert closed.flags == ()
    same_moment = replay("B", [opened("B", "2014-05-04T09:00:00+01:00")], others)
    assert [f.flag for f in same_moment.flags] == ["repeat-victim", "community-trigger"]


def test_the_community_trigger_counts_asb_cases_only(replay: Any) -> None:
    """Incidents on a linked DA case count for repeat-victim, not the Community Trigger."""
    derivation = replay(
        "B",
        [opened("B", "2014-05-01T09:00:00+01:00"), _incident("B", "2014-05-02T09:00:00+01:00", "b")],
        [
            ("domestic_abuse", _incident("D", "2014-05-03T09:00:00+01:00", "d1")),
            ("domestic_abuse", _incident("D", "2014-05-04T09:00:00+01:00", "d2")),
        ],
    )  # fmt: skip
    assert [f.flag for f in derivation.flags] == ["repeat-victim"]


def test_a_linked_event_never_starts_or_stops_clocks(replay: Any) -> None:
    """Another case's MARAC referral does not meet this case's MARAC target."""
    derivation = replay(
        "B",
        [opened("B", "2014-05-01T09:00:00+01:00", case_type="domestic_abuse"),
         ev("risk_assessed", "B", "2014-05-02T09:00:00+01:00", matrix="dash", level="high")],
        [("domestic_abuse", ev("referral_made", "A", "2014-05-02T10:00:00+01:00", to="marac"))],
    )  # fmt: skip
    marac = next(c for c in derivation.cycles if c.policy == "da-high-risk-marac-referral")
    assert marac.stopped_at is None
    assert derivation.flags == ()


def test_repeat_marac_across_linked_cases_and_by_incident_date(replay: Any) -> None:
    """A referral 13 months on whose incident was 12 months on is a repeat; a day more is not."""
    first = ("domestic_abuse", ev("referral_made", "A", "2014-05-06T10:00:00+01:00", to="marac"))
    base = [opened("B", "2014-05-01T09:00:00+01:00", case_type="domestic_abuse")]

    def second(incident_at: str | None) -> list[dict[str, Any]]:
        extra = {"incident_at": incident_at} if incident_at else {}
        return [*base, ev("referral_made", "B", "2015-06-01T10:00:00+01:00", event_id="b2",
                          to="marac", **extra)]  # fmt: skip

    exactly = replay("B", second("2015-05-06T10:00:00+01:00"), [first])
    assert [(f.flag, f.event_id) for f in exactly.flags] == [("repeat-marac", "b2")]
    assert exactly.flags[0].raised_at.isoformat() == "2015-06-01T10:00:00+01:00"
    assert replay("B", second("2015-05-07T10:00:00+01:00"), [first]).flags == ()
    assert replay("B", second(None), [first]).flags == ()


def test_without_links_a_case_derives_as_before(replay: Any, config: Config) -> None:
    """An empty `linked` is the per-case derivation (contract section 3)."""
    lines = [opened("B", "2014-05-01T09:00:00+01:00")] + [
        _incident("B", f"2014-05-0{d}T09:00:00+01:00", f"b{d}") for d in (2, 3, 4)
    ]
    alone = replay("B", lines, [])
    assert [(f.flag, f.event_id) for f in alone.flags] == [
        ("repeat-victim", "b4"),
        ("community-trigger", "b4"),
    ]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B"]), st.integers(1, 60 * 24 * 200)),
        max_size=8,
        unique_by=lambda item: item[1],
    )
)
def test_two_linked_cases_flag_like_one_case_holding_every_incident(
    config: Config, incidents: list[tuple[str, int]]
) -> None:
    """Linked ASB cases open throughout: each gets repeat-victim and the Community Trigger
    at the same moment as one case holding all of their incidents would."""
    evaluator = ReferenceEvaluator(config.rules)
    start = datetime(2014, 4, 1, 9, 0, tzinfo=LONDON)
    lines = {name: [_opened_line(name, start)] for name in ("A", "B", "ALL")}
    for index, (name, minutes) in enumerate(sorted(incidents, key=lambda item: item[1])):
        at = (start + timedelta(minutes=minutes)).isoformat()
        lines[name].append(_incident(name, at, f"{name}{index}"))
        lines["ALL"].append(_incident("ALL", at, f"ALL{index}"))
    events = {name: [_validated(config, line) for line in found] for name, found in lines.items()}

    def moments(case_id: str, other: str | None) -> dict[str, datetime]:
        linked = [LinkedEvent(e, "asb") for e in events[other][1:]] if other else []
        derived = derive(case_id, events[case_id], config.rules, evaluator, config.calendar,
                         linked=linked)  # fmt: skip
        return {f.flag: f.raised_at for f in derived.flags}

    alone = moments("ALL", None)
    assert moments("A", "B") == alone
    assert moments("B", "A") == alone


def _opened_line(case_id: str, at: datetime) -> dict[str, Any]:
    return opened(case_id, at.isoformat())
