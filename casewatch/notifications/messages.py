"""Alert messages from Jinja2 templates: case references, targets and times only."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from attrs import frozen
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from casewatch.cases.wording import span, words

LEVEL_TITLES = {"warning": "Warning: target due soon", "breach": "Target missed"}


@frozen
class Message:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("casewatch.notifications", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def level_title(level: str) -> str:
    if level.startswith("escalation-"):
        return f"Escalation {level.rsplit('-', 1)[1]}: target still missed"
    return LEVEL_TITLES.get(level, level)


def render_alert(
    *,
    case_id: str,
    team: str | None,
    policy_title: str,
    cycle: int,
    level: str,
    started_at: datetime,
    due_at: datetime,
    at: datetime,
    recipient: str,
    link_base_url: str,
    tz: ZoneInfo,
) -> Message:
    """Everything a template sees is listed here, and none of it is personal data."""
    context: dict[str, Any] = {
        "case_id": case_id,
        "team": team,
        "policy_title": policy_title,
        "cycle": cycle,
        "level": level,
        "level_title": level_title(level),
        "started_at": _local(started_at, tz),
        "due_at": _local(due_at, tz),
        "remaining": span(max(due_at - at, timedelta(0))),
        "overdue": span(max(at - due_at, timedelta(0))),
        "recipient": words(recipient, in_sentence=True),
        "link": f"{link_base_url}/cases/{case_id}",
    }
    env = _environment()
    return Message(
        subject=env.get_template("alert_subject.txt").render(context).strip(),
        text=env.get_template("alert_body.txt").render(context),
        html=env.get_template("alert_body.html").render(context),
    )


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%a %d %b %Y %H:%M")
