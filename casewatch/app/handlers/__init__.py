"""Every handler, by the type of message it handles."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from casewatch.app import commands, queries
from casewatch.app.deps import Deps
from casewatch.app.handlers import alerts, cases, data, people, reports
from casewatch.app.uow import UnitOfWork

Handler = Callable[[Any, UnitOfWork, Deps], Any]

HANDLERS: Final[Mapping[type, Handler]] = {
    commands.OpenCase: cases.open_case,
    commands.RecordEvent: cases.record_event,
    commands.ShareCase: cases.share_case,
    commands.AcknowledgeAlert: alerts.acknowledge,
    commands.SignIn: people.sign_in,
    commands.RefuseSignIn: people.refuse_sign_in,
    commands.RefuseScrape: people.refuse_scrape,
    commands.SignOut: people.sign_out,
    commands.AddUser: people.add_user,
    commands.SetPassword: people.set_password,
    commands.IssueToken: people.issue_token,
    commands.ResetTwoFactor: people.reset_two_factor,
    commands.EraseCase: data.erase_case,
    commands.ApplyRetention: data.apply_retention,
    commands.OpenEnrolment: people.open_enrolment,
    commands.ConfirmEnrolment: people.confirm_enrolment,
    commands.StartOidc: people.start_oidc,
    commands.TakeOidcRequest: people.take_oidc_request,
    commands.OidcSignIn: people.oidc_sign_in,
    queries.ViewCase: cases.view_case,
    queries.ListCases: cases.list_cases,
    queries.ViewTeam: cases.view_team,
    queries.Inbox: alerts.inbox,
    queries.CountInbox: alerts.count_inbox,
    queries.ViewReport: reports.view_report,
    queries.RunWhatIf: reports.run_whatif,
    queries.ViewCaseReview: reports.view_case_review,
    queries.ReviewsInProgress: reports.reviews_in_progress,
    queries.LatestYear: reports.latest_year,
    queries.LandingPeriod: reports.landing_period,
    queries.ViewAudit: reports.view_audit,
    queries.ListUsers: reports.list_users,
    queries.Identify: people.identify,
    queries.EnrolmentSession: people.enrolment_session,
}
