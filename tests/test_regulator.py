"""The regulator's desk: the report workflow, the queue, the case actions and who may reach them."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlmodel import select

from gi_registry.domain import Conflict, batches, registry, reports
from gi_registry.i18n import china_time
from gi_registry.models import AuditEvent, Batch, Licence, Report, ReportEvent, Scan, utcnow
from tests.conftest import USCC_A

STATES = ["new", "triaged", "investigating", "confirmed", "dismissed", "closed"]
ALLOWED = {
    ("new", "triaged"),
    ("new", "dismissed"),
    ("triaged", "investigating"),
    ("triaged", "dismissed"),
    ("investigating", "confirmed"),
    ("investigating", "dismissed"),
    ("confirmed", "closed"),
    ("dismissed", "closed"),
}


@pytest.fixture
def report(world, labelled, file_report):
    _, codes = labelled
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, format="PNG")
    data = reports.ReportInput(description="标签是复印的", code=codes[2], contact="13800000000")
    return file_report(data, photos=[out.getvalue()])


@pytest.mark.parametrize(("start", "target"), [(a, b) for a in STATES for b in STATES])
def test_every_transition_is_allowed_or_409(db, world, report, start, target):
    report.status = start
    db.add(report)
    db.commit()
    if (start, target) in ALLOWED:
        reports.transition(session=db, report=report, to_status=target, note="n", actor=world["users"]["regulator"])
        assert report.status == target
    else:
        with pytest.raises(Conflict):
            reports.transition(session=db, report=report, to_status=target, note="n", actor=world["users"]["regulator"])
        db.rollback()
        assert db.get(Report, report.id).status == start


def test_each_step_keeps_who_when_and_the_note(client, token_for, report, db):
    regulator = token_for("regulator")
    response = client.patch(
        f"/api/v1/reports/{report.tracking_no}", json={"status": "triaged", "note": "已受理"}, headers=regulator
    )
    assert response.status_code == 200 and response.json["status"] == "triaged"
    forbidden = client.patch(
        f"/api/v1/reports/{report.tracking_no}", json={"status": "closed", "note": "x"}, headers=regulator
    )
    assert forbidden.status_code == 409
    events = db.exec(select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id)).all()
    assert [(e.from_status, e.to_status, e.note) for e in events] == [
        ("", "new", "filed"),
        ("new", "triaged", "已受理"),
    ]
    assert events[-1].actor_id is not None and events[-1].at is not None


def test_the_reports_list_reads_photos_and_steps_of_the_whole_page_at_once(
    client, token_for, report, labelled, file_report, statements
):
    regulator = token_for("regulator")
    client.get("/api/v1/reports", headers=regulator)
    with statements() as one:
        assert client.get("/api/v1/reports", headers=regulator).json["total"] == 1
    _, codes = labelled
    for serial in range(3, 11):
        file_report(reports.ReportInput(description="标签是复印的", code=codes[serial]), photos=[_png()])
    with statements() as nine:
        listing = client.get("/api/v1/reports", headers=regulator).json
    assert listing["total"] == 9 and all(len(item["photos"]) == 1 for item in listing["items"])
    assert all([e["to_status"] for e in item["events"]] == ["new"] for item in listing["items"])
    assert len(nine) == len(one), "queries per report listed"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(out, format="PNG")
    return out.getvalue()


def test_regulators_list_reports_with_their_evidence(client, token_for, report):
    listing = client.get("/api/v1/reports?status=new", headers=token_for("regulator")).json
    assert listing["total"] == 1
    item = listing["items"][0]
    assert item["contact"] == "13800000000" and len(item["photos"]) == 1 and item["serial"] == 2
    assert client.get("/api/v1/reports?status=closed", headers=token_for("admin")).json["total"] == 0
    # What the queue shows of the code's batch, without a call per report.
    assert (item["product_code"], item["county"], item["licensee_uscc"]) == ("anyue-lemon", "512021", USCC_A)
    assert item["batch_no"].startswith("AY-")
    step = {"status": "triaged", "note": "受理"}
    stepped = client.patch(f"/api/v1/reports/{report.tracking_no}", json=step, headers=token_for("regulator"))
    assert stepped.json["batch_no"] == item["batch_no"]  # one report alone says the same


def test_the_report_api_filters_by_number_and_days_as_the_queue_does(client, token_for, report):
    regulator = token_for("regulator")
    day = china_time(report.created_at, "%Y-%m-%d")
    found = client.get(f"/api/v1/reports?q={report.tracking_no[-5:]}&from={day}&to={day}", headers=regulator).json
    assert [item["tracking_no"] for item in found["items"]] == [report.tracking_no]
    assert client.get("/api/v1/reports?from=2999-01-01", headers=regulator).json["total"] == 0
    for not_a_day in ("yesterday", "20261101", "2026-W45-1"):
        refused = client.get(f"/api/v1/reports?from={not_a_day}", headers=regulator)
        assert refused.status_code == 422 and refused.json["error"]["fields"] == {"from": "YYYY-MM-DD"}, not_a_day


def test_reversed_report_days_are_422_naming_to_not_an_empty_list(client, token_for, report):
    """The queue swaps a reversed span and says so on the page; a program would not read that note."""
    regulator = token_for("regulator")
    reversed_days = client.get("/api/v1/reports?from=2026-11-30&to=2026-11-01", headers=regulator)
    assert reversed_days.status_code == 422 and reversed_days.json["error"]["code"] == "invalid_query"
    assert reversed_days.json["error"]["fields"] == {"to": "on or after from (2026-11-30)"}
    day = china_time(report.created_at, "%Y-%m-%d")
    assert client.get(f"/api/v1/reports?from={day}&to={day}", headers=regulator).json["total"] == 1


def test_an_unknown_product_filter_is_422_but_none_is_the_reports_of_no_product(client, token_for, report):
    regulator = token_for("regulator")
    nope = client.get("/api/v1/reports?product=nope", headers=regulator)
    assert nope.status_code == 422 and nope.json["error"]["code"] == "invalid_query"
    assert nope.json["error"]["fields"] == {"product": "unknown product"}
    assert client.get("/api/v1/reports?product=anyue-lemon", headers=regulator).json["total"] == 1
    assert client.get("/api/v1/reports?product=none", headers=regulator).json["total"] == 0


def test_an_unknown_county_filter_is_422_not_an_empty_list(client, token_for, report):
    regulator = token_for("regulator")
    for odd in ("nope", "512000", "5120211"):  # the city is no county; a township code is none either
        refused = client.get(f"/api/v1/reports?county={odd}", headers=regulator)
        assert refused.status_code == 422 and refused.json["error"]["fields"] == {"county": odd}, odd
    assert client.get("/api/v1/reports?county=512021", headers=regulator).json["total"] == 1


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/reports", {"regulator", "admin"}),
        ("PATCH", "/api/v1/reports/{no}", {"regulator"}),
        ("PUT", "/api/v1/reports/{no}/product", {"regulator"}),
    ],
)
@pytest.mark.parametrize("who", [None, "coop", "regulator", "admin"])
def test_report_api_gates(client, token_for, report, method, path, allowed, who):
    response = client.open(
        path.format(no=report.tracking_no), method=method, json={}, headers=token_for(who) if who else {}
    )
    expected = 401 if who is None else (403 if who not in allowed else None)
    assert response.status_code == expected if expected else response.status_code in (200, 422)


PAGES = ["/regulator/reports", "/regulator/reports/{id}"]


@pytest.mark.parametrize("path", PAGES + ["photo"])
@pytest.mark.parametrize("who", [None, "coop"])
def test_cooperatives_and_anonymous_never_reach_the_queue_cases_or_photos(login_as, db, report, path, who):
    if path == "photo":
        photo = reports.photos_of(session=db, report=report)[0]
        path = f"/regulator/photos/{photo.filename}"
    response = login_as(who).get(path.format(id=report.id))
    assert response.status_code == (302 if who is None else 403)


def test_the_queue_filters_and_marks_overdue_cases(login_as, db, report, world):
    report.updated_at = utcnow() - timedelta(days=3)  # `new` may wait 2 days
    db.add(report)
    db.commit()
    client = login_as("regulator")
    page = client.get("/regulator/reports").text
    assert report.tracking_no in page and 'class="overdue"' in page
    assert report.tracking_no not in client.get("/regulator/reports?status=closed").text
    assert report.tracking_no in client.get("/regulator/reports?product=anyue-lemon&county=512021").text
    assert report.tracking_no not in client.get("/regulator/reports?county=512022").text
    assert report.tracking_no not in client.get("/regulator/reports?from=2099-01-01").text
    for odd in ("product=nope", "county=999999"):  # an edited link: dropped, and said
        page = client.get(f"/regulator/reports?{odd}&lang=en").text
        assert report.tracking_no in page, odd
        assert "is not one of this filter&#39;s choices" in page


def test_reports_without_a_registry_code_have_a_filter_of_their_own(login_as, client, token_for, report, file_report):
    codeless = file_report(reports.ReportInput(description="包装上印着安岳柠檬地理标志，没有二维码"))
    desk = login_as("regulator")
    lemon = desk.get("/regulator/reports?product=anyue-lemon").text
    assert report.tracking_no in lemon and codeless.tracking_no not in lemon
    unknown = desk.get("/regulator/reports?product=none").text
    assert codeless.tracking_no in unknown and report.tracking_no not in unknown
    listed = client.get("/api/v1/reports?product=none", headers=token_for("regulator")).json  # the API too
    assert [item["tracking_no"] for item in listed["items"]] == [codeless.tracking_no]


def test_a_report_with_a_code_concerns_its_batchs_product_whatever_else_is_stored(login_as, db, report, world):
    report.product_id = world["cocoon"].id  # a stray copy (an earlier 0010 copied the batch's here)
    db.add(report)
    db.commit()
    desk = login_as("regulator")
    assert report.tracking_no in desk.get("/regulator/reports?product=anyue-lemon").text
    assert report.tracking_no not in desk.get("/regulator/reports?product=lezhi-cocoon").text
    assert "安岳柠檬" in desk.get(f"/regulator/reports/{report.id}").text


def test_a_regulator_names_the_product_of_a_case_without_a_code(login_as, client, token_for, db, world, file_report):
    codeless = file_report(reports.ReportInput(description="市场上有人卖“安岳柠檬”，箱子上没有二维码"))
    desk = login_as("regulator")
    form = {"product-product": world["lemon"].id}
    response = desk.post(f"/regulator/reports/{codeless.id}/product", data=form, follow_redirects=True)
    assert response.status_code == 200 and "安岳柠檬" in response.text
    assert codeless.tracking_no in desk.get("/regulator/reports?product=anyue-lemon").text
    assert codeless.tracking_no not in desk.get("/regulator/reports?product=none").text
    listed = client.get("/api/v1/reports?product=anyue-lemon", headers=token_for("regulator")).json["items"]
    assert [(item["tracking_no"], item["product_code"], item["batch_no"]) for item in listed] == [
        (codeless.tracking_no, "anyue-lemon", None)
    ]
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "report.product")).one()
    assert (event.entity_id, event.before, event.after) == (
        str(codeless.id),
        {"product_code": None},
        {"product_code": "anyue-lemon"},
    )
    case = desk.get(f"/regulator/reports/{codeless.id}").text
    assert "report.product" not in case and "：安岳柠檬</td>" in case  # the action and the product in words


def test_the_api_names_the_product_of_a_case_without_a_code_as_the_page_does(client, token_for, file_report):
    codeless = file_report(reports.ReportInput(description="超市里的“乐至蚕茧”，包装没有码"))
    regulator = token_for("regulator")
    url = f"/api/v1/reports/{codeless.tracking_no}/product"
    named = client.put(url, json={"product_code": "lezhi-cocoon"}, headers=regulator)
    assert named.status_code == 200 and named.json["product_code"] == "lezhi-cocoon"
    unknown = client.put(url, json={"product_code": "no-such-mark"}, headers=regulator)
    assert unknown.status_code == 422 and unknown.json["error"]["fields"] == {"product_code": "unknown product"}
    cleared = client.put(url, json={"product_code": None}, headers=regulator)
    assert cleared.status_code == 200 and cleared.json["product_code"] is None
    empty = client.put(url, json={"product_code": ""}, headers=regulator)  # not a way to say "not known"
    assert empty.status_code == 422


def test_the_api_refuses_to_rename_the_product_a_code_gives(client, token_for, report):
    url = f"/api/v1/reports/{report.tracking_no}/product"
    refused = client.put(url, json={"product_code": "lezhi-cocoon"}, headers=token_for("regulator"))
    assert refused.status_code == 409 and refused.json["error"]["code"] == "product_from_code"


def test_the_product_of_a_case_follows_its_code_and_is_not_renamed(login_as, db, world, report):
    desk = login_as("regulator")
    response = desk.post(f"/regulator/reports/{report.id}/product", data={"product-product": world["cocoon"].id})
    assert response.status_code == 409
    db.refresh(report)
    assert report.product_id is None


def test_naming_the_product_a_case_already_has_logs_nothing(db, world, file_report):
    codeless = file_report(reports.ReportInput(description="没有码的可疑蚕茧"))
    for _ in range(2):
        reports.name_product(session=db, report=codeless, product=world["cocoon"], actor=world["users"]["regulator"])
    db.commit()
    assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "report.product")).all()) == 1


def test_a_closed_case_keeps_its_product(db, world, file_report):
    codeless = file_report(reports.ReportInput(description="没有码的可疑蚕茧"))
    codeless.status = "closed"
    db.add(codeless)
    db.commit()
    with pytest.raises(Conflict):
        reports.name_product(session=db, report=codeless, product=world["cocoon"], actor=world["users"]["regulator"])


@pytest.mark.parametrize("who", [None, "coop", "admin"])
def test_only_regulators_name_a_cases_product(login_as, db, world, file_report, who):
    codeless = file_report(reports.ReportInput(description="没有码的可疑蚕茧"))
    response = login_as(who).post(f"/regulator/reports/{codeless.id}/product", data={"product-product": 1})
    assert response.status_code == (302 if who is None else 403)
    db.refresh(codeless)
    assert codeless.product_id is None


def test_the_queue_lists_only_overdue_cases_the_longest_waiting_first(
    login_as, token_for, db, report, world, file_report
):
    fresh = file_report(reports.ReportInput(description="刚收到的举报：包装可疑"))
    older = file_report(reports.ReportInput(description="另一份举报：标签模糊"))
    report.updated_at = utcnow() - timedelta(days=3)  # `new` may wait 2 days
    older.updated_at = utcnow() - timedelta(days=9)
    older.status = "triaged"  # `triaged` may wait 5
    db.add_all([report, older])
    db.commit()
    page = login_as("regulator").get("/regulator/reports?status=overdue").text
    assert fresh.tracking_no not in page
    assert page.index(older.tracking_no) < page.index(report.tracking_no)
    listed = login_as(None).get("/api/v1/reports?status=overdue", headers=token_for("admin")).json["items"]
    assert [item["tracking_no"] for item in listed] == [older.tracking_no, report.tracking_no]


def test_the_queue_finds_a_case_by_part_of_its_number_by_who_has_it_and_while_open(
    login_as, db, report, world, file_report
):
    other = file_report(reports.ReportInput(description="另一份举报：包装可疑"))
    desk = login_as("regulator")
    tail = report.tracking_no[-4:].lower()  # as read out over the phone
    found = desk.get(f"/regulator/reports?q={tail}").text
    assert report.tracking_no in found and other.tracking_no not in found
    for typed in (report.tracking_no.replace("-", ""), report.tracking_no.replace("-", " ")[3:]):
        found = desk.get("/regulator/reports", query_string={"q": typed}).text  # without dashes, or spaced
        assert report.tracking_no in found and other.tracking_no not in found
    wildcard = desk.get("/regulator/reports?q=%25").text  # a % is a character to find, not a wildcard
    assert report.tracking_no not in wildcard and other.tracking_no not in wildcard
    desk.post(f"/regulator/reports/{report.id}/assign", data={"assign-assignee": world["users"]["regulator"].id})
    mine = desk.get("/regulator/reports?mine=1").text
    assert report.tracking_no in mine and other.tracking_no not in mine
    other.status = "closed"
    db.add(other)
    db.commit()
    still_open = desk.get("/regulator/reports?status=open").text
    assert report.tracking_no in still_open and other.tracking_no not in still_open


def test_the_queue_and_the_case_count_days_and_times_in_china(login_as, client, db, world, file_report):
    """Filed at 16:30 UTC on 28 November, which is 00:30 on the 29th in Ziyang."""
    data = reports.ReportInput(description="半夜买到的假柠檬")
    filed = file_report(data, now=datetime(2026, 11, 28, 16, 30, tzinfo=UTC))
    assert filed.tracking_no.startswith("JB-20261129-")
    staff = login_as("regulator")
    assert filed.tracking_no in staff.get("/regulator/reports?from=2026-11-29").text
    the_29th = staff.get("/regulator/reports?from=2026-11-29&to=2026-11-29").text
    assert filed.tracking_no in the_29th and "2026-11-29" in the_29th and "2026-11-28" not in the_29th
    assert filed.tracking_no not in staff.get("/regulator/reports?to=2026-11-28").text
    assert filed.tracking_no not in staff.get("/regulator/reports?from=2026-11-30").text
    case = staff.get(f"/regulator/reports/{filed.id}?lang=en").text
    # Not "UTC" anywhere but in the tracking number, whose random letters may spell it.
    assert "Filed 2026-11-29 00:30;" in case and "UTC" not in case.replace(filed.tracking_no, "")
    assert "2026-11-29 00:30</td>" in case  # the history of the case
    status = client.get(f"/report/status?no={filed.tracking_no}").text
    assert "2026-11-29" in status and "2026-11-28" not in status


def test_the_case_page_shows_photos_history_batch_and_licensee(login_as, client, db, report, labelled):
    batch, codes = labelled
    client.get(f"/q/{codes[2]}")
    page = login_as("regulator").get(f"/regulator/reports/{report.id}").text
    photo = reports.photos_of(session=db, report=report)[0]
    assert photo.filename in page and batch.batch_no in page and "安岳柠檬合作社" in page
    assert "13800000000" in page and "genuine" in page
    image = login_as("regulator").get(f"/regulator/photos/{photo.filename}")
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert login_as("regulator").get("/regulator/photos/../../etc/passwd").status_code == 404


def test_a_case_about_a_batch_code_names_it_so_not_label_no_0(login_as, world, labelled, file_report):
    """Unit labels are numbered from 1: "No. 0" would read as a label no batch ever printed."""
    batch, codes = labelled
    filed = file_report(reports.ReportInput(description="超市货架上的批次码", code=codes[0]))
    assert (filed.batch_id, filed.serial) == (batch.id, 0)
    page = login_as("regulator").get(f"/regulator/reports/{filed.id}?lang=en").text
    assert f"{codes[0]}</code> · Batch code" in page and "No. 0" not in page


def test_a_case_says_when_its_codes_history_lists_only_the_latest_checks(login_as, db, report):
    """A copied label checked hundreds of times: the page lists the latest 200, and says of how many."""
    page = login_as("regulator").get(f"/regulator/reports/{report.id}?lang=en").text
    assert "checks of the code" not in page  # none yet: nothing left out
    first = utcnow() - timedelta(days=3)
    for n in range(203):
        db.add(Scan(batch_id=report.batch_id, serial=report.serial, at=first + timedelta(minutes=n), verdict="genuine"))
    db.add(Scan(batch_id=report.batch_id, serial=report.serial + 1, at=first, verdict="genuine"))  # another label
    db.commit()
    page = login_as("regulator").get(f"/regulator/reports/{report.id}?lang=en").text
    assert "The latest 200 of 203 checks of the code are listed." in page
    assert page.count('<span class="badge genuine">') == 200


def test_a_recall_from_the_case_reaches_consumers_at_once(login_as, client, db, report, labelled):
    batch, codes = labelled
    desk = login_as("regulator")
    assert (
        desk.post(f"/regulator/reports/{report.id}/recall", data={"recall-reason": "确认假冒流通"}).status_code == 302
    )
    db.expire_all()
    assert db.get(Batch, batch.id).status == "recalled"
    assert client.get(f"/api/v1/verify/{codes[1]}").json["verdict"] == "revoked"


def test_a_suspension_from_the_case_turns_scans_to_warning(login_as, client, db, report, labelled, world):
    _, codes = labelled
    desk = login_as("regulator")
    desk.post(f"/regulator/reports/{report.id}/licence/suspend", data={"licence-reason": "调查期间暂停"})
    db.expire_all()
    assert db.get(Licence, world["licence_a"].id).state == "suspended"
    result = client.get(f"/api/v1/verify/{codes[1]}").json
    assert result["verdict"] == "warning" and result["reasons"] == ["licence_suspended"]


def test_a_step_from_the_case_page_and_a_forbidden_one(login_as, db, report):
    desk = login_as("regulator")
    ok = desk.post(f"/regulator/reports/{report.id}/step", data={"step-status": "triaged", "step-note": "受理"})
    assert ok.status_code == 302
    # A step the case never allowed: refused as such, not as a race.
    bad = desk.post(
        f"/regulator/reports/{report.id}/step?lang=en",
        data={"step-status": "closed", "step-note": "x", "step-seen_status": "triaged"},
    )
    assert bad.status_code == 409 and "does not allow this step" in bad.text and "is now" not in bad.text
    db.expire_all()
    assert db.get(Report, report.id).status == "triaged"


def test_a_step_another_officer_took_first_is_told_with_the_status_now(login_as, db, report):
    desk = login_as("regulator")
    triage = {"step-seen_status": "new", "step-status": "triaged"}  # both pages drawn while the case was new
    first = desk.post(f"/regulator/reports/{report.id}/step", data={**triage, "step-note": "a"})
    assert first.status_code == 302
    second = desk.post(f"/regulator/reports/{report.id}/step?lang=zh", data={**triage, "step-note": "我的备注"})
    assert second.status_code == 409 and "未执行此步骤：该案件当前为“已初审”" in second.text
    assert "我的备注</textarea>" in second.text  # the note stays, for the step to choose now
    assert '<option value="investigating"' in second.text  # the choices of the status it has now
    db.expire_all()
    assert db.get(Report, report.id).status == "triaged"
    closed = db.get(Report, report.id)
    closed.status = "closed"
    db.add(closed)
    db.commit()
    late = {"step-seen_status": "triaged", "step-status": "investigating", "step-note": "现场核查记录"}
    answer = desk.post(f"/regulator/reports/{report.id}/step?lang=en", data=late)
    assert answer.status_code == 409 and "closed meanwhile; your note was not saved: 现场核查记录" in answer.text


def test_assignment_to_a_regulator(login_as, db, report, world):
    desk = login_as("regulator")
    regulator_id = world["users"]["regulator"].id
    assert (
        desk.post(f"/regulator/reports/{report.id}/assign", data={"assign-assignee": regulator_id}).status_code == 302
    )
    db.expire_all()
    assert db.get(Report, report.id).assigned_to == regulator_id
    assert "该案件已指派给 reg@test.cn。" in desk.get(f"/regulator/reports/{report.id}?lang=zh").text


def test_a_case_tells_how_long_it_waited_in_days_and_hours_and_when_it_closed(login_as, db, report, world):
    report.updated_at = utcnow() - timedelta(days=3, hours=5, minutes=10)
    db.add(report)
    db.commit()
    desk = login_as("regulator")
    assert "在当前状态已等待 3 天 5 小时。" in desk.get(f"/regulator/reports/{report.id}?lang=zh").text
    assert ">3 days 5 hours" in desk.get("/regulator/reports?lang=en").text
    report.updated_at = utcnow()
    db.add(report)
    db.commit()
    assert "in this status for under an hour." in desk.get(f"/regulator/reports/{report.id}").text
    report.status, report.closed_at = "closed", datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    db.add(report)
    db.commit()
    closed = desk.get(f"/regulator/reports/{report.id}").text
    assert "closed 2026-11-20 10:00." in closed and "in this status for" not in closed
    assert f'action="/regulator/reports/{report.id}/assign"' not in closed  # nothing left to assign
    regulator_id = world["users"]["regulator"].id
    sent = desk.post(f"/regulator/reports/{report.id}/assign", data={"assign-assignee": regulator_id})  # all the same
    assert sent.status_code == 409  # the case's state refuses it, as a step it forbids
    db.expire_all()
    assert db.get(Report, report.id).assigned_to is None


def test_admins_read_cases_but_do_not_work_them(login_as, report):
    admin = login_as("admin")
    assert admin.get(f"/regulator/reports/{report.id}").status_code == 200
    assert (
        admin.post(
            f"/regulator/reports/{report.id}/step", data={"step-status": "triaged", "step-note": "x"}
        ).status_code
        == 403
    )


def test_api_clients_fetch_report_photos_with_a_regulators_token(client, token_for, report):
    item = client.get("/api/v1/reports", headers=token_for("regulator")).json["items"][0]
    photo_path = item["photos"][0].replace("http://localhost", "")
    assert photo_path.startswith(f"/api/v1/reports/{report.tracking_no}/photos/")
    assert client.get(photo_path, headers=token_for("regulator")).mimetype == "image/jpeg"
    assert client.get(photo_path, headers=token_for("coop")).status_code == 403
    assert client.get(photo_path).status_code == 401
    other = photo_path.rsplit("/", 1)[0] + "/" + "0" * 32 + ".jpg"
    assert client.get(other, headers=token_for("regulator")).status_code == 404


def test_the_case_page_offers_the_usual_next_step_first_never_dismissal(login_as, report):
    page = login_as("regulator").get(f"/regulator/reports/{report.id}").text
    options = page.split('name="step-status"')[1].split("</select>")[0]
    assert options.index('value="triaged"') < options.index('value="dismissed"')


def test_the_queue_puts_open_cases_first_oldest_on_top(login_as, db, report, world, file_report):
    newer = file_report(reports.ReportInput(description="又一个假标签"))
    for status in ("dismissed", "closed"):
        reports.transition(
            session=db, report=report, to_status=status, note="不成立", actor=world["users"]["regulator"]
        )
    db.commit()
    desk = login_as("regulator")
    page = desk.get("/regulator/reports?status=").text  # "All": the closed cases too, after the open ones
    assert page.index(newer.tracking_no) < page.index(report.tracking_no)
    opened = desk.get("/regulator/reports").text  # the desk's work by default: open cases only
    assert newer.tracking_no in opened and report.tracking_no not in opened
    searched = desk.get(f"/regulator/reports?q={report.tracking_no}").text  # a search looks at every case
    assert report.tracking_no in searched.split("<tbody>")[1]


def test_the_queue_names_who_has_each_case(login_as, db, report, world):
    reports.assign(session=db, report=report, assignee=world["users"]["regulator"], actor=world["users"]["regulator"])
    db.commit()
    page = login_as("regulator").get("/regulator/reports").text
    assert '<td data-label="承办人">reg@test.cn</td>' in page


def test_the_case_page_shows_scans_and_notes_in_words(login_as, client, db, report, labelled):
    batch, codes = labelled
    client.get(f"/q/{codes[2]}", headers={"User-Agent": "curl/8.5"})
    batch.status = "recalled"
    db.add(batch)
    db.commit()
    client.get(f"/q/{codes[2]}", headers={"User-Agent": "Mozilla/5.0 MicroMessenger/8.0"})
    desk = login_as("regulator")
    chinese = desk.get(f"/regulator/reports/{report.id}?lang=zh").text
    assert ">正品</span>" in chinese and ">已召回：请勿食用或使用</span>" in chinese
    assert "生产单位或市场监管部门已召回该批次。" in chinese and "南薰镇" in chinese
    for code in (">genuine<", ">revoked<", "batch_recalled", ">script<", ">wechat<", ">filed<"):
        assert code not in chinese
    english = desk.get(f"/regulator/reports/{report.id}?lang=en").text
    assert ">Genuine</span>" in english and "The batch was recalled by its producer" in english
    assert "script or command-line tool" in english and "WeChat" in english and ">Report filed<" in english
    assert "Anyue Lemon" in english and "Nanxun Town" in english


def test_the_queue_names_products_and_counties_in_the_pages_language(login_as, report):
    desk = login_as("regulator")
    chinese = desk.get("/regulator/reports?lang=zh").text
    assert ">安岳柠檬</option>" in chinese and ">安岳县</option>" in chinese and ">安岳柠檬</td>" in chinese
    english = desk.get("/regulator/reports?lang=en").text
    assert ">Anyue Lemon</option>" in english and ">Anyue County</option>" in english and ">Anyue Lemon</td>" in english
    assert "安岳柠檬<" not in english and "安岳县" not in english


def test_a_case_goes_only_to_an_active_regulator(login_as, db, report, world):
    from gi_registry.domain import DomainError, accounts

    other = accounts.create_user(session=db, email="reg2@test.cn", password="Ziyang-GI-2026!", role="regulator")
    other.is_active = False
    db.add(other)
    db.commit()
    desk = login_as("regulator")
    case = desk.get(f"/regulator/reports/{report.id}").text
    assert "reg@test.cn" in case.split('name="assign-assignee"')[1].split("</select>")[0]
    for who in (world["users"]["admin"], other):  # the admin reads cases but cannot work them
        assert f'value="{who.id}"' not in case.split('name="assign-assignee"')[1].split("</select>")[0]
        answer = desk.post(f"/regulator/reports/{report.id}/assign", data={"assign-assignee": who.id})
        assert answer.status_code == 422
        with pytest.raises(DomainError):
            reports.assign(session=db, report=report, assignee=who, actor=world["users"]["regulator"])
    db.rollback()
    db.expire_all()
    assert db.get(Report, report.id).assigned_to is None


def test_a_licence_action_from_a_case_reaches_the_renewal_the_labels_answer_to(
    login_as, client, db, report, world, renewed_licence
):
    renewal = renewed_licence  # the batch was made under a licence that ran out and was renewed
    db.commit()
    desk = login_as("regulator")
    answer = desk.post(f"/regulator/reports/{report.id}/licence/revoke", data={"licence-reason": "屡次假冒"})
    assert answer.status_code == 302
    db.expire_all()
    assert db.get(Licence, renewal.id).state == "revoked" and db.get(Licence, world["licence_a"].id).state == "active"
    assert "已撤销" in desk.get(f"/regulator/reports/{report.id}").text
    assert client.get(f"/api/v1/verify/{report.code}").json["verdict"] == "revoked"


def test_the_case_page_lists_what_was_done_about_it_besides_its_steps(login_as, db, report, world):
    desk = login_as("regulator")
    regulator = world["users"]["regulator"]
    assigned = desk.post(f"/regulator/reports/{report.id}/assign", data={"assign-assignee": regulator.id})
    assert '<p class="flash success" role="status">该案件已指派给 reg@test.cn。</p>' in desk.get(assigned.location).text
    desk.post(f"/regulator/reports/{report.id}/recall", data={"recall-reason": "核实为假冒标签流通批次"})
    suspended = desk.post(f"/regulator/reports/{report.id}/licence/suspend", data={"licence-reason": "暂停待查"})
    page = desk.get(suspended.location).text
    actions = page.split("举报以来采取的措施")[1].split("</table>")[0]
    assert "核实为假冒标签流通批次" in actions and "暂停待查" in actions and regulator.email in actions
    assert '<p class="flash success" role="status">使用许可已暂停，其批次的每次扫码都会显示警示。</p>' in page
    assert "指派举报" in actions and "召回批次" in actions and "暂停使用许可" in actions


def test_irreversible_steps_ask_first(login_as, report, world):
    case = login_as("regulator").get(f"/regulator/reports/{report.id}").text
    assert 'data-confirm="确定召回该批次？召回后不能恢复。"' in case
    assert 'data-confirm="确定撤销该使用许可？撤销后不能恢复。"' in case
    assert "confirm.js" in case


def test_a_case_action_without_a_reason_names_the_box_meant(login_as, report):
    desk = login_as("regulator")
    refused = desk.post(f"/regulator/reports/{report.id}/licence/suspend", data={"licence-reason": ""})
    assert "暂停许可：请填写原因。" in refused.text
    too_long = desk.post(f"/regulator/reports/{report.id}/recall", data={"recall-reason": "召" * 1001})
    assert "召回该批次：字段长度不能超过 1000 个字符。" in too_long.text


def _box(page: str, url: str) -> str:
    """The form of the case page that posts to `url`."""
    return page.split(f'action="{url}"')[1].split("</form>")[0]


CASE_ACTIONS = ("batch.recall", "licence.suspend", "licence.revoke")


@pytest.mark.parametrize("path", ["recall", "licence/suspend", "licence/revoke"])
@pytest.mark.parametrize(
    ("reason", "said"),
    [(" ", "This field is required."), ("召" * 1001, "Field cannot be longer than 1000 characters.")],
)
def test_a_refused_case_action_says_why_at_its_box_and_keeps_the_reason(login_as, db, report, path, reason, said):
    """A refused reason came back as a redirect to the case, the box empty: what the officer wrote was lost."""
    url = f"/regulator/reports/{report.id}/{path}"
    box_name = path.split("/")[0]  # recall-reason, licence-reason
    refused = login_as("regulator").post(f"{url}?lang=en", data={f"{box_name}-reason": reason})
    assert refused.status_code == 422
    box = _box(refused.text, url)
    assert f"\n{reason}</textarea>" in box and said in box
    assert db.exec(select(AuditEvent).where(AuditEvent.action.in_(CASE_ACTIONS))).all() == []


def test_a_recall_made_meanwhile_gives_the_reason_back(login_as, db, report, labelled, world):
    batch, _codes = labelled
    desk = login_as("regulator")
    assert "/recall" in desk.get(f"/regulator/reports/{report.id}").text  # drawn while the batch was active
    batches.recall_batch(session=db, batch=batch, reason="合作社自行召回", actor=world["users"]["coop"])
    db.commit()
    late = desk.post(f"/regulator/reports/{report.id}/recall?lang=en", data={"recall-reason": "确认假冒流通"})
    assert late.status_code == 409
    assert "The batch is already recalled." in late.text and "Your reason, not saved: 确认假冒流通" in late.text
    assert f'action="/regulator/reports/{report.id}/recall"' not in late.text  # no box left to keep it in
    recalls = db.exec(select(AuditEvent).where(AuditEvent.action == "batch.recall")).all()
    assert [event.reason for event in recalls] == ["合作社自行召回"]


@pytest.mark.parametrize("seen", [True, False])  # a page with the licence's version, and one from before it
def test_a_licence_action_the_case_no_longer_offers_gives_the_reason_back(login_as, db, report, world, seen):
    licence = world["licence_a"]
    desk = login_as("regulator")
    drawn = desk.get(f"/regulator/reports/{report.id}").text
    sent = {"licence-reason": "暂停待查"}
    if seen:
        sent["licence-seen"] = re.search(r'name="licence-seen" type="hidden" value="([^"]+)"', drawn).group(1)
    registry.change_licence_state(session=db, licence=licence, action="revoke", reason="屡次假冒", actor=None)
    db.commit()
    late = desk.post(f"/regulator/reports/{report.id}/licence/suspend?lang=en", data=sent)
    assert late.status_code == 409 and "Your reason, not saved: 暂停待查" in late.text
    db.expire_all()
    assert db.get(Licence, licence.id).state == "revoked"
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "licence.suspend")).all() == []


def test_the_api_filters_reports_by_product_county_and_a_known_status(client, token_for, report, labelled):
    desk = token_for("regulator")
    found = client.get("/api/v1/reports?product=anyue-lemon&county=512021", headers=desk)
    assert found.status_code == 200 and [i["tracking_no"] for i in found.json["items"]] == [report.tracking_no]
    assert client.get("/api/v1/reports?county=512022", headers=desk).json["items"] == []
    assert client.get("/api/v1/reports?status=bogus", headers=desk).status_code == 422


def test_each_reason_box_on_the_case_page_has_its_own_label(login_as, report, labelled):
    page = login_as("regulator").get(f"/regulator/reports/{report.id}").text
    for action in ("suspend", "revoke"):
        assert f'<label for="licence-reason-{action}">' in page and f'id="licence-reason-{action}"' in page


def test_pages_made_for_a_signed_in_account_are_not_kept_in_the_browsers_cache(login_as, report):
    desk = login_as("regulator")
    case = desk.get(f"/regulator/reports/{report.id}")
    assert "13800000000" in case.text and case.headers["Cache-Control"] == "private, no-store"
    assert desk.get("/admin/").headers["Cache-Control"] == "private, no-store"
    anonymous = login_as(None).get("/licensees")
    assert "Cache-Control" not in anonymous.headers  # public pages may be cached as before


def test_api_answers_to_a_token_are_not_kept_in_a_cache_either(client, token_for, report):
    listed = client.get("/api/v1/reports", headers=token_for("regulator"))
    assert "13800000000" in listed.text and listed.headers["Cache-Control"] == "private, no-store"
    assert "Cache-Control" not in client.get("/api/v1/products").headers


def test_a_case_marks_a_reported_code_that_is_none_of_the_registrys(login_as, file_report):
    forged = file_report(reports.ReportInput(description="包装上的码查不到", code="XYZ123"))
    case = login_as("regulator").get(f"/regulator/reports/{forged.id}").text
    assert "<code>XYZ123</code>" in case and "非本平台的码" in case


def test_a_step_note_is_no_longer_than_the_audit_log_keeps_it(login_as, client, token_for, db, report):
    """The audit log keeps each step's note as its reason, in at most 1,000 characters: a longer note taken
    by the form or the API failed the insert (a 500 on PostgreSQL) instead of being refused."""
    longest, too_long = "核" * 1000, "核" * 1001
    desk = login_as("regulator")
    refused = desk.post(f"/regulator/reports/{report.id}/step", data={"step-status": "triaged", "step-note": too_long})
    assert refused.status_code == 422 and too_long + "</textarea>" in refused.text  # kept, to shorten
    step = {"status": "triaged", "note": too_long}
    api = client.patch(f"/api/v1/reports/{report.tracking_no}", json=step, headers=token_for("regulator"))
    assert api.status_code == 422 and "note" in api.json["error"]["fields"]
    taken = desk.post(f"/regulator/reports/{report.id}/step", data={"step-status": "triaged", "step-note": longest})
    assert taken.status_code == 302
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "report.triaged")).one()
    assert event.reason == longest


def test_an_assignment_made_meanwhile_is_not_overwritten_by_a_page_drawn_before_it(login_as, db, report, world):
    from gi_registry.domain import accounts

    other = accounts.create_user(session=db, email="reg2@test.cn", password="Ziyang-GI-2026!", role="regulator")
    db.commit()
    mine = world["users"]["regulator"].id
    desk = login_as("regulator")
    drawn = desk.get(f"/regulator/reports/{report.id}").text
    assert 'name="assign-seen" type="hidden" value="0"' in drawn  # the page was drawn while nobody had the case
    reports.assign(session=db, report=report, assignee=other, actor=other)  # a colleague takes it meanwhile
    db.commit()
    stale = desk.post(
        f"/regulator/reports/{report.id}/assign?lang=en", data={"assign-assignee": mine, "assign-seen": "0"}
    )
    assert stale.status_code == 409
    assert "assigned meanwhile (now: reg2@test.cn); your assignment was not saved" in stale.text
    assert f'name="assign-seen" type="hidden" value="{other.id}"' in stale.text  # a second Assign is deliberate
    db.expire_all()
    assert db.get(Report, report.id).assigned_to == other.id
    again = desk.post(
        f"/regulator/reports/{report.id}/assign", data={"assign-assignee": mine, "assign-seen": str(other.id)}
    )
    assert again.status_code == 302
    db.expire_all()
    assert db.get(Report, report.id).assigned_to == mine


def test_the_way_back_from_a_case_returns_to_the_queue_as_it_was_left(login_as, report):
    desk = login_as("regulator")
    desk.get("/regulator/reports?status=new&product=anyue-lemon&per_page=10&lang=en")
    desk.post(f"/regulator/reports/{report.id}/step", data={"step-status": "triaged", "step-note": "受理"})
    case = desk.get(f"/regulator/reports/{report.id}").text  # after a step, not only straight from the list
    assert '<a href="/regulator/reports?per_page=10&amp;product=anyue-lemon&amp;status=new">' in case
    desk.get("/regulator/reports")  # a bare visit: the open cases, and the way back says so
    assert '<a href="/regulator/reports">' in desk.get(f"/regulator/reports/{report.id}").text
    # A filter the queue dropped (with a word) is not kept for the way back, to be dropped again.
    desk.get("/regulator/reports?status=bogus&product=nope&q=" + "X" * 3000)
    assert (
        '<a href="/regulator/reports?q=XXXXXXXXXXXXXXXXXXXXXXXX&amp;status=">'
        in desk.get(f"/regulator/reports/{report.id}").text
    )


def test_a_case_page_drawn_before_a_colleagues_licence_changes_does_not_undo_them(login_as, db, report, world):
    licence = world["licence_a"]
    desk = login_as("regulator")
    drawn = desk.get(f"/regulator/reports/{report.id}").text
    seen = re.search(r'name="licence-seen" type="hidden" value="([^"]+)"', drawn).group(1)
    for action, reason in (("suspend", "暂停待查"), ("reinstate", "查无问题")):  # a colleague, meanwhile
        registry.change_licence_state(session=db, licence=licence, action=action, reason=reason, actor=None)
        db.commit()
    url = f"/regulator/reports/{report.id}/licence/suspend"
    stale = desk.post(f"{url}?lang=en", data={"licence-reason": "旧页面上的暂停", "licence-seen": seen})
    assert stale.status_code == 409
    assert "The licence was changed meanwhile (now: active); nothing was done." in stale.text
    assert "旧页面上的暂停</textarea>" in stale.text
    db.expire_all()
    assert db.get(Licence, licence.id).state == "active"
    fresh = re.search(r'name="licence-seen" type="hidden" value="([^"]+)"', stale.text).group(1)
    again = desk.post(url, data={"licence-reason": "旧页面上的暂停", "licence-seen": fresh})
    assert again.status_code == 302
    db.expire_all()
    assert db.get(Licence, licence.id).state == "suspended"


def test_an_assignment_sent_without_the_seen_field_is_not_checked(login_as, db, report, world):
    """A page drawn before the check, or a script: no seen field, no check, and no 500 either."""
    regulator = world["users"]["regulator"]
    reports.assign(session=db, report=report, assignee=regulator, actor=regulator)
    db.commit()
    desk = login_as("regulator")
    answer = desk.post(f"/regulator/reports/{report.id}/assign", data={"assign-assignee": 0})
    assert answer.status_code == 302
    db.expire_all()
    assert db.get(Report, report.id).assigned_to is None


def test_a_step_without_a_note_on_a_case_closed_meanwhile_says_it_is_closed(login_as, db, report):
    """The page drawn while the case was open; sent empty after a colleague closed it: no box to show it at."""
    report.status = "closed"
    db.add(report)
    db.commit()
    sent = {"step-status": "closed", "step-note": "", "step-seen_status": "confirmed"}
    page = login_as("regulator").post(f"/regulator/reports/{report.id}/step?lang=en", data=sent)
    assert page.status_code == 422 and "The case was closed meanwhile: no step is left to take." in page.text
