"""The words a caseworker uses for the system's names: one vocabulary for the pages, the
CLI's tables and messages.

Stored names stay as the contract spells them (`sla_paused`, `police_attended`,
`domestic_abuse`); only what people read goes through here, so a page, a terminal table
and an alert say the same thing. Pure: no I/O, safe to import from every layer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

# Initialisms written in capitals wherever they appear in a name.
ACRONYMS: Final = {
    "asb": "ASB",
    "da": "DA",
    "dash": "DASH",
    "idva": "IDVA",
    "isva": "ISVA",
    "marac": "MARAC",
    "mash": "MASH",
    "psg": "PSG",
    "rag": "RAG",
    "sla": "SLA",
    "csp": "CSP",
}

# Names whose words are not simply their parts.
PHRASES: Final = {
    "domestic_abuse": "Domestic abuse",
    "police_incidents_12m": "Police call-outs in the last 12 months",
    "police_attended": "Police attended",
    "case_type": "Case type",
    "event_id": "Event",
    "case_id": "Case",
    "to": "Referred to",
    "professional_judgement": "Professional judgement",
    "reported_by": "Reported by",
    "breach_explained": "Breach reason recorded",
}

CASE_TYPE_WORDS: Final = {"asb": "Anti-social behaviour", "domestic_abuse": "Domestic abuse"}

UNITS: Final = (("day", 86_400), ("hour", 3_600), ("minute", 60))


def words(name: str, *, in_sentence: bool = False) -> str:
    """`idva_contact_made` -> "IDVA contact made"; `sla_paused` -> "SLA paused";
    `in_sentence`: no capital at the start ("team manager"), acronyms kept."""
    if name in PHRASES and not in_sentence:
        return PHRASES[name]
    parts = name.replace("-", " ").replace("_", " ").split()
    if not parts:
        return ""
    shown = [ACRONYMS.get(part.lower(), part.lower()) for part in parts]
    first = shown[0]
    if not in_sentence and not first.isupper():
        shown[0] = first[:1].upper() + first[1:]
    return " ".join(shown)


def case_type_words(case_type: str | None) -> str:
    """A case's type in full, as on a case's heading."""
    if case_type is None:
        return "—"
    return CASE_TYPE_WORDS.get(case_type) or words(case_type)


def value_words(value: Any) -> str:
    """A field's value as read aloud: yes/no for booleans, names in words, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return _enumerated(value)
    if isinstance(value, list | tuple):
        return ", ".join(value_words(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{words(k)}: {value_words(v)}" for k, v in value.items())
    return str(value)


def _enumerated(text: str) -> str:
    """Machine names (lower-case words joined by _) in words; anything else as typed."""
    if text in PHRASES:
        return PHRASES[text]
    if text.lower() in ACRONYMS:
        return ACRONYMS[text.lower()]
    if text.replace("_", "").isalpha() and text.islower() and "_" in text:
        return words(text)
    return text


def span(delta: timedelta) -> str:
    """A length of time in the two largest units that matter: "3 days 4 hours",
    "5 hours 10 minutes", "under a minute"."""
    seconds = int(abs(delta).total_seconds())
    parts = []
    for unit, size in UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts[:2]) if parts else "under a minute"


def late_by(delta: timedelta) -> str:
    """How far past its due time a target is (or was when it stopped): "2 days 3 hours late"."""
    return f"{span(delta)} late"


def due_in(delta: timedelta) -> str:
    """A countdown to a due time: "due in 1 day 2 hours", or how late when it has passed."""
    if delta < timedelta(0):
        return late_by(delta)
    return f"due in {span(delta)}"
