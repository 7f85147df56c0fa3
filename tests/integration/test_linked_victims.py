"""Victims linked across cases and the SafeLives checklist, through the real CLI and API."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from casewatch.app.case_view import victim_data
from casewatch.cases.db import create_db_engine
from casewatch.cases.tables import CaseRow, LinkSecretRow
from casewatch.engine.tables import CaseFlagRow
from tests.builders import ev, jsonl, opened
from tests.cli import casewatch
from tests.web import Site, api_token, sign_in

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "linked-victims.jsonl"
LATE = SCENARIO.with_suffix("").with_suffix(".late.jsonl")
SHOW = ("case", "show", "--as-of", "2015-07-01", "--format", "json")
REPORT = ("report", "sla", "--period", "2014-Q1", "--as-of", "2015-07-01", "--format", "json")


def _show(db_url: str, case_id: str) -> dict[str, object]:
    result = casewatch("case", "show", case_id, *SHOW[2:], db=db_url)
    assert result.exit_code == 0, result.stderr
    shown: dict[str, object] = result.json()
    return shown


def test_erasing_a_linked_victim_keeps_every_flag_figure_and_link(db_url: str) -> None:
    """The reference goes with the victim's details; flags, report and links stay."""
    for path in (SCENARIO, LATE):
        assert casewatch("import", str(path), db=db_url).exit_code == 0
    cases = ("LV-A1", "LV-D1", "LV-A2", "LV-D2")
    before = {case_id: _show(db_url, case_id) for case_id in cases}
    report = casewatch(*REPORT, db=db_url).json()
    for case_id in cases:
        erased = casewatch("erase", case_id, "--reason", "SAR-1", db=db_url)
        assert erased.exit_code == 0, erased.stderr
    assert {case_id: _show(db_url, case_id) for case_id in cases} == before
    assert casewatch(*REPORT, db=db_url).json() == report
    assert casewatch("check", db=db_url).exit_code == 0
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        assert victim_data(conn, "LV-A1") is None
        links = set(
            conn.execute(select(CaseRow.victim_link).where(CaseRow.case_id.in_(cases))).scalars()
        )
    engine.dispose()
    assert len(links) == 1
    assert None not in links
    # The same person's new case still links: a third incident in 90 days on it.
    later = [
        opened("LV-A9", "2015-03-01T09:00:00+00:00", event_id="lv-900", victim={"reference": "PR-1"}),
        ev("incident_reported", "LV-A1", "2015-03-02T09:00:00+00:00", event_id="lv-901",
           category="noise"),
        ev("incident_reported", "LV-A9", "2015-03-03T09:00:00+00:00", event_id="lv-902",
           category="noise"),
        ev("incident_reported", "LV-D1", "2015-03-04T09:00:00+00:00", event_id="lv-903",
           category="domestic_abuse"),
    ]  # fmt: skip
    assert casewatch("import", "-", stdin=jsonl(later), db=db_url).exit_code == 0
    shown = _show(db_url, "LV-A9")
    assert shown["flags"] == ["repeat-victim"]
    assert shown["flag_details"][0]["event_id"] == "lv-903"  # type: ignore[index]
    assert casewatch("check", db=db_url).exit_code == 0


def test_a_reference_is_never_printed_or_logged(db_url: str) -> None:
    """Import, show and the rejection of a bad reference never echo the reference."""
    line = opened("R1", "2014-05-01T09:00:00+01:00", victim={"reference": "SECRET-REF-7"})
    result = casewatch("import", "-", stdin=jsonl([line]), db=db_url)
    shown = casewatch("case", "show", "R1", "--format", "json", db=db_url)
    assert "SECRET-REF-7" not in result.stdout + result.stderr + shown.stdout + shown.stderr
    bad = opened("R2", "2014-05-01T09:00:00+01:00", victim={"reference": "SECRET-REF-8" * 9})
    refused = casewatch("import", "-", stdin=jsonl([bad]), db=db_url)
    assert refused.exit_code == 1
    assert refused.json()["errors"][0]["error"] == "'victim.reference' is longer than 64 characters"
    assert "SECRET-REF-8" not in refused.stdout + refused.stderr


def test_export_and_restore_keep_the_link_secret(db_url: str, tmp_path: Path) -> None:
    """A restored database links a new case of the same reference to the old ones."""
    assert casewatch("import", str(SCENARIO), db=db_url).exit_code == 0
    engine = create_db_engine(db_url)
    with engine.connect() as conn:
        secret = conn.execute(select(LinkSecretRow.secret)).scalar_one()
    engine.dispose()
    exported = casewatch("export", str(tmp_path / "out"), db=db_url)
    assert exported.exit_code == 0, exported.stderr
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = casewatch("restore", str(tmp_path / "out"), db=target)
    assert restored.exit_code == 0, restored.stdout + restored.stderr
    engine = create_db_engine(target)
    with engine.connect() as conn:
        assert conn.execute(select(LinkSecretRow.secret)).scalar_one() == secret
    engine.dispose()
    new = [
        opened("LV-D9", "2015-03-01T09:00:00+00:00", case_type="domestic_abuse",
               victim={"reference": "PR-1"}),
        ev("referral_made", "LV-D9", "2015-03-02T09:00:00+00:00", event_id="lv-990", to="marac"),
    ]  # fmt: skip
    assert casewatch("import", "-", stdin=jsonl(new), db=target).exit_code == 0
    shown = casewatch("case", "show", "LV-D9", "--as-of", "2015-04-01", "--format", "json",
                      db=target).json()  # fmt: skip
    assert shown["flags"] == ["repeat-marac"]


def test_an_assessment_keeps_its_level_across_a_checklist_change(
    db_url: str, tmp_path: Path
) -> None:
    """Accepted under a local 'high from 10', a 12-yes DASH stays high after the change."""
    local = tmp_path / "config"
    local.mkdir()
    shipped = (resources.files("casewatch") / "config" / "dash.yaml").read_text()
    (local / "dash.yaml").write_text(shipped.replace("high: 14", "high: 12"))
    lines = [
        opened("H1", "2015-01-05T09:00:00+00:00", case_type="domestic_abuse"),
        ev("risk_assessed", "H1", "2015-01-05T10:00:00+00:00", matrix="dash",
           answers=[True] * 12 + [False] * 12),
    ]  # fmt: skip
    result = casewatch("--config", str(local), "import", "-", stdin=jsonl(lines), db=db_url)
    assert result.exit_code == 0, result.stdout
    later = [ev("risk_assessed", "H2", "2015-01-06T10:00:00+00:00", matrix="dash",
                answers=[True] * 12 + [False] * 12),
             opened("H2", "2015-01-06T09:00:00+00:00", case_type="domestic_abuse")]  # fmt: skip
    assert casewatch("import", "-", stdin=jsonl(later), db=db_url).exit_code == 0
    first = casewatch("case", "show", "H1", "--as-of", "2015-02-01", "--format", "json",
                      db=db_url).json()  # fmt: skip
    second = casewatch("case", "show", "H2", "--as-of", "2015-02-01", "--format", "json",
                       db=db_url).json()  # fmt: skip
    assert first["risk"] == {"level": "high", "matrix": "dash", "score": 12,
                             "professional_judgement": None}  # fmt: skip
    assert second["risk"]["level"] == "medium"
    assert len(first["cycles"]) == 2
    assert second["cycles"] == []
    assert casewatch("check", db=db_url).exit_code == 0


def _bearer(site: Site, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(site.runtime, who)}"}


def test_the_api_takes_answers_by_id_and_shows_other_cases_of_the_victim(
    site: Site, client: TestClient[Litestar]
) -> None:
    """By id and by position agree; bad ids are named; other cases only if visible."""
    da = _bearer(site, "caseworker_da")
    cases = []
    for team, case_type in (("da-idva", "domestic_abuse"), ("da-idva", "domestic_abuse"),
                            ("asb-south", "asb")):  # fmt: skip
        headers = da if team == "da-idva" else _bearer(site, "caseworker_other")
        response = client.post(
            "/api/v1/cases",
            json={"case_type": case_type, "team": team, "at": "2015-03-30T09:00:00+01:00",
                  "victim": {"name": "Ada Testcase", "reference": "P-77"}},
            headers=headers,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        cases.append(response.json()["case_id"])
    first, second, south = cases
    ids = [q.id for q in site.runtime.config.matrices.dash.questions]
    answers = [index % 2 == 0 for index in range(24)]
    by_position = client.post(
        f"/api/v1/cases/{first}/events",
        json={"type": "risk_assessed", "matrix": "dash", "answers": answers,
              "at": "2015-03-30T10:00:00+01:00"},
        headers=da,
    )  # fmt: skip
    by_id = client.post(
        f"/api/v1/cases/{second}/events",
        json={"type": "risk_assessed", "matrix": "dash",
              "answers": dict(zip(ids, answers, strict=True)),
              "at": "2015-03-30T10:00:00+01:00"},
        headers=da,
    )  # fmt: skip
    assert by_position.status_code == by_id.status_code == 201, by_id.text
    assert by_position.json()["risk"] == by_id.json()["risk"]
    assert by_id.json()["risk"]["score"] == 12
    bad = client.post(
        f"/api/v1/cases/{second}/events",
        json={"type": "risk_assessed", "matrix": "dash",
              "answers": {**dict(zip(ids[1:], answers[1:], strict=True)), "kids": True}},
        headers=da,
    )  # fmt: skip
    assert bad.status_code == 422
    [error] = bad.json()["errors"]
    assert error["field"] == "answers"
    assert "'injury'" in error["error"]
    assert "'kids'" in error["error"]
    view = client.get(f"/api/v1/cases/{first}", headers=da).json()
    assert view["other_cases"] == [second]  # the ASB case is another team's
    assert view["victim"]["reference"] == "P-77"
    south_view = client.get(f"/api/v1/cases/{south}", headers=_bearer(site, "caseworker_other"))
    assert south_view.json()["other_cases"] == []
    psg = client.get(f"/api/v1/cases/{first}", headers=_bearer(site, "psg")).json()
    assert psg["other_cases"] is None
    assert "P-77" not in json.dumps(psg)


def test_the_pages_credit_safelives_and_list_other_cases_of_the_victim(
    site: Site, client: TestClient[Litestar]
) -> None:
    """The checklist page names SafeLives and the order; the case page links the others."""
    da = _bearer(site, "caseworker_da")
    ids = []
    for _ in range(2):
        response = client.post(
            "/api/v1/cases",
            json={"case_type": "domestic_abuse", "team": "da-idva",
                  "at": "2015-03-30T09:00:00+01:00", "victim": {"reference": "P-88"}},
            headers=da,
        )  # fmt: skip
        ids.append(response.json()["case_id"])
    browser = sign_in(client, "caseworker_da")
    checklist = browser.client.get(f"/cases/{ids[0]}/assess/dash").text
    assert "SafeLives" in checklist
    assert "published order" in checklist
    assert 'name="criminal_history"' in checklist
    page = browser.client.get(f"/cases/{ids[0]}").text
    assert "Other cases of this victim" in page
    assert f'href="/cases/{ids[1]}"' in page
    assert "P-88" not in page


def test_an_event_posted_to_one_case_re_derives_the_linked_case(
    site: Site, client: TestClient[Litestar]
) -> None:
    """The third incident, posted on one case, stores repeat-victim on the other too."""
    da = _bearer(site, "caseworker_da")
    first, second = (
        client.post(
            "/api/v1/cases",
            json={"case_type": "domestic_abuse", "team": "da-idva",
                  "at": "2015-03-01T09:00:00+00:00", "victim": {"reference": "P-99"}},
            headers=da,
        ).json()["case_id"]
        for _ in range(2)
    )  # fmt: skip
    for case_id, day in ((first, "02"), (first, "03"), (second, "04")):
        posted = client.post(
            f"/api/v1/cases/{case_id}/events",
            json={"type": "incident_reported", "category": "domestic_abuse",
                  "at": f"2015-03-{day}T09:00:00+00:00"},
            headers=da,
        )  # fmt: skip
        assert posted.status_code == 201, posted.text
    engine = site.runtime.engine
    with engine.connect() as conn:
        stored = conn.execute(
            select(CaseFlagRow.case_id, CaseFlagRow.flag).where(
                CaseFlagRow.case_id.in_((first, second))
            )
        ).all()
    assert sorted(stored) == sorted([(first, "repeat-victim"), (second, "repeat-victim")])
    assert casewatch("check", db=site.runtime.url).exit_code == 0
