"""A regulator lifts a copy warning found unfounded: the scans so far stop counting, later ones count again."""

import pytest
from sqlmodel import select

from gi_registry.domain import batches, reports, verification
from gi_registry.models import AuditEvent, Scan, ScanTally

RULES = verification.CopyRules()  # the defaults, as the test app's settings have them
ELSEWHERE = {"REMOTE_ADDR": "10.1.1.1"}  # another consumer's phone
REASON = "店铺陈列样品被顾客反复扫描，经核实标签为正品"


def scan(client, code: str, query: str = "", **kwargs) -> dict:
    return client.get(f"/api/v1/verify/{code}{query}", **kwargs).json


@pytest.fixture
def case(labelled, file_report):
    """A report on the label with serial 2."""
    _, codes = labelled
    return file_report(reports.ReportInput(description="这个码查询次数很多，是不是假的", code=codes[2]))


def lift(desk, case, reason: str = REASON):
    return desk.post(f"/regulator/reports/{case.id}/copy-warning", data={"copy-reason": reason})


def test_a_lifted_warning_counts_again_from_the_next_scan(client, login_as, labelled, case, db):
    _, codes = labelled
    for _ in range(21):
        last = scan(client, codes[2])
    assert last["verdict"] == "warning" and last["reasons"] == ["scanned_often"]
    desk = login_as("regulator")
    assert "解除复制预警" in desk.get(f"/regulator/reports/{case.id}").text
    lifted = lift(desk, case)
    assert lifted.status_code == 302
    assert "复制预警已解除" in desk.get(lifted.location).text
    after = [scan(client, codes[2]) for _ in range(20)]
    assert {result["verdict"] for result in after} == {"genuine"}
    assert after[0]["scans"]["count"] == 22  # the count consumers read stays whole
    again = scan(client, codes[2])  # the 21st since the warning was lifted: a copy after all
    assert again["verdict"] == "warning" and again["reasons"] == ["scanned_often"]


def test_places_shared_before_the_lifting_are_no_evidence_after_it(client, login_as, labelled, case):
    _, codes = labelled
    scan(client, codes[2], "?lat=39.90&lon=116.40")  # Beijing
    assert scan(client, codes[2], "?lat=30.12&lon=104.63", environ_base=ELSEWHERE)["reasons"] == ["seen_far_apart"]
    assert lift(login_as("regulator"), case).status_code == 302
    assert scan(client, codes[2])["verdict"] == "genuine"
    # Chengdu is far from the Beijing place shared an hour ago, but that was before the warning was lifted.
    assert scan(client, codes[2], "?lat=30.66&lon=104.07", environ_base=ELSEWHERE)["verdict"] == "genuine"
    beijing_again = scan(client, codes[2], "?lat=39.90&lon=116.40", environ_base={"REMOTE_ADDR": "10.2.2.2"})
    assert beijing_again["reasons"] == ["seen_far_apart"]  # a new pair of places far apart counts


def test_the_lifting_is_in_the_audit_log_and_the_case_with_its_reason(client, login_as, labelled, case, db):
    batch, codes = labelled
    for _ in range(21):
        scan(client, codes[2])
    desk = login_as("regulator")
    lift(desk, case)
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "batch.clear_copy_warning")).one()
    assert (event.entity_type, event.entity_id, event.reason) == ("batch", str(batch.id), REASON)
    assert event.after == {"serial": 2, "cleared_count": 21, "far_apart_at": None}
    page = desk.get(f"/regulator/reports/{case.id}").text
    assert "解除标签复制预警：第 2 号" in page and REASON in page  # which label: a case may be of another
    assert "解除复制预警</h2>" not in page  # nothing left to lift
    history = desk.get(f"/coop/batches/{batch.id}?lang=en").text
    assert "Copy warning of a label lifted" in history and "Scans no longer counted towards the copy warning" in history


def test_a_label_without_a_warning_has_none_to_lift(client, login_as, labelled, case, db):
    _, codes = labelled
    scan(client, codes[2])
    desk = login_as("regulator")
    assert "解除复制预警</h2>" not in desk.get(f"/regulator/reports/{case.id}").text
    refused = lift(desk, case)
    assert refused.status_code == 409 and "该码当前没有可解除的复制预警" in refused.text
    assert f"您填写的原因（未保存）：{REASON}" in refused.text  # no box to keep it in
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "batch.clear_copy_warning")).all() == []


def test_a_warning_lifted_meanwhile_gives_the_reason_back(client, login_as, labelled, case, db):
    _, codes = labelled
    for _ in range(21):
        scan(client, codes[2])
    desk = login_as("regulator")
    assert "解除复制预警</h2>" in desk.get(f"/regulator/reports/{case.id}").text  # both officers see the warning
    assert lift(login_as("regulator"), case, reason="同事先解除").status_code == 302  # a colleague, meanwhile
    late = desk.post(f"/regulator/reports/{case.id}/copy-warning?lang=en", data={"copy-reason": REASON})
    assert late.status_code == 409
    assert "carries no copy warning to lift" in late.text and f"Your reason, not saved: {REASON}" in late.text
    lifted = db.exec(select(AuditEvent).where(AuditEvent.action == "batch.clear_copy_warning")).all()
    assert [event.reason for event in lifted] == ["同事先解除"]


def test_a_lifting_needs_a_reason(client, login_as, labelled, case, db):
    _, codes = labelled
    for _ in range(21):
        scan(client, codes[2])
    desk = login_as("regulator")
    refused = lift(desk, case, reason="")
    assert refused.status_code == 422 and "解除复制预警：请填写原因。" in refused.text
    too_long = desk.post(f"/regulator/reports/{case.id}/copy-warning?lang=en", data={"copy-reason": "误" * 1001})
    assert too_long.status_code == 422
    box = too_long.text.split(f'action="/regulator/reports/{case.id}/copy-warning"')[1].split("</form>")[0]
    assert "误" * 1001 + "</textarea>" in box and "Field cannot be longer than 1000 characters." in box
    assert scan(client, codes[2])["verdict"] == "warning"


@pytest.mark.parametrize("who", [None, "coop", "admin"])
def test_only_regulators_lift_a_copy_warning(client, login_as, labelled, case, who):
    _, codes = labelled
    for _ in range(21):
        scan(client, codes[2])
    response = lift(login_as(who), case)
    assert response.status_code == (302 if who is None else 403)
    if who is None:
        assert "/login" in response.location
    assert scan(client, codes[2])["verdict"] == "warning"


def test_a_batch_codes_overscan_warning_can_be_lifted_too(client, login_as, make_batch, keys, db, file_report):
    batch = make_batch(quantity=1.0)  # a label quota of 2: the batch code warns past 4 scans
    batches.issue_labels(session=db, batch=batch, count=2, keys=keys, actor=None)
    db.commit()
    code = batches.label_for(batch=batch, serial=0, keys=keys, base_url="").code
    for _ in range(5):
        last = scan(client, code)
    assert last["reasons"] == ["batch_code_overscanned"]
    case = file_report(reports.ReportInput(description="批次码被反复查询", code=code))
    assert lift(login_as("regulator"), case).status_code == 302
    assert scan(client, code)["verdict"] == "genuine"


def test_a_place_shared_for_a_scan_from_before_the_lifting_is_no_evidence(client, login_as, labelled, case, db, keys):
    batch, codes = labelled
    scan(client, codes[2], "?lat=39.90&lon=116.40")  # Beijing
    scan(client, codes[2], "?lat=30.12&lon=104.63", environ_base=ELSEWHERE)  # Ziyang: seen far apart
    unplaced = verification.verify(session=db, code=codes[2], keys=keys, rules=RULES, ip_hash="third-phone")
    db.commit()
    assert lift(login_as("regulator"), case).status_code == 302
    shared = verification.share_place(
        session=db, scan_id=unplaced.scan_id, latitude=23.13, longitude=113.26, rules=RULES
    )
    db.commit()
    assert shared.stored and not shared.seen_far_apart  # Guangzhou, but judged against ruled-out places: no
    # Nor when the tally was read before the lifting committed (another request's place, shared meanwhile).
    made_at = db.get(Scan, unplaced.scan_id).at
    verification.mark_far_apart(session=db, batch_id=batch.id, serial=2, at=made_at)
    db.commit()
    db.expire_all()
    assert db.get(ScanTally, (batch.id, 2)).far_apart_at is None
    assert scan(client, codes[2])["verdict"] == "genuine"


def test_the_api_lifts_a_reported_labels_warning_as_the_case_page_does(client, token_for, labelled, case):
    batch, codes = labelled
    for _ in range(21):
        scan(client, codes[2])
    url = f"/api/v1/reports/{case.tracking_no}/copy-warning/lift"
    assert client.post(url, json={"reason": REASON}, headers=token_for("admin")).status_code == 403
    assert client.post(url, json={}, headers=token_for("regulator")).status_code == 422
    lifted = client.post(url, json={"reason": REASON}, headers=token_for("regulator"))
    assert lifted.status_code == 200
    assert lifted.json == {"batch_no": batch.batch_no, "serial": 2, "cleared_count": 21}
    assert scan(client, codes[2])["verdict"] == "genuine"
    again = client.post(url, json={"reason": REASON}, headers=token_for("regulator"))
    assert again.status_code == 409 and again.json["error"]["code"] == "no_copy_warning"
