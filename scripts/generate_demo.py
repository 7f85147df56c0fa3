"""Generate a year of a partnership's casework as JSONL events, deterministically.

    python scripts/generate_demo.py [--seed 2014] [--cases 300] [--output data/demo/events.jsonl]
    python scripts/generate_demo.py --end 2026-11-26 --output build/demo/events.jsonl

Without --end the demo covers financial year 2014/15 (data/demo/events.jsonl, which the
tests use). With --end DATE it covers the 365 days up to the start of that day (London
time) and writes nothing later: what `make demo` loads, so the year ends today, cases
opened in the last fortnight are high risk with targets still running (some green, some
past their warning point, a few already late) and last quarter is complete.

A district CSP: two ASB teams and a domestic abuse team, several caseworkers, victims with
(invented) personal details, incidents, risk assessments by the ASB matrix and DASH,
conferences, partner actions, contact attempts, referrals, pauses, exclusions and explained
breaches, with some actions late or missed. The same seed and end date always give the same
bytes.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
YEAR_START = datetime(2014, 4, 1, tzinfo=LONDON)
YEAR_DAYS = 365
LIVE_CASES = 30  # with --end: high-risk cases opened in the last LIVE_DAYS, targets running
LIVE_DAYS = 8
# With --end, ASB cases assessed high 4 days and WAITING_HOURS before the day starts and not
# yet conferenced: their 5-day conference target (warning at 80%) is amber for most of it.
WAITING_HOURS = (3, 6, 9)

FIRST_NAMES = (
    "Aisha",
    "Barbara",
    "Callum",
    "Dorota",
    "Ewan",
    "Fatima",
    "Graham",
    "Hannah",
    "Imran",
    "Joanne",
    "Kwame",
    "Linda",
    "Mohammed",
    "Niamh",
    "Oliver",
    "Priya",
    "Rhys",
    "Sandra",
    "Tomasz",
    "Uchenna",
    "Valerie",
    "Wayne",
    "Yasmin",
    "Zoe",
)
LAST_NAMES = (
    "Abbott",
    "Begum",
    "Clarke",
    "Dobson",
    "Evans",
    "Fraser",
    "Gill",
    "Hussain",
    "Iqbal",
    "Jones",
    "Kowalski",
    "Lewis",
    "Mensah",
    "Nowak",
    "Okafor",
    "Patel",
    "Quinn",
    "Roberts",
    "Singh",
    "Thompson",
    "Usher",
    "Vaughan",
    "Walsh",
    "Young",
)
STREETS = ("Mill Lane", "Church Road", "Station Street", "Park View", "Queens Avenue", "Elm Close")
TEAMS = {
    "asb": (("asb-north", ("r.hughes", "s.ahmed", "k.doyle")), ("asb-south", ("m.price", "t.lee"))),
    "domestic_abuse": (("da-idva", ("j.carter", "p.osei", "l.byrne")),),
}
ASB_CATEGORIES = ("noise", "harassment", "hate", "criminal_damage", "intimidation", "drug_activity")
ASB_QUESTIONS = (
    "p1",
    "p2",
    "p3",
    "p4",
    "p5",
    "p6",
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
    "i1",
    "i2",
    "i3",
    "i4",
    "i5",
    "i6",
)
BREACH_REASONS = ("criminal case ongoing", "victim not engaging", "partner agency delay")
EXCLUSION_REASONS = (
    "professional judgement: risk cannot reduce while the court case is pending",
    "victim moved out of the area",
)


class Casebook:
    """Writes one case's events with unique ids and local timestamps."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[tuple[datetime, int, dict[str, Any]]] = []
        self.counter = 0

    def add(self, case_id: str, event_type: str, at: datetime, **fields: Any) -> None:
        self.counter += 1
        event = {
            "event_id": f"demo-{self.counter:06d}",
            "type": event_type,
            "case_id": case_id,
            "at": at.astimezone(LONDON).isoformat(),
            **fields,
        }
        self.events.append((at, self.counter, event))

    def working_hours(self, day: datetime) -> datetime:
        local = day.astimezone(LONDON)
        while local.weekday() >= 5:
            local += timedelta(days=1)
        return local.replace(
            hour=self.rng.randint(8, 17),
            minute=self.rng.choice((0, 15, 30, 45)),
            second=0,
            microsecond=0,
        )

    def lines(self) -> Iterator[str]:
        for _, _, event in sorted(self.events, key=lambda item: (item[0], item[1])):
            yield json.dumps(event, ensure_ascii=False)


def victim(rng: random.Random) -> dict[str, str]:
    return {
        "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        "address": f"{rng.randint(1, 120)} {rng.choice(STREETS)}",
        "phone": f"07700 900{rng.randint(100, 999)}",
    }


def asb_case(
    book: Casebook,
    rng: random.Random,
    case_id: str,
    opened: datetime,
    year_start: datetime = YEAR_START,
    *,
    high_risk: bool = False,
) -> None:
    team, workers = rng.choice(TEAMS["asb"])
    book.add(
        case_id,
        "case_opened",
        opened,
        case_type="asb",
        team=team,
        caseworker=rng.choice(workers),
        victim=victim(rng),
    )
    at = opened
    for _ in range(rng.choices((1, 2, 3, 4), weights=(5, 3, 2, 1))[0]):
        at = at + timedelta(days=rng.randint(0, 40), hours=rng.randint(1, 9))
        book.add(
            case_id,
            "incident_reported",
            at,
            category=rng.choice(ASB_CATEGORIES),
            police_attended=rng.random() < 0.4,
        )
    assessed = book.working_hours(opened + timedelta(days=rng.randint(0, 2)))
    high = rng.random() < 0.35 or high_risk
    yes_share = 0.75 if high else 0.3
    answers = {q: rng.random() < yes_share for q in ASB_QUESTIONS}
    if high_risk:  # the matrix's personal and situational questions alone weigh 25
        answers |= {q: True for q in ASB_QUESTIONS if q[0] in "ps"}
    book.add(case_id, "risk_assessed", assessed, matrix="asb", answers=answers)
    if high:
        asb_high_risk(book, rng, case_id, assessed)
    closed = assessed + timedelta(days=rng.randint(20, 120))
    for method in rng.sample(("call", "letter", "visit"), k=rng.randint(1, 3)):
        contact = book.working_hours(assessed + timedelta(days=rng.randint(1, 15)))
        book.add(
            case_id,
            "contact_attempted",
            contact,
            method=method,
            outcome=rng.choice(("no answer", "spoke to victim", "left card")),
        )
    if closed < year_start + timedelta(days=YEAR_DAYS + 60) and rng.random() < 0.7:
        book.add(
            case_id,
            "case_closed",
            book.working_hours(closed),
            outcome=rng.choice(("resolved", "victim moved", "no further action")),
        )


def asb_high_risk(book: Casebook, rng: random.Random, case_id: str, assessed: datetime) -> None:
    # Conference or partner actions: mostly within 5 days, some late, a few never.
    roll = rng.random()
    if roll < 0.8:
        when = assessed + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
    elif roll < 0.95:
        when = assessed + timedelta(days=rng.randint(6, 10))
    else:
        when = None
    if when is not None:
        if rng.random() < 0.5:
            book.add(
                case_id,
                "case_conference_held",
                book.working_hours(when),
                agencies=rng.sample(("police", "housing", "council", "health"), k=3),
            )
        else:
            book.add(
                case_id,
                "partner_actions_agreed",
                book.working_hours(when),
                actions=[
                    {"agency": "police", "action": "increase patrols"},
                    {"agency": "housing", "action": "warning letter to perpetrator"},
                ],
            )
    # Risk reduction: mostly within 7 days; some excluded, some late with a reason.
    roll = rng.random()
    if roll < 0.12:
        book.add(
            case_id,
            "sla_excluded",
            assessed + timedelta(days=2),
            policy="asb-high-risk-reduction",
            reason=rng.choice(EXCLUSION_REASONS),
        )
        return
    late = roll > 0.75
    days = rng.randint(8, 16) if late else rng.randint(2, 6)
    reviewed = book.working_hours(assessed + timedelta(days=days))
    book.add(case_id, "risk_assessed", reviewed, matrix="asb", level="medium")
    if late and rng.random() < 0.7:
        book.add(
            case_id,
            "breach_explained",
            reviewed + timedelta(hours=1),
            policy="asb-high-risk-reduction",
            reason=rng.choice(BREACH_REASONS[:2]),
        )


def waiting_case(book: Casebook, rng: random.Random, case_id: str, assessed: datetime) -> None:
    """An ASB case assessed high at `assessed` whose conference has not happened yet."""
    team, workers = TEAMS["asb"][0]
    opened = assessed - timedelta(hours=2)
    book.add(
        case_id,
        "case_opened",
        opened,
        case_type="asb",
        team=team,
        caseworker=rng.choice(workers),
        victim=victim(rng),
    )
    book.add(
        case_id,
        "incident_reported",
        opened - timedelta(hours=rng.randint(2, 20)),
        category=rng.choice(ASB_CATEGORIES),
        police_attended=rng.random() < 0.5,
    )
    answers = {q: q[0] in "ps" or rng.random() < 0.5 for q in ASB_QUESTIONS}
    book.add(case_id, "risk_assessed", assessed, matrix="asb", answers=answers)


def da_case(
    book: Casebook,
    rng: random.Random,
    case_id: str,
    opened: datetime,
    year_start: datetime = YEAR_START,
    *,
    high_risk: bool = False,
) -> None:
    team, workers = TEAMS["domestic_abuse"][0]
    book.add(
        case_id,
        "case_opened",
        opened,
        case_type="domestic_abuse",
        team=team,
        caseworker=rng.choice(workers),
        victim=victim(rng),
    )
    book.add(
        case_id,
        "incident_reported",
        opened - timedelta(hours=rng.randint(2, 30)),
        category="domestic_abuse",
        reported_by="police",
        police_attended=True,
    )
    assessed = opened + timedelta(hours=rng.randint(1, 20))
    yes = min(24, max(0, int(rng.gauss(11, 4))))
    if high_risk:
        yes = max(yes, 14)  # SafeLives' threshold for a MARAC referral
    answers = [True] * yes + [False] * (24 - yes)
    rng.shuffle(answers)
    fields: dict[str, Any] = {
        "matrix": "dash",
        "answers": answers,
        "police_incidents_12m": rng.choice((0, 0, 1, 1, 2, 3, 4)),
    }
    if 10 <= yes < 14 and rng.random() < 0.15:
        fields["professional_judgement"] = {"level": "high", "reason": "escalating threats"}
    book.add(case_id, "risk_assessed", assessed, **fields)
    high = yes >= 14 or fields["police_incidents_12m"] >= 3 or "professional_judgement" in fields
    if high:
        if rng.random() < 0.9:
            book.add(
                case_id,
                "referral_made",
                assessed + timedelta(hours=rng.choice((2, 5, 20, 30, 50))),
                to="marac",
            )
        book.add(case_id, "referral_made", assessed + timedelta(hours=1), to="idva")
        if rng.random() < 0.1:
            book.add(
                case_id,
                "sla_paused",
                assessed + timedelta(hours=3),
                policy="da-high-risk-idva-contact",
                reason="victim in hospital",
            )
            book.add(
                case_id,
                "sla_resumed",
                assessed + timedelta(days=2),
                policy="da-high-risk-idva-contact",
                reason="victim discharged",
            )
        if rng.random() < 0.92:
            book.add(
                case_id,
                "idva_contact_made",
                book.working_hours(assessed + timedelta(days=rng.choice((0, 1, 1, 2, 3, 5)))),
            )
    if rng.random() < 0.6:
        book.add(
            case_id,
            "case_closed",
            book.working_hours(opened + timedelta(days=rng.randint(30, 150))),
            outcome=rng.choice(("safety plan in place", "victim declined support")),
        )


def generate(seed: int, cases: int, end: date | None = None) -> list[str]:
    """The demo's event lines in time order. `end`: the year runs up to the start of that
    day, nothing later is written, and LIVE_CASES recent high-risk cases are added."""
    rng = random.Random(seed)
    book = Casebook(rng)
    cutoff = None if end is None else datetime.combine(end, time(0), LONDON)
    start = YEAR_START if cutoff is None else cutoff - timedelta(days=YEAR_DAYS)
    for number in range(1, cases + 1):
        opened = book.working_hours(start + timedelta(days=rng.uniform(0, YEAR_DAYS - 1)))
        if rng.random() < 0.65:
            asb_case(book, rng, f"ASB-{number:04d}", opened, start)
        else:
            da_case(book, rng, f"DA-{number:04d}", opened, start)
    if cutoff is not None:
        for number in range(cases + 1, cases + LIVE_CASES + 1):
            opened = book.working_hours(cutoff - timedelta(days=rng.uniform(1, LIVE_DAYS)))
            while opened >= cutoff:  # a Friday evening's "next working day" is Monday
                opened -= timedelta(days=1)
            if rng.random() < 0.6:
                asb_case(book, rng, f"ASB-{number:04d}", opened, start, high_risk=True)
            else:
                da_case(book, rng, f"DA-{number:04d}", opened, start, high_risk=True)
        for offset, hours in enumerate(WAITING_HOURS, start=cases + LIVE_CASES + 1):
            waiting_case(book, rng, f"ASB-{offset:04d}", cutoff - timedelta(days=4, hours=hours))
        book.events = [item for item in book.events if item[0] < cutoff]
    return list(book.lines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2014)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--output", type=Path, default=Path("data/demo/events.jsonl"))
    parser.add_argument(
        "--end",
        type=date.fromisoformat,
        default=None,
        help="YYYY-MM-DD: a year ending at the start of this day (default: FY2014/15)",
    )
    args = parser.parse_args()
    lines = generate(args.seed, args.cases, args.end)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    live = LIVE_CASES + len(WAITING_HOURS) if args.end else 0
    print(f"wrote {len(lines)} events for {args.cases + live} cases to {args.output}")


if __name__ == "__main__":
    main()
