"""Risk matrices: the DASH checklist and a partnership's weighted ASB matrix.

Both are data (config/dash.yaml, config/asb_matrix.yaml) so a partnership can replace
its ASB matrix without touching code. Loading works on already-parsed mappings; reading
the files is the shell's job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from attrs import frozen

from casewatch.cases.events import (
    RISK_LEVELS,
    Assessment,
    CaseEscalation,
    content_hash,
    level_rank,
)


class MatrixConfigError(ValueError):
    """A matrix file that cannot be used; names the file and the entry at fault."""


class AnswersError(ValueError):
    """Answers that do not fit the matrix, worded for the caseworker who gave them."""


@frozen
class Question:
    id: str
    text: str
    weight: int = 1
    factor: str | None = None


ESCALATION_COUNTS: Final = ("police_incidents_12m", "case_incidents", "larger")


@frozen
class DashMatrix:
    """The SafeLives Dash risk identification checklist: yes-count thresholds, and the
    potential escalation criterion as the partnership configures it."""

    questions: tuple[Question, ...]
    high_from: int
    medium_from: int
    escalation: CaseEscalation
    version: str

    @property
    def escalation_police_incidents(self) -> int:
        return self.escalation.threshold

    def assess(
        self, answers: Any, level: str | None, police_incidents_12m: int | None
    ) -> Assessment:
        """`answers` is a list of booleans in the checklist's order or an object naming
        every question id; both give the same level and score."""
        if answers is not None:
            yes = self.answers_in_order(answers)
            score: int | None = sum(1 for answer in yes if answer)
            assert score is not None
            if score >= self.high_from:
                level = "high"
            elif score >= self.medium_from:
                level = "medium"
            else:
                level = "standard"
        else:
            score = None
        assert level is not None
        counts = self.escalation.counts
        escalation = (
            counts != "case_incidents"
            and police_incidents_12m is not None
            and police_incidents_12m >= self.escalation.threshold
        )
        if escalation:
            level = "high"
        return Assessment(
            level=level,
            score=score,
            potential_escalation=escalation,
            matrix_version=self.version,
            case_escalation=self.escalation if counts != "police_incidents_12m" else None,
        )

    def answers_in_order(self, answers: Any) -> list[bool]:
        """The yes/no answers in the checklist's (SafeLives') order, from either form;
        every wrong entry is named, so one correction fixes them all."""
        ids = [q.id for q in self.questions]
        if isinstance(answers, Mapping):
            missing = [q for q in ids if q not in answers]
            unknown = [str(q) for q in answers if q not in ids]
            wrong = [q for q in ids if q in answers and not isinstance(answers[q], bool)]
            problems = []
            if missing:
                problems.append("no answer for " + _ids(missing))
            if unknown:
                problems.append("unknown question id(s) " + _ids(unknown))
            if wrong:
                problems.append("not true/false: " + _ids(wrong))
            if problems:
                raise AnswersError(
                    "DASH 'answers' by question id must name every question of the "
                    f"checklist once with true or false: {'; '.join(problems)}"
                )
            return [answers[q] for q in ids]
        if not isinstance(answers, list) or not all(isinstance(a, bool) for a in answers):
            raise AnswersError(
                "DASH 'answers' must be a list of true/false values in the checklist's "
                "(SafeLives') order, or an object of question id to true/false"
            )
        if len(answers) != len(ids):
            raise AnswersError(
                f"a DASH checklist has {len(ids)} yes/no answers (in SafeLives' order); "
                f"got {len(answers)}"
            )
        return list(answers)


def _ids(ids: Sequence[str]) -> str:
    return ", ".join(f"'{_short(q)}'" for q in ids)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@frozen
class AsbMatrix:
    """A weighted ASB risk matrix: score = sum of weights answered yes."""

    questions: Mapping[str, Question]
    thresholds: tuple[tuple[str, int], ...]  # (level, minimum score), highest first
    version: str

    def assess(self, answers: Mapping[str, bool] | None, level: str | None) -> Assessment:
        if answers is None:
            assert level is not None
            return Assessment(level=level, score=None, matrix_version=self.version)
        unknown = sorted(set(answers) - set(self.questions))
        if unknown:
            raise AnswersError(
                "unknown ASB matrix question id(s): "
                + ", ".join(f"'{q}'" for q in unknown)
                + "; the matrix in use has: "
                + ", ".join(self.questions)
            )
        score = sum(self.questions[q].weight for q, yes in answers.items() if yes)
        for threshold_level, minimum in self.thresholds:
            if score >= minimum:
                return Assessment(level=threshold_level, score=score, matrix_version=self.version)
        raise AssertionError("thresholds always end with a zero minimum")  # pragma: no cover


@frozen
class Matrices:
    dash: DashMatrix
    asb: AsbMatrix


def dash_matrix_from_mapping(data: Any, source: str) -> DashMatrix:
    mapping = _mapping(data, source, "the file")
    questions = _questions(mapping, source, weighted=False)
    thresholds = _mapping(mapping.get("thresholds"), source, "thresholds")
    high = _non_negative_int(thresholds.get("high"), source, "thresholds.high")
    medium = _non_negative_int(thresholds.get("medium"), source, "thresholds.medium")
    if not medium <= high <= len(questions):
        raise MatrixConfigError(
            f"{source}: thresholds must satisfy medium <= high <= number of questions"
        )
    return DashMatrix(
        questions=tuple(questions),
        high_from=high,
        medium_from=medium,
        escalation=_escalation(mapping, source),
        version=content_hash(data)[:12],
    )


def _escalation(mapping: Mapping[str, Any], source: str) -> CaseEscalation:
    """`potential_escalation: {counts, threshold, window_months}`; a file of the earlier
    form (`potential_escalation_police_incidents: N`) keeps meaning what it meant."""
    if "potential_escalation" not in mapping:
        threshold = _non_negative_int(
            mapping.get("potential_escalation_police_incidents"),
            source,
            "potential_escalation_police_incidents",
        )
        return CaseEscalation(counts="police_incidents_12m", threshold=threshold, months=12)
    entry = _mapping(mapping["potential_escalation"], source, "potential_escalation")
    counts = entry.get("counts", "police_incidents_12m")
    if counts not in ESCALATION_COUNTS:
        raise MatrixConfigError(
            f"{source}: potential_escalation.counts must be one of {', '.join(ESCALATION_COUNTS)}"
        )
    threshold = _non_negative_int(entry.get("threshold"), source, "potential_escalation.threshold")
    months = _non_negative_int(
        entry.get("window_months", 12), source, "potential_escalation.window_months"
    )
    if threshold < 1 or months < 1:
        raise MatrixConfigError(
            f"{source}: potential_escalation.threshold and window_months must be 1 or more"
        )
    return CaseEscalation(counts=counts, threshold=threshold, months=months)


def asb_matrix_from_mapping(data: Any, source: str) -> AsbMatrix:
    mapping = _mapping(data, source, "the file")
    questions = _questions(mapping, source, weighted=True)
    raw_thresholds = _mapping(mapping.get("thresholds"), source, "thresholds")
    thresholds: list[tuple[str, int]] = []
    for level, minimum in raw_thresholds.items():
        if level not in RISK_LEVELS:
            raise MatrixConfigError(
                f"{source}: thresholds.{level} is not a risk level ({', '.join(RISK_LEVELS)})"
            )
        thresholds.append((level, _non_negative_int(minimum, source, f"thresholds.{level}")))
    thresholds.sort(key=lambda item: item[1], reverse=True)
    if not thresholds or thresholds[-1][1] != 0:
        raise MatrixConfigError(f"{source}: the lowest threshold must start at 0")
    ranks = [level_rank(level) for level, _ in thresholds]
    if ranks != sorted(ranks, reverse=True):
        raise MatrixConfigError(f"{source}: a higher score must never give a lower level")
    return AsbMatrix(
        questions={q.id: q for q in questions},
        thresholds=tuple(thresholds),
        version=content_hash(data)[:12],
    )


def _questions(mapping: Mapping[str, Any], source: str, *, weighted: bool) -> list[Question]:
    raw = mapping.get("questions")
    if not isinstance(raw, list) or not raw:
        raise MatrixConfigError(f"{source}: 'questions' must be a non-empty list")
    questions: list[Question] = []
    seen: set[str] = set()
    for index, item in enumerate(raw, start=1):
        entry = _mapping(item, source, f"questions[{index}]")
        qid, text = entry.get("id"), entry.get("text")
        if not isinstance(qid, str) or not qid:
            raise MatrixConfigError(f"{source}: questions[{index}] needs an 'id'")
        if qid in seen:
            raise MatrixConfigError(f"{source}: question id '{qid}' appears twice")
        seen.add(qid)
        if not isinstance(text, str) or not text.strip():
            raise MatrixConfigError(f"{source}: question '{qid}' needs its 'text'")
        weight = (
            _non_negative_int(entry.get("weight"), source, f"question '{qid}' weight")
            if weighted
            else 1
        )
        factor = entry.get("factor")
        questions.append(
            Question(
                id=qid, text=text, weight=weight, factor=factor if isinstance(factor, str) else None
            )
        )
    return questions


def _mapping(value: Any, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MatrixConfigError(f"{source}: {where} must be a mapping")
    return value


def _non_negative_int(value: Any, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MatrixConfigError(f"{source}: {where} must be a whole number, 0 or more")
    return value
