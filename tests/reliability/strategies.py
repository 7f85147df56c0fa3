"""Near-valid events for the bad-input fuzz tests.

Every event type of the contract has a valid template (`TEMPLATES`); strategies then break
exactly one rule of a template — a wrong type for one field, a missing required field, a
bad timestamp, an unknown case, a reused event id, a huge or unstorable string, invalid
bytes, deep nesting, a line that is not an object — and say which field the rejection must
name. Neutral changes (unknown extra fields, other spellings of a valid timestamp, blank
lines, CRLF endings, exact duplicates) keep a line valid, so files mix both kinds.

Strings of 100k-1M characters and nesting thousands of levels deep are built from a few
drawn numbers, not drawn character by character, so examples stay fast and small.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from attrs import evolve, frozen
from hypothesis import strategies as st

AT: Final = "2014-05-06T10:30:00+01:00"
STORED_CASES: Final = {"STORED-A": "asb", "STORED-D": "domestic_abuse"}
POLICY_FOR: Final = {
    "asb": "asb-high-risk-conference",
    "domestic_abuse": "da-high-risk-idva-contact",
}
OTHER_TYPE: Final = {"asb": "domestic_abuse", "domestic_abuse": "asb"}
DASH_MEDIUM: Final = [True] * 10 + [False] * 14


def _sla(case_type: str) -> dict[str, Any]:
    return {"policy": POLICY_FOR[case_type], "reason": "awaiting court date"}


# name -> (event type, the type's own fields for a case of a given type)
TEMPLATES: Final[dict[str, tuple[str, Callable[[str], dict[str, Any]]]]] = {
    "case_opened": ("case_opened", lambda ct: {
        "case_type": ct, "team": "asb-north", "caseworker": "cw.north",
        "victim": {"name": "Ada Testcase", "address": {"line1": "1 High St"}},
        "tags": ["noise", "repeat"],
    }),
    "incident_reported": ("incident_reported", lambda _: {
        "category": "noise", "reported_by": "neighbour", "police_attended": True,
    }),
    "risk_level": ("risk_assessed", lambda _: {"matrix": "asb", "level": "high"}),
    "risk_dash": ("risk_assessed", lambda _: {
        "matrix": "dash", "answers": DASH_MEDIUM, "police_incidents_12m": 1,
        "professional_judgement": {"level": "high", "reason": "children in the house"},
    }),
    "risk_asb_answers": ("risk_assessed", lambda _: {
        "matrix": "asb", "answers": {"p1": True, "s1": True, "i1": False},
    }),
    "case_conference_held": ("case_conference_held", lambda _: {"agencies": ["police", "housing"]}),
    "partner_actions_agreed": ("partner_actions_agreed", lambda _: {
        "actions": [{"agency": "police", "action": "patrols", "due": "2014-05-20"}],
    }),
    "contact_attempted": ("contact_attempted", lambda _: {"method": "call", "outcome": "no answer"}),
    "referral_made": ("referral_made", lambda _: {"to": "marac"}),
    "idva_contact_made": ("idva_contact_made", lambda _: {}),
    "sla_paused": ("sla_paused", _sla),
    "sla_resumed": ("sla_resumed", _sla),
    "sla_excluded": ("sla_excluded", _sla),
    "breach_explained": ("breach_explained", _sla),
    "case_closed": ("case_closed", lambda _: {"outcome": "resolved"}),
    "case_reopened": ("case_reopened", lambda _: {}),
}  # fmt: skip
EVENT_TEMPLATES: Final = sorted(n for n in TEMPLATES if n != "case_opened")

# The kind of every field a template carries (envelope included): what "a wrong type"
# means for it. Required fields may be left out to break a line; optional ones may not.
_ENVELOPE_KINDS: Final = {"event_id": "id", "type": "type", "case_id": "id", "at": "at"}
_KINDS: Final[dict[str, dict[str, str]]] = {
    "case_opened": {"case_type": "case_type", "team": "name", "caseworker": "name",
                    "victim": "object", "tags": "text_list"},
    "incident_reported": {"category": "text", "reported_by": "text", "police_attended": "bool"},
    "risk_level": {"matrix": "matrix", "level": "level"},
    "risk_dash": {"matrix": "matrix", "answers": "dash_answers", "police_incidents_12m": "count",
                  "professional_judgement": "judgement"},
    "risk_asb_answers": {"matrix": "matrix", "answers": "asb_answers"},
    "case_conference_held": {"agencies": "text_list"},
    "partner_actions_agreed": {"actions": "actions"},
    "contact_attempted": {"method": "method", "outcome": "text"},
    "referral_made": {"to": "referral"},
    "idva_contact_made": {},
    "sla_paused": {"policy": "policy", "reason": "text"},
    "sla_resumed": {"policy": "policy", "reason": "text"},
    "sla_excluded": {"policy": "policy", "reason": "text"},
    "breach_explained": {"policy": "policy", "reason": "text"},
    "case_closed": {"outcome": "text"},
    "case_reopened": {},
}  # fmt: skip
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "case_opened": ("case_type",),
    "incident_reported": ("category",),
    "risk_level": ("matrix", "level"),
    "risk_dash": ("matrix", "answers"),
    "risk_asb_answers": ("matrix", "answers"),
    "contact_attempted": ("method",),
    "referral_made": ("to",),
    "sla_paused": ("policy", "reason"),
    "sla_resumed": ("policy", "reason"),
    "sla_excluded": ("policy", "reason"),
    "breach_explained": ("policy", "reason"),
}
# Leaving out the one of `level` / `answers` a risk assessment has is reported on answers.
_MISSING_FIELD: Final = {"level": "answers"}


def kinds(name: str) -> dict[str, str]:
    return _ENVELOPE_KINDS | _KINDS[name]


def event(
    name: str, event_id: str, case_id: str, at: str = AT, case_type: str = "asb"
) -> dict[str, Any]:
    event_type, fields = TEMPLATES[name]
    return {"event_id": event_id, "type": event_type, "case_id": case_id, "at": at} | fields(
        case_type
    )


# -- values ----------------------------------------------------------------------------

_NOT_TEXT: Final = [0, -1, 1.5, True, False, [], ["x"], {}, {"a": 1}, "", "   ", "\t\n"]
_NOT_ENUM: Final = [*_NOT_TEXT, "ASB", "High", "high ", "x"]
_NOT_BOOL: Final = ["yes", "true", 1, 0, [], {}, "", 1.0]
_NOT_COUNT: Final = [-1, -(2**70), 1.5, 2.0, "3", True, False, [], {}, ""]
_NOT_TEXT_LIST: Final = ["x", 1, True, {}, {"a": "b"}, [1], ["a", 2], [None], [[]], [{}]]
_NOT_OBJECT: Final = ["x", 1, 1.5, True, [], ["a"], [{}]]
BAD_TIMESTAMPS: Final = [
    5, 1399372200, 1.5, True, [], {}, ["2014-05-06T10:30:00+01:00"], {"at": AT}, "", " ",
    "2014-05-06T10:30:00",                 # naive
    "2014-05-06",                          # a date is naive too
    "2014-05-06 10:30",                    # naive, space separated
    "yesterday", "06/05/2014 10:30", "2014-05-06T10:30:00+01:00[Europe/London]",
    "2014-13-01T00:00:00Z", "2014-02-30T00:00:00Z", "2014-05-06T24:00:00Z",
    "2014-05-06T10:30:00+24:00", "2014-05-06T10:61:00Z", "\uff12\uff10\uff11\uff14-05-06T10:30:00Z",
    "1899-12-31T23:59:59+00:00", "1900-01-01T00:30:00+01:00",  # before 1900 as an instant
    "3000-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00",
]  # fmt: skip
GOOD_TIMESTAMPS: Final = [
    AT, "2014-05-06T09:30:00Z", "2014-05-06T10:30:00.123456+01:00", "2014-05-06 10:30:00+01:00",
    "20140506T103000+0100", "2014-05-06T05:30:00-04:00", "1900-01-01T00:00:00Z",
    "2999-12-31T23:59:59+00:00",
]  # fmt: skip


def _one_of(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


def _unknown_text(known: tuple[str, ...]) -> st.SearchStrategy[str]:
    """Text that is none of `known` (none of which starts with x)."""
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12).map(
        lambda t: t if t.strip() and t not in known else f"x{t}"
    )


WRONG: Final[dict[str, st.SearchStrategy[Any]]] = {
    "id": _one_of([*_NOT_TEXT, "x" * 201]),
    "type": _one_of([*_NOT_TEXT, "x" * 41, "case_opened" * 10])  # wider than its column
    | _unknown_text(tuple(v[0] for v in TEMPLATES.values())),
    "at": _one_of(BAD_TIMESTAMPS),
    "text": _one_of(_NOT_TEXT),
    "name": _one_of([*_NOT_TEXT, "t" * 201]),
    "case_type": _one_of(_NOT_ENUM) | _unknown_text(("asb", "domestic_abuse")),
    "matrix": _one_of(_NOT_ENUM) | _unknown_text(("asb", "dash")),
    "level": _one_of([*_NOT_ENUM, "extreme"]),
    "method": _one_of([*_NOT_ENUM, "fax", "email"]),
    "referral": _one_of([*_NOT_ENUM, "police", "MARAC"]),
    "policy": _one_of([*_NOT_TEXT, "no-such-policy"]),
    "bool": _one_of(_NOT_BOOL),
    "count": _one_of(_NOT_COUNT),
    "text_list": _one_of(_NOT_TEXT_LIST),
    "object": _one_of(_NOT_OBJECT),
    "dash_answers": _one_of(
        [
            "yes",
            1,
            True,
            {"q1": True},
            [],
            [True] * 23,
            [True] * 25,
            [1] * 24,
            [None] * 24,
            ["yes"] * 24,
        ]
    ),
    "asb_answers": _one_of(
        ["yes", 1, True, [True], {"zz": True}, {"p1": "yes"}, {"p1": 1}, {"p1": None}]
    ),
    "judgement": _one_of(_NOT_OBJECT),
    "actions": _one_of(["x", 1, {}, {"agency": "police", "action": "patrols"}, [1], ["x"]]),
}
# Wrong values inside the nested objects, with the field path each must be reported on.
_WRONG_JUDGEMENTS: Final = [
    ({"level": "high"}, "professional_judgement.reason"),
    ({"reason": "worse"}, "professional_judgement.level"),
    ({"level": "extreme", "reason": "worse"}, "professional_judgement.level"),
    ({"level": "high", "reason": ""}, "professional_judgement.reason"),
    ({"level": 3, "reason": ["worse"]}, "professional_judgement.level"),
    ({"level": "standard", "reason": "calmer now"}, "professional_judgement"),  # lowers medium
    ({}, "professional_judgement.level"),
]
_WRONG_ACTIONS: Final = [
    ([{"action": "patrols"}], "actions[0].agency"),
    ([{"agency": "police"}], "actions[0].action"),
    ([{"agency": "police", "action": ""}], "actions[0].action"),
    ([{"agency": 1, "action": "patrols"}], "actions[0].agency"),
    ([{"agency": "police", "action": "patrols", "due": 20}], "actions[0].due"),
    ([{"agency": "police", "action": "patrols"}, "visit"], "actions[1]"),
    ([None], "actions[0]"),
]

# Text a caseworker's system might really send: accents, scripts, emoji, RTL marks, BOMs
# and line separators inside strings. Never NUL and never a lone surrogate.
storable_text = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12
).map(lambda t: t if t.strip() else f"x{t}")


@st.composite
def huge_text(draw: st.DrawFn, sizes: tuple[int, ...] = (100_000, 250_000, 1_000_000)) -> str:
    """100k to 1M characters, from a few draws."""
    unit = draw(st.sampled_from(["a", "é", "😀", "\u202e", "ab\u2028", "\ufeff", "\\", '"']))
    size = draw(st.sampled_from(sizes))
    return unit * (size // len(unit))


json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | storable_text
)
_shallow = st.lists(json_leaf, max_size=3) | st.dictionaries(storable_text, json_leaf, max_size=2)
json_values = json_leaf | _shallow | st.lists(_shallow, max_size=2)
extra_names = st.sampled_from(["x_note", "x_source", "x_meta", "x_ref", "x_flags"])
neutral_extras = st.lists(st.tuples(extra_names, json_values), min_size=1, max_size=2).map(dict)


# -- one line ----------------------------------------------------------------------------


@frozen
class Line:
    """One line of a file (or one HTTP body) and what the importer must say about it."""

    raw: bytes
    valid: bool  # accepted, alone and with the rest of its file
    field: str | None = None  # the field a rejection names (HTTP field path), when known
    event_id: str | None = None  # the event id a rejection reports
    duplicate: bool = False  # an exact repeat: counted as a duplicate, not applied
    body: Any = None  # the JSON value, when the line is one
    kind: str = ""  # how the line was made, for --hypothesis-show-statistics


def encode(obj: Any) -> bytes:
    """JSON as a producer writes it: lone surrogates become \\uD800 escapes."""
    return json.dumps(obj).encode()


def line_of(obj: dict[str, Any], *, valid: bool, field: str | None = None) -> Line:
    event_id = obj.get("event_id")
    shown = event_id if isinstance(event_id, str) and event_id.strip() else None
    if shown is not None:
        shown = shown.encode("utf-8", "backslashreplace").decode()
    return Line(encode(obj), valid=valid, field=field, event_id=shown, body=obj)


def _placeholder(obj: dict[str, Any], name: str, raw: bytes, field: str | None) -> Line:
    """The object with field `name` holding `raw` verbatim (bytes json.dumps cannot write)."""
    marker = "\ue000MARK\ue000"
    text = encode(obj | {name: marker}).replace(encode(marker), raw)
    return Line(text, valid=False, field=field, event_id=None)


@st.composite
def wrong_field(
    draw: st.DrawFn, name: str, obj: dict[str, Any], exclude: tuple[str, ...] = ()
) -> tuple[dict[str, Any], str]:
    """A wrong value for one field the template has: the object and the field path."""
    field = draw(st.sampled_from(sorted(set(kinds(name)) - set(exclude))))
    kind = kinds(name)[field]
    if kind == "judgement" and draw(st.booleans()):
        value, path = draw(st.sampled_from(_WRONG_JUDGEMENTS))
        return obj | {field: value}, path
    if kind == "actions" and draw(st.booleans()):
        value, path = draw(st.sampled_from(_WRONG_ACTIONS))
        return obj | {field: value}, path
    return obj | {field: draw(WRONG[kind])}, field


def required(name: str) -> list[str]:
    return ["event_id", "type", "case_id", "at", *REQUIRED.get(name, ())]


@st.composite
def missing_field(
    draw: st.DrawFn, obj: dict[str, Any], choices: list[str]
) -> tuple[dict[str, Any], str]:
    field = draw(st.sampled_from(choices))
    return {k: v for k, v in obj.items() if k != field}, _MISSING_FIELD.get(field, field)


@st.composite
def unstorable_field(draw: st.DrawFn, obj: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A NUL or a lone surrogate somewhere in one field (a key, a value, nested)."""
    bad = draw(st.sampled_from(["\x00", "\ud800", "\udfff", "a\udc00b", "\udc00\ud800"]))
    field = draw(st.sampled_from(sorted(obj)))
    where = draw(st.sampled_from(["value", "nested", "key"]))
    if where == "key":
        return obj | {f"x_{bad}": 1}, "body"  # a key that is no identifier
    value: Any = f"a{bad}" if where == "value" else {"k": [f"{bad}"]}
    return obj | {field: value}, field


@st.composite
def too_long_field(
    draw: st.DrawFn, name: str, obj: dict[str, Any], exclude: tuple[str, ...] = ()
) -> tuple[dict[str, Any], str]:
    """A huge string where the contract bounds the length (ids, team) or the form (type, at)."""
    choices = ["event_id", "case_id", "type", "at"]
    if name == "case_opened":
        choices += ["team", "caseworker", "case_type"]
    if name == "contact_attempted":
        choices.append("method")
    field = draw(st.sampled_from([c for c in choices if c not in exclude]))
    return obj | {field: draw(huge_text())}, field


def deep_value(depth: int, shape: str = "list") -> bytes:
    """A JSON value `depth` levels of lists (or objects) deep, as bytes (json.dumps would
    recurse)."""
    if shape == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


# Nesting: a field value of depth d makes a line d + 1 deep; 64 is the most an event holds.
# Every depth past it is refused before parsing, naming the field, the same way whatever
# the depth: DEEP_IN_PARSER are depths a JSON parser's own stack would not have survived,
# DEEP_IN_VALIDATOR ones it would (the validator, given parsed values, names them too).
DEEP_IN_VALIDATOR: Final = [64, 65, 100, 500]
DEEP_IN_PARSER: Final = [2_000, 5_000, 50_000]
MAX_FIELD_DEPTH: Final = 63
PAST_THE_LIMIT: Final = {"x_deep": "nested past the limit, never parsed"}  # a Line's body


@st.composite
def raw_line(draw: st.DrawFn, obj: dict[str, Any]) -> Line:  # noqa: PLR0911 - one per kind
    """Bytes that are no JSON object: invalid UTF-8, BOMs, raw NULs, truncation, NaN,
    numbers out of range, arrays and scalars, nesting past what the parser takes."""
    kind = draw(
        st.sampled_from(
            ["utf8", "bom", "raw_nul", "truncated", "number", "not_object", "deep_parser"]
        )
    )
    text = encode(obj)
    if kind == "utf8":
        bad = draw(
            st.sampled_from(
                [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xe9t\xe9", b"\xed\xa0\x80", b"\xc0\xaf",
                 b"\xe2\x82", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xf4\x90\x80\x80"]
            )
        )  # fmt: skip
        return _placeholder(obj, "x_note", b'"' + bad + b'"', None)
    if kind == "bom":
        return Line(b"\xef\xbb\xbf" + text, valid=False)
    if kind == "raw_nul":
        where = draw(st.sampled_from(["string", "outside"]))
        raw = b'"a\x00b"' if where == "string" else b"\x00"
        return _placeholder(obj, "x_note", raw, None)
    if kind == "truncated":
        cut = draw(st.integers(1, len(text) - 1))
        return Line(text[:cut], valid=False)
    if kind == "number":
        number = draw(
            st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999", b"9" * 4301])
        )
        return _placeholder(obj, "x_number", number, None)
    if kind == "not_object":
        raw = draw(
            st.sampled_from([b"[]", b"1", b'"text"', b"null", b"true", b"[" + text + b"]", b"{}x"])
        )
        return Line(raw, valid=False)
    depth = draw(st.sampled_from(DEEP_IN_PARSER))
    shape = draw(st.sampled_from(["list", "object"]))
    line = _placeholder(obj, "x_deep", deep_value(depth, shape), "x_deep")
    # Refused before parsing, like every depth past the limit: the field named (a 422 over
    # HTTP) and the event id read from the text.
    return evolve(line, event_id=obj.get("event_id"), body=PAST_THE_LIMIT)


@st.composite
def deep_line(draw: st.DrawFn, obj: dict[str, Any], *, too_deep: bool = False) -> Line:
    """Nesting the parser reads: valid up to 63 levels in a field, the field named past."""
    depths = [] if too_deep else [1, 10, MAX_FIELD_DEPTH]
    depth = draw(st.sampled_from([*depths, *DEEP_IN_VALIDATOR]))
    shape = draw(st.sampled_from(["list", "object"]))
    marker = "\ue000MARK\ue000"
    raw = encode(obj | {"x_deep": marker}).replace(encode(marker), deep_value(depth, shape))
    event_id = obj.get("event_id")
    valid = depth <= MAX_FIELD_DEPTH
    return Line(
        raw,
        valid=valid,
        field=None if valid else "x_deep",
        event_id=None if valid else event_id,
        body=json.loads(raw),
    )


# -- mutations of one event, with the field the rejection names -----------------------------


@st.composite
def broken_event(
    draw: st.DrawFn,
    name: str,
    obj: dict[str, Any],
    *,
    exclude: tuple[str, ...] = (),
    missing: list[str] | None = None,
    raw: bool = True,
) -> Line:
    """The event with one rule of its own line broken (checked without other lines).
    `exclude`: fields left alone (the HTTP service sets them); `missing`: the fields
    whose absence is an error (by default the envelope and the type's required ones);
    `raw`: whether it may come out as bytes that are no JSON object."""
    hows = ["wrong", "wrong", "raw", "raw", "missing", "unstorable", "huge", "deep"]
    how = draw(st.sampled_from([h for h in hows if raw or h != "raw"]))
    if how == "raw":
        return evolve(draw(raw_line(obj)), kind="raw")
    if how == "deep":
        return evolve(draw(deep_line(obj, too_deep=True)), kind="deep")
    mutate = {
        "wrong": lambda: draw(wrong_field(name, obj, exclude)),
        "missing": lambda: draw(missing_field(obj, missing or required(name))),
        "unstorable": lambda: draw(unstorable_field(obj)),
        "huge": lambda: draw(too_long_field(name, obj, exclude)),
    }[how]
    broken, field = mutate()
    return evolve(line_of(broken, valid=False, field=field), kind=how)


@st.composite
def neutral_change(draw: st.DrawFn, obj: dict[str, Any]) -> dict[str, Any]:
    """Changes the contract allows: unknown extra fields (huge ones too), other spellings
    of a valid timestamp, free text in any script."""
    how = draw(st.sampled_from(["none", "none", "extras", "extras", "at", "text", "huge_extra"]))
    if how == "extras":
        return obj | draw(neutral_extras)
    if how == "at":
        return obj | {"at": draw(st.sampled_from(GOOD_TIMESTAMPS))}
    if how == "huge_extra":
        return obj | {"x_huge": draw(huge_text((100_000, 250_000)))}  # it may be stored
    if how == "text":
        return obj | {"x_text": draw(storable_text)}
    return obj


def with_terminators(lines: list[bytes], endings: list[bytes]) -> bytes:
    return b"".join(line + ending for line, ending in zip(lines, endings, strict=True))


def changed(line: Line, **fields: Any) -> Line:
    return evolve(line, **fields)


# -- whole files for `casewatch import` --------------------------------------------------

# Already in the database before each example: the cases events may name, and events a
# line may repeat (a duplicate) or contradict (an error).
STORED_EVENTS: Final = [
    event("case_opened", "stored-1", "STORED-A", case_type="asb"),
    event("case_opened", "stored-2", "STORED-D", case_type="domestic_abuse") | {"team": "da-idva"},
    event("risk_level", "stored-3", "STORED-A"),
    event("incident_reported", "stored-4", "STORED-D", case_type="domestic_abuse"),
    event("contact_attempted", "stored-5", "STORED-A"),
]
BLANKS: Final = [b"", b"   ", b"\t", b"\r", b" \t \r"]


@frozen
class ImportFile:
    rows: list[tuple[bytes, Line | None]]  # each physical line; None marks a blank one
    endings: list[bytes]

    def content(self) -> bytes:
        return with_terminators([raw for raw, _ in self.rows], self.endings)

    def numbered(self) -> list[tuple[int, Line]]:
        return [(n, line) for n, (_, line) in enumerate(self.rows, start=1) if line is not None]


VALID_KINDS: Final = ["event", "event", "open_fresh", "pair", "dup_file", "dup_stored"]
INVALID_KINDS: Final = [
    "broken", "broken", "broken", "broken", "unknown_case", "reopen", "other_policy",
    "conflict_file", "conflict_stored",
]  # fmt: skip


@st.composite
def import_files(draw: st.DrawFn, prefix: str) -> ImportFile:  # noqa: PLR0912 - one per kind
    """A file of 1-13 lines mixing valid and near-valid ones (a quarter of files are all
    valid), ids unique to `prefix` so examples can share one database."""
    ids = iter(range(1, 10_000))
    cases = dict(STORED_CASES)
    lines: list[Line] = []
    fresh: list[Line] = []  # valid lines applied if the file is: sources of repeats
    stored = list(STORED_EVENTS)  # each stored event repeated or contradicted once at most

    def new_id() -> str:
        return f"{prefix}-e{next(ids)}"

    def on_known_case() -> tuple[str, dict[str, Any]]:
        name = draw(st.sampled_from(EVENT_TEMPLATES))
        case_id = draw(st.sampled_from(sorted(cases)))
        return name, event(name, new_id(), case_id, case_type=cases[case_id])

    def add(line: Line, kind: str) -> None:
        line = evolve(line, kind=f"{kind}:{line.kind}" if line.kind else kind)
        lines.append(line)
        if line.valid and not line.duplicate:
            fresh.append(line)

    if draw(st.booleans()):  # cases opened by this file, on its first lines
        for suffix, case_type in (("A", "asb"), ("D", "domestic_abuse")):
            case_id = f"{prefix}-{suffix}"
            add(
                line_of(event("case_opened", new_id(), case_id, case_type=case_type), valid=True),
                "anchor",
            )
            cases[case_id] = case_type
    all_valid = draw(st.integers(0, 3)) == 3
    kinds_ = VALID_KINDS if all_valid else INVALID_KINDS + VALID_KINDS  # simplest: broken
    plan = [draw(st.sampled_from(kinds_)) for _ in range(draw(st.integers(1, 9)))]
    if not all_valid:  # every mixed file has a line broken on its own, anywhere in it
        plan.insert(draw(st.integers(0, len(plan))), "broken")
    for kind in plan:
        if kind == "event":
            _, obj = on_known_case()
            add(line_of(draw(neutral_change(obj)), valid=True), kind)
        elif kind == "open_fresh":
            case_type = draw(st.sampled_from(sorted(OTHER_TYPE)))
            obj = event("case_opened", new_id(), f"{prefix}-F{next(ids)}", case_type=case_type)
            add(line_of(draw(neutral_change(obj)), valid=True), kind)
        elif kind == "pair":  # an event may come before the line opening its case
            case_id = f"{prefix}-P{next(ids)}"
            name = draw(st.sampled_from(EVENT_TEMPLATES))
            add(line_of(event(name, new_id(), case_id), valid=True), kind)
            add(line_of(event("case_opened", new_id(), case_id), valid=True), kind)
        elif kind == "dup_file" and fresh:
            source = draw(st.sampled_from(fresh))
            lines.append(changed(source, duplicate=True, kind=kind))
        elif kind == "dup_stored" and stored:
            obj = stored.pop(draw(st.integers(0, len(stored) - 1)))
            lines.append(changed(line_of(obj, valid=True), duplicate=True, kind=kind))
        elif kind == "broken":
            if draw(st.integers(0, 4)) == 0:  # a case_opened no other line depends on
                name = "case_opened"
                obj = event(name, new_id(), f"{prefix}-B{next(ids)}")
            else:
                name, obj = on_known_case()
            add(draw(broken_event(name, obj)), kind)
        elif kind == "unknown_case":
            name = draw(st.sampled_from(EVENT_TEMPLATES))
            add(
                line_of(event(name, new_id(), f"{prefix}-NOPE"), valid=False, field="case_id"), kind
            )
        elif kind == "reopen":  # a second case_opened: the case is in the database or above
            case_id = draw(st.sampled_from(sorted(cases)))
            obj = event("case_opened", new_id(), case_id, case_type=cases[case_id])
            add(line_of(obj, valid=False, field="case_id"), kind)
        elif kind == "other_policy":
            name = draw(st.sampled_from(["sla_paused", "sla_resumed", "sla_excluded",
                                         "breach_explained"]))  # fmt: skip
            case_id = draw(st.sampled_from(sorted(cases)))
            other = OTHER_TYPE[cases[case_id]]
            obj = event(name, new_id(), case_id, case_type=other)  # the other type's policy
            add(line_of(obj, valid=False, field="policy"), kind)
        elif kind == "conflict_file" and fresh:
            source = draw(st.sampled_from(fresh))
            add(line_of(source.body | {"x_changed": True}, valid=False, field="event_id"), kind)
        elif kind == "conflict_stored" and stored:
            obj = stored.pop(draw(st.integers(0, len(stored) - 1)))
            add(line_of(obj | {"x_changed": True}, valid=False, field="event_id"), kind)
    return _spread(draw, lines)


def _spread(draw: st.DrawFn, lines: list[Line]) -> ImportFile:
    """Blank and whitespace-only lines between the lines, LF or CRLF endings, and maybe no
    newline after the last line."""
    rows: list[tuple[bytes, Line | None]] = []
    for line in lines:
        if draw(st.integers(0, 3)) == 0:
            rows += [(draw(st.sampled_from(BLANKS)), None) for _ in range(draw(st.integers(1, 2)))]
        rows.append((line.raw, line))
    endings = [draw(st.sampled_from([b"\n", b"\r\n"])) for _ in rows]
    if draw(st.booleans()):
        endings[-1] = b""
    return ImportFile(rows, endings)


# -- HTTP requests for the event API --------------------------------------------------------

API_CASE: Final = "SEED-02"  # an ASB case of the caseworker's team (asb-north) in the seed
API_TEAM: Final = "asb-north"
SEED_EVENT: Final = {  # a line of the seed on that case, word for word
    "event_id": "seed-0007", "type": "incident_reported", "case_id": "SEED-02",
    "at": "2014-04-22T10:00:00+01:00", "category": "harassment",
}  # fmt: skip
MAX_BODY: Final = 10_000_000  # Litestar's default; a larger body is a 413
UNKNOWN_CASES: Final = ["NOPE-1", "SEED-01", "seed-0007", "x" * 2_000, "ca%C3%9Fe", "%00", "%FF"]


@frozen
class ApiRequest:
    path: str
    body: bytes
    status: int  # the status the service must answer with
    field: str | None = None  # a 422 names it (exactly, or as the start of a path)
    kind: str = ""

    @property
    def changes_the_case(self) -> bool:
        return self.status == 201 and self.path.endswith("/events") and self.kind != "duplicate"


def _status(line: Line) -> int:
    """What a broken body gets: a 400 when it cannot be read as a JSON object (the JSON
    decoder refuses lone surrogates, NaN and out-of-range numbers outright), else a 422."""
    if line.body is None or holds_lone_surrogate(line.body):
        return 400
    return 422


def holds_lone_surrogate(value: Any) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in json.dumps(value, ensure_ascii=False))


def _drop(draw: st.DrawFn, obj: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Leave out fields the service fills in (event_id, at, case_id, caseworker)."""
    return {k: v for k, v in obj.items() if not (k in names and draw(st.booleans()))}


@st.composite
def api_requests(draw: st.DrawFn, prefix: str) -> ApiRequest:  # noqa: PLR0911 - one per kind
    """A request to POST /api/v1/cases/{id}/events or POST /api/v1/cases: valid, or
    near-valid in one way, or bytes that are no JSON object at all."""
    events = f"/api/v1/cases/{API_CASE}/events"
    endpoint = draw(st.sampled_from(["event", "event", "event", "open", "open", "unknown_case"]))
    if endpoint == "unknown_case":
        case_id = draw(st.sampled_from(UNKNOWN_CASES))
        body = encode(event("contact_attempted", f"{prefix}-e", case_id))
        status = 400 if case_id == "%00" else 404  # NUL in a path is refused by every route
        return ApiRequest(f"/api/v1/cases/{case_id}/events", body, status, kind="unknown_case")
    if endpoint == "open":
        obj = event("case_opened", f"{prefix}-e", f"{prefix}-C") | {"team": API_TEAM}
        obj = _drop(
            draw,
            {k: v for k, v in obj.items() if k != "type"},
            ("event_id", "at", "case_id", "caseworker"),
        )
        how = draw(st.sampled_from(["valid", "broken", "broken", "broken", "raw", "reopen"]))
        if how == "valid":
            return ApiRequest("/api/v1/cases", encode(draw(neutral_change(obj))), 201, kind="open")
        if how == "raw":
            return _request("/api/v1/cases", evolve(draw(raw_line(obj)), kind="raw"), "open")
        if how == "reopen":
            body = encode(obj | {"case_id": API_CASE})
            return ApiRequest("/api/v1/cases", body, 422, "case_id", kind="open:reopen")
        line = draw(
            broken_event("case_opened", obj, exclude=("type",), missing=["case_type", "team"])
        )
        return _request("/api/v1/cases", line, "open")
    name = draw(st.sampled_from(EVENT_TEMPLATES))
    obj = _drop(draw, event(name, f"{prefix}-e", API_CASE), ("event_id", "at", "case_id"))
    how = draw(st.sampled_from(["valid", "valid", "broken", "broken", "broken", "broken", "raw",
                                "conflict", "duplicate", "other_policy", "opening"]))  # fmt: skip
    if how == "valid":
        return ApiRequest(events, encode(draw(neutral_change(obj))), 201, kind="event")
    if how == "raw":
        return _request(events, evolve(draw(raw_line(obj)), kind="raw"), "event")
    if how == "duplicate":  # a seed event again, word for word: accepted, changes nothing
        return ApiRequest(events, encode(SEED_EVENT), 201, kind="duplicate")
    if how == "conflict":
        body = encode(obj | {"event_id": SEED_EVENT["event_id"]})
        return ApiRequest(events, body, 422, "event_id", kind="event:conflict")
    if how == "other_policy":
        body = encode(event("sla_paused", f"{prefix}-e", API_CASE, case_type="domestic_abuse"))
        return ApiRequest(events, body, 422, "policy", kind="event:other_policy")
    if how == "opening":
        body = encode(event("case_opened", f"{prefix}-e", API_CASE))
        return ApiRequest(events, body, 422, "type", kind="event:opening")
    line = draw(broken_event(name, obj, missing=["type", *REQUIRED.get(name, ())]))
    return _request(events, line, "event")


def _request(path: str, line: Line, endpoint: str) -> ApiRequest:
    status = 413 if len(line.raw) > MAX_BODY else _status(line)
    field = line.field if status == 422 else None
    return ApiRequest(path, line.raw, status, field, kind=f"{endpoint}:{line.kind}")
