"""Handlers for data protection: erasing a victim's details on request and under the
retention policy. Each erasure and its `case.erase` audit row, naming the reason, are
committed together; the case's events stay (without the details), so no figure changes."""

from __future__ import annotations

from casewatch.app.commands import ApplyRetention, EraseCase, Retention
from casewatch.app.deps import Deps
from casewatch.app.errors import ForbiddenError, NotFoundError
from casewatch.app.uow import UnitOfWork
from casewatch.service.access import Action, Operator
from casewatch.service.retention import due_erasures


def erase_case(command: EraseCase, uow: UnitOfWork, deps: Deps) -> int:
    if not command.who.may(Action.ERASE_PERSONAL_DATA):
        raise ForbiddenError
    with uow:
        if uow.cases.scope(command.case_id) is None:
            raise NotFoundError
        erased = _erase(uow, command.who, command.case_id, command.reason, deps)
        uow.commit()
    return erased


def apply_retention(command: ApplyRetention, uow: UnitOfWork, deps: Deps) -> Retention:
    """Every case due at `as_of` erased in one transaction (or only listed, dry run)."""
    if not command.who.may(Action.ERASE_PERSONAL_DATA):
        raise ForbiddenError
    with uow:
        due = due_erasures(uow.cases.holding_personal_data, deps.config, command.as_of)
        erased = 0
        if not command.dry_run:
            for item in due:
                reason = deps.config.retention.describe(item.case_type)
                erased += _erase(uow, command.who, item.case_id, reason, deps)
            uow.commit()
    return Retention(due, erased)


def _erase(uow: UnitOfWork, who: Operator, case_id: str, reason: str, deps: Deps) -> int:
    now = deps.clock()
    records = uow.cases.erase_personal_data(case_id, now)
    uow.audit.append(
        who,
        "case.erase",
        now=now,
        address=None,
        case_id=case_id,
        detail={"reason": reason, "records_erased": records},
    )
    return records
