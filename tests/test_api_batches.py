"""The batches and labels API: GI rules as status codes, outputs, and one cooperative never reaching another's."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
import zxingcpp
from PIL import Image

from gi_registry.domain import batches, registry
from tests.test_labels import content_streams

BODY = {
    "product_code": "anyue-lemon",
    "quantity": 100,
    "unit": "kg",
    "harvested_on": "2026-10-01",
    "origin_code": "512021126",
}


def error_of(response) -> dict:
    return response.json["error"]


def test_a_cooperative_registers_a_batch(client, token_for):
    response = client.post("/api/v1/batches", json=BODY, headers=token_for("coop"))
    assert response.status_code == 201, response.json
    assert response.json["batch_no"].startswith("AY-2026-") and response.json["status"] == "active"
    assert response.json["label_quota"] == 200 and response.json["labels_issued"] == 0


def test_a_registration_retried_with_its_idempotency_key_makes_one_batch(client, token_for):
    """A retry after an answer lost on a bad line: the same key and body answer with the first batch."""
    coop = {**token_for("coop"), "Idempotency-Key": '"harvest-2026-10-01"'}
    first = client.post("/api/v1/batches", json=BODY, headers=coop)
    again = client.post("/api/v1/batches", json=BODY, headers=coop)
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert client.get("/api/v1/batches", headers=coop).json["total"] == 1
    other_key = client.post("/api/v1/batches", json=BODY, headers={**coop, "Idempotency-Key": "harvest-2"})
    without = client.post("/api/v1/batches", json=BODY, headers=token_for("coop"))
    assert other_key.status_code == without.status_code == 201  # a new key, or none, is a new batch
    assert client.get("/api/v1/batches", headers=coop).json["total"] == 3


def test_an_idempotency_key_spent_on_another_request_is_422_and_registers_nothing(client, token_for):
    coop = {**token_for("coop"), "Idempotency-Key": "k-1"}
    first = client.post("/api/v1/batches", json=BODY, headers=coop)
    changed = client.post("/api/v1/batches", json={**BODY, "quantity": 90}, headers=coop)
    assert changed.status_code == 422 and error_of(changed)["code"] == "idempotency_key_reused"
    assert first.json["batch_no"] in error_of(changed)["message"]
    assert client.get("/api/v1/batches", headers=coop).json["total"] == 1


def test_two_cooperatives_idempotency_keys_never_meet(client, token_for):
    cocoon = {**BODY, "product_code": "lezhi-cocoon", "origin_code": "512022", "unit": "kg"}
    mine = client.post("/api/v1/batches", json=BODY, headers={**token_for("coop"), "Idempotency-Key": "same"})
    theirs = client.post("/api/v1/batches", json=cocoon, headers={**token_for("coop_b"), "Idempotency-Key": "same"})
    assert mine.status_code == theirs.status_code == 201, theirs.json
    assert "Idempotent-Replayed" not in theirs.headers and theirs.json["id"] != mine.json["id"]


@pytest.mark.parametrize("key", ["", '""', "x" * 256, "ключ", "tab\there"])
def test_a_malformed_idempotency_key_is_400_before_anything_is_written(client, token_for, key):
    response = client.post("/api/v1/batches", json=BODY, headers={**token_for("coop"), "Idempotency-Key": key})
    assert response.status_code == 400 and error_of(response)["code"] == "bad_idempotency_key"
    assert client.get("/api/v1/batches", headers=token_for("coop")).json["total"] == 0


def looked_too_early(monkeypatch) -> list:
    """The next request's first look-up runs before the other request's commit: it finds nothing."""
    looked = []
    real = batches.registered_by_key

    def too_early(**kwargs):
        looked.append(kwargs["keyed"])
        return None if len(looked) == 1 else real(**kwargs)

    monkeypatch.setattr(batches, "registered_by_key", too_early)
    return looked


def test_an_idempotent_registration_sent_twice_at_once_still_makes_one_batch(client, token_for, monkeypatch):
    """The second request looked before the first committed: the unique index stops it, and it replays."""
    coop = {**token_for("coop"), "Idempotency-Key": "race"}
    first = client.post("/api/v1/batches", json=BODY, headers=coop)
    looked = looked_too_early(monkeypatch)
    again = client.post("/api/v1/batches", json=BODY, headers=coop)
    assert again.status_code == 201 and again.json["id"] == first.json["id"] and len(looked) == 2
    assert client.get("/api/v1/batches", headers=coop).json["total"] == 1


def test_one_idempotency_key_with_two_requests_at_once_makes_one_batch(client, token_for, monkeypatch):
    """The key alone is unique: the second request, another body, is refused rather than registered."""
    coop = {**token_for("coop"), "Idempotency-Key": "race"}
    first = client.post("/api/v1/batches", json=BODY, headers=coop)
    looked_too_early(monkeypatch)
    other = client.post("/api/v1/batches", json={**BODY, "quantity": 90}, headers=coop)
    assert other.status_code == 422 and error_of(other)["code"] == "idempotency_key_reused"
    assert first.json["batch_no"] in error_of(other)["message"]
    assert client.get("/api/v1/batches", headers=coop).json["total"] == 1


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"product_code": "lezhi-cocoon", "origin_code": "512022"}, 403, "licence_inactive"),
        ({"origin_code": "512002001"}, 422, "origin_outside_area"),
        ({"quantity": 0}, 422, "invalid_fields"),
        ({"quantity": "many"}, 422, "invalid_fields"),
        ({"unit": "crate"}, 422, "invalid_fields"),
        ({"harvested_on": "2026-13-01"}, 422, "invalid_fields"),
        ({"harvested_on": date.today().replace(year=date.today().year + 1).isoformat()}, 422, "invalid_batch"),
        ({"product_code": None}, 422, "invalid_fields"),
    ],
)
def test_the_gi_rules_answer_with_their_codes(client, token_for, changes, status, code):
    response = client.post("/api/v1/batches", json={**BODY, **changes}, headers=token_for("coop"))
    assert response.status_code == status and error_of(response)["code"] == code
    listing = client.get("/api/v1/batches", headers=token_for("coop")).json
    assert listing["total"] == 0


# 2026-10-01 in the shapes pydantic's own date would take: the contract's dates are strings YYYY-MM-DD.
NOT_A_DATE = [1790812800, "1790812800", "2026-10-01T00:00:00", "20261001", "2026-10-1", "２０２６-10-01", None]


@pytest.mark.parametrize("harvested_on", NOT_A_DATE, ids=repr)
def test_a_harvest_date_is_a_string_yyyy_mm_dd_and_nothing_else(client, token_for, harvested_on):
    response = client.post("/api/v1/batches", json={**BODY, "harvested_on": harvested_on}, headers=token_for("coop"))
    assert response.status_code == 422 and error_of(response)["code"] == "invalid_fields"
    assert error_of(response)["fields"] == {"harvested_on": "a date as YYYY-MM-DD"}
    assert client.get("/api/v1/batches", headers=token_for("coop")).json["total"] == 0


@pytest.mark.parametrize("harvested_on", NOT_A_DATE, ids=repr)
def test_a_corrected_harvest_date_is_a_string_yyyy_mm_dd_too(client, token_for, make_batch, harvested_on):
    batch = make_batch()
    body = {"harvested_on": harvested_on, "reason": "日期有误"}
    response = client.patch(f"/api/v1/batches/{batch.id}", json=body, headers=token_for("coop"))
    assert response.status_code == 422 and error_of(response)["fields"] == {"harvested_on": "a date as YYYY-MM-DD"}


def test_labels_issue_within_the_quota_and_past_it_is_422(client, token_for, make_batch):
    batch = make_batch(quantity=10)  # quota 20
    coop = token_for("coop")
    first = client.post(f"/api/v1/batches/{batch.id}/labels", json={"count": 12}, headers=coop)
    assert first.status_code == 201 and first.json == {"first_serial": 1, "last_serial": 12, "count": 12}
    over = client.post(f"/api/v1/batches/{batch.id}/labels", json={"count": 9}, headers=coop)
    assert over.status_code == 422 and error_of(over)["code"] == "label_quota_exceeded"
    assert error_of(over)["fields"] == {"count": "at most 8 more"}  # the placeholder filled, in English
    for bad in ({"count": 0}, {"count": "5"}, {"count": 1.5}, {}):
        assert client.post(f"/api/v1/batches/{batch.id}/labels", json=bad, headers=coop).status_code == 422


@pytest.mark.parametrize("kind", ["csv", "pdf"])
def test_paging_out_of_range_is_422_for_every_format_of_the_labels(client, token_for, labelled, kind):
    """The description declares page and per_page for the labels whatever the format, as it does the grid."""
    batch, _ = labelled
    for query in ("page=0", "per_page=0", "per_page=1001", "page=x"):
        refused = client.get(f"/api/v1/batches/{batch.id}/labels?format={kind}&{query}", headers=token_for("coop"))
        assert refused.status_code == 422 and error_of(refused)["code"] == "invalid_query", query


def test_a_count_written_as_a_whole_float_is_the_integer_the_description_admits(client, token_for, make_batch):
    """JSON Schema's integer is any number without a fraction, 2.0 too (a Python client's json.dumps(4 / 2));
    true and "2" stay refused."""
    batch = make_batch(quantity=10)
    coop = token_for("coop")
    issued = client.post(f"/api/v1/batches/{batch.id}/labels", json={"count": 2.0, "labels_issued": 0.0}, headers=coop)
    assert issued.status_code == 201 and issued.json == {"first_serial": 1, "last_serial": 2, "count": 2}
    seen = [{"count": 2, "labels_issued": value} for value in (1.5, -1.0)]
    for bad in ({"count": True}, {"count": "2"}, {"count": 2.5}, {"count": 1e300}, *seen):
        assert client.post(f"/api/v1/batches/{batch.id}/labels", json=bad, headers=coop).status_code == 422, bad


def test_labels_asked_for_with_the_count_seen_are_issued_once_however_often_sent(client, token_for, make_batch):
    batch = make_batch(quantity=10)
    coop = token_for("coop")
    ask = {"count": 5, "labels_issued": 0}
    first = client.post(f"/api/v1/batches/{batch.id}/labels", json=ask, headers=coop)
    again = client.post(f"/api/v1/batches/{batch.id}/labels", json=ask, headers=coop)
    assert first.status_code == 201 and first.json["last_serial"] == 5
    assert again.status_code == 409 and error_of(again)["code"] == "labels_issued_meanwhile"
    assert error_of(again)["message"] == "labels were issued meanwhile (5 in all now), so none were issued this time"
    assert client.get(f"/api/v1/batches/{batch.id}", headers=coop).json["labels_issued"] == 5
    more = client.post(f"/api/v1/batches/{batch.id}/labels", json={"count": 5, "labels_issued": 5}, headers=coop)
    assert more.status_code == 201 and more.json["first_serial"] == 6
    wrong = client.post(f"/api/v1/batches/{batch.id}/labels", json={"count": 1, "labels_issued": 50}, headers=coop)
    assert wrong.status_code == 409 and error_of(wrong)["code"] == "labels_issued_mismatch"
    assert error_of(wrong)["message"] == "the batch has 10 labels issued, not 50, so none were issued this time"


def test_a_withdrawn_product_takes_no_batch_and_no_labels_through_the_api(client, token_for, world, make_batch, db):
    batch = make_batch()
    world["lemon"].status = "withdrawn"
    db.add(world["lemon"])
    db.commit()
    coop = token_for("coop")
    refused = client.post("/api/v1/batches", json=BODY, headers=coop)
    assert refused.status_code == 422 and error_of(refused)["fields"] == {"product_code": "the product is withdrawn"}
    labels = client.post(f"/api/v1/batches/{batch.id}/labels", json={"count": 1}, headers=coop)
    assert labels.status_code == 409 and error_of(labels)["code"] == "product_withdrawn"


def test_labels_list_as_paginated_json_and_as_csv(client, token_for, make_batch, keys, db):
    batch = make_batch()
    batches.issue_labels(session=db, batch=batch, count=7, keys=keys, actor=None)
    db.commit()
    coop = token_for("coop")
    page = client.get(f"/api/v1/batches/{batch.id}/labels?format=json&per_page=3&page=3", headers=coop).json
    assert page["total"] == 7 and [x["serial"] for x in page["items"]] == [7]
    label = page["items"][0]
    assert label["url"] == f"HTTP://GI.TEST/Q/{label['code']}"
    # The licensee has a GTIN: the same label as a signed GS1 Digital Link, which resolves to it.
    assert label["gs1_url"] == f"http://gi.test/01/06901234000016/10/{batch.batch_no}/21/7?8030={label['code']}"
    assert "正品" in client.get(label["gs1_url"].removeprefix("http://gi.test")).text
    response = client.get(f"/api/v1/batches/{batch.id}/labels?format=csv", headers=coop)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.mimetype == "text/csv" and [int(r["serial"]) for r in rows] == list(range(1, 8))
    assert rows[-1]["gs1_url"] == label["gs1_url"]
    assert client.get(f"/api/v1/batches/{batch.id}/labels?format=xml", headers=coop).status_code == 422


def test_the_pdf_sheet_streams_a_pdf(client, token_for, make_batch, keys, db):
    batch = make_batch()
    batches.issue_labels(session=db, batch=batch, count=70, keys=keys, actor=None)
    db.commit()
    response = client.get(f"/api/v1/batches/{batch.id}/labels?format=pdf&grid=a4-65", headers=token_for("admin"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.is_streamed and response.data.startswith(b"%PDF") and response.data.rstrip().endswith(b"%%EOF")
    assert (
        client.get(f"/api/v1/batches/{batch.id}/labels?format=pdf&grid=a3-1", headers=token_for("admin")).status_code
        == 422
    )


def test_the_api_prints_a_range_of_serials_led_by_the_batch_code_as_the_page_does(client, token_for, labelled):
    batch, _codes = labelled
    query = "format=pdf&grid=a4-24&first=3&last=4&batch_code=1"
    sheet = client.get(f"/api/v1/batches/{batch.id}/labels?{query}", headers=token_for("coop"))
    assert sheet.status_code == 200
    words = re.findall(r"/ActualText <feff([0-9a-f]*)>", content_streams(sheet.data))
    printed = {bytes.fromhex(word).decode("utf-16-be") for word in words}
    assert {"批次码", "No. 000003", "No. 000004"} <= printed and "No. 000005" not in printed
    backwards = client.get(f"/api/v1/batches/{batch.id}/labels?format=pdf&first=4&last=3", headers=token_for("coop"))
    assert backwards.status_code == 422 and backwards.json["error"]["code"] == "empty_range"


def test_the_batch_qr_png_decodes_to_the_batch_url_and_the_svg_is_svg(client, token_for, make_batch):
    batch = make_batch()
    coop = token_for("coop")
    detail = client.get(f"/api/v1/batches/{batch.id}", headers=coop).json
    png = client.get(f"/api/v1/batches/{batch.id}/qr.png", headers=coop)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert [d.text for d in decoded] == [detail["batch_url"]]
    assert png.headers["Content-Disposition"] == f'inline; filename="{batch.batch_no}-qr.png"'
    svg = client.get(f"/api/v1/batches/{batch.id}/qr.svg", headers=coop)
    assert svg.mimetype == "image/svg+xml" and svg.text.lstrip().startswith(("<svg", "<?xml"))


def test_recall_by_its_cooperative_and_by_a_regulator(client, token_for, make_batch):
    mine, other = make_batch(), make_batch()
    assert (
        client.post(f"/api/v1/batches/{mine.id}/recall", json={"reason": "农残"}, headers=token_for("coop")).json[
            "status"
        ]
        == "recalled"
    )
    assert (
        client.post(f"/api/v1/batches/{other.id}/recall", json={"reason": "抽检"}, headers=token_for("regulator")).json[
            "status"
        ]
        == "recalled"
    )
    again = client.post(f"/api/v1/batches/{mine.id}/recall", json={"reason": "x"}, headers=token_for("coop"))
    assert again.status_code == 409
    assert (
        client.post(f"/api/v1/batches/{mine.id}/recall", json={"reason": "x"}, headers=token_for("admin")).status_code
        == 403
    )


# Every batch endpoint: another cooperative gets 404, as if the batch did not exist.
BATCH_ENDPOINTS = [
    ("GET", "/api/v1/batches/{id}", None),
    ("GET", "/api/v1/batches/{id}/labels?format=json", None),
    ("GET", "/api/v1/batches/{id}/labels?format=csv", None),
    ("GET", "/api/v1/batches/{id}/labels?format=pdf", None),
    ("GET", "/api/v1/batches/{id}/qr.png", None),
    ("GET", "/api/v1/batches/{id}/qr.svg", None),
    ("POST", "/api/v1/batches/{id}/labels", {"count": 1}),
    ("POST", "/api/v1/batches/{id}/recall", {"reason": "not yours"}),
    ("PATCH", "/api/v1/batches/{id}", {"quantity": 5, "reason": "not yours"}),
]


@pytest.mark.parametrize(("method", "path", "body"), BATCH_ENDPOINTS)
def test_another_cooperative_gets_404_everywhere_and_changes_nothing(
    client, token_for, make_batch, db, keys, method, path, body
):
    batch = make_batch()
    batches.issue_labels(session=db, batch=batch, count=2, keys=keys, actor=None)
    db.commit()
    response = client.open(path.format(id=batch.id), method=method, json=body, headers=token_for("coop_b"))
    assert response.status_code == 404
    db.refresh(batch)
    assert (batch.status, batch.labels_issued, batch.quantity) == ("active", 2, 100.0)


@pytest.mark.parametrize("who", ["coop", "regulator"])
def test_the_batches_list_runs_as_many_queries_for_many_batches_as_for_one(
    client, token_for, make_batch, statements, who
):
    headers = token_for(who)
    make_batch()
    client.get("/api/v1/batches", headers=headers)
    with statements() as one:
        assert client.get("/api/v1/batches", headers=headers).json["total"] == 1
    for _ in range(9):
        make_batch()
    with statements() as ten:
        listing = client.get("/api/v1/batches", headers=headers).json
    assert listing["total"] == 10 and {item["product_code"] for item in listing["items"]} == {"anyue-lemon"}
    assert len(ten) == len(one), "queries per batch listed"


def test_another_cooperatives_batches_are_not_listed(client, token_for, make_batch):
    make_batch()
    assert client.get("/api/v1/batches", headers=token_for("coop_b")).json["total"] == 0
    assert client.get("/api/v1/batches", headers=token_for("regulator")).json["total"] == 1


def test_the_batch_number_search_reads_full_width_letters_and_any_dash(client, token_for, make_batch):
    lemon = make_batch()
    found = client.get("/api/v1/batches", query_string={"q": "ＡＹ－２０２６—000001"}, headers=token_for("coop"))
    assert [item["batch_no"] for item in found.json["items"]] == [lemon.batch_no]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/api/v1/batches", {"coop"}),
        ("GET", "/api/v1/batches", {"coop", "admin", "regulator"}),
        ("POST", "/api/v1/batches/{id}/labels", {"coop"}),
        ("GET", "/api/v1/batches/{id}/qr.png", {"coop", "admin", "regulator"}),
        ("POST", "/api/v1/batches/{id}/recall", {"coop", "regulator"}),
        ("PATCH", "/api/v1/batches/{id}", {"coop"}),
    ],
)
@pytest.mark.parametrize("who", [None, "coop", "regulator", "admin"])
def test_batch_gates_by_role(client, token_for, make_batch, method, path, allowed, who):
    batch = make_batch()
    response = client.open(path.format(id=batch.id), method=method, json={}, headers=token_for(who) if who else {})
    if who is None:
        assert response.status_code == 401
    elif who not in allowed:
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 422)


def test_a_batch_reads_back_with_its_notes(client, token_for):
    created = client.post("/api/v1/batches", json={**BODY, "notes": "雨后采摘"}, headers=token_for("coop"))
    assert created.json["notes"] == "雨后采摘"
    read = client.get(f"/api/v1/batches/{created.json['id']}", headers=token_for("regulator"))
    assert read.json["notes"] == "雨后采摘"
    spec = client.get("/api/v1/openapi.json").json
    assert "notes" in spec["components"]["schemas"]["BatchPublic"]["required"]


def test_a_harvest_dated_0026_is_422_naming_the_date(client, token_for):
    response = client.post("/api/v1/batches", json={**BODY, "harvested_on": "0026-10-01"}, headers=token_for("coop"))
    assert response.status_code == 422 and error_of(response)["fields"] == {
        "harvested_on": "before 2000-01-01: check the year"
    }


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        (True, "invalid_fields"),  # a JSON true is no quantity, though Python counts it as 1
        ("100", "invalid_fields"),
        (0.4, "invalid_batch"),  # under one 0.5 kg label
        (5000.001, "invalid_batch"),  # tonnes: past 10,000,000 labels
    ],
)
def test_a_quantity_must_be_a_number_giving_one_to_ten_million_labels(client, token_for, quantity, code):
    unit = "t" if quantity == 5000.001 else "kg"
    body = {**BODY, "quantity": quantity, "unit": unit}
    response = client.post("/api/v1/batches", json=body, headers=token_for("coop"))
    assert response.status_code == 422 and error_of(response)["code"] == code
    assert list(error_of(response)["fields"]) == ["quantity"]


def test_ten_million_labels_is_the_largest_batch(client, token_for):
    body = {**BODY, "quantity": 5000, "unit": "t"}
    response = client.post("/api/v1/batches", json=body, headers=token_for("coop"))
    assert response.status_code == 201 and response.json["label_quota"] == 10_000_000


@pytest.mark.parametrize(
    ("who", "kind", "status"),
    [("coop", "json", 409), ("coop", "csv", 409), ("coop", "pdf", 409), ("regulator", "pdf", 409)]
    + [("regulator", "json", 200), ("regulator", "csv", 200), ("admin", "json", 200)],
)
def test_a_recalled_batch_prints_for_nobody_and_lists_its_codes_to_staff_only(
    client, token_for, labelled, db, who, kind, status
):
    batch, _ = labelled
    batches.recall_batch(session=db, batch=batch, reason="农残超标", actor=None)
    db.commit()
    answer = client.get(f"/api/v1/batches/{batch.id}/labels?format={kind}", headers=token_for(who))
    assert answer.status_code == status
    if status == 409:
        assert error_of(answer)["code"] == "batch_recalled"
    assert client.get(f"/api/v1/batches/{batch.id}/qr.svg", headers=token_for(who)).status_code == 200


def test_an_unknown_status_filter_is_422_not_an_empty_list(client, token_for, make_batch):
    make_batch()
    staff = token_for("regulator")
    bogus = client.get("/api/v1/batches?status=bogus", headers=staff)
    assert bogus.status_code == 422 and error_of(bogus)["code"] == "invalid_query"
    assert error_of(bogus)["fields"] == {"status": "active, recalled"}
    assert client.get("/api/v1/batches?status=active", headers=staff).json["total"] == 1


@pytest.mark.parametrize(
    "path", ["/api/v1/batches?status=", "/api/v1/reports?status=", "/api/v1/batches/{id}/labels?format=pdf&batch_code="]
)
def test_an_empty_choice_is_422_as_the_description_says(client, token_for, make_batch, path):
    """The description gives these parameters an enum without "", so a client sending ?status= is told."""
    batch = make_batch()
    empty = client.get(path.format(id=batch.id), headers=token_for("regulator"))
    assert empty.status_code == 422 and error_of(empty)["code"] == "invalid_query"
    name = path.rpartition("&")[2].rpartition("?")[2].removesuffix("=")
    assert list(error_of(empty)["fields"]) == [name]


def test_an_unknown_product_filter_is_422_not_an_empty_list(client, token_for, make_batch):
    make_batch()
    staff = token_for("regulator")
    nope = client.get("/api/v1/batches?product=nope", headers=staff)
    assert nope.status_code == 422 and error_of(nope)["code"] == "invalid_query"
    assert error_of(nope)["fields"] == {"product": "unknown product"}
    assert client.get("/api/v1/batches?product=anyue-lemon", headers=staff).json["total"] == 1
    assert client.get("/api/v1/batches?product=lezhi-cocoon", headers=staff).json["total"] == 0  # known, none


def test_a_cooperative_corrects_a_batch_and_only_the_details_it_sends_change(client, token_for, make_batch):
    batch = make_batch(quantity=100.0)
    body = {"quantity": 80.5, "grade": "一级", "reason": "称重有误"}
    response = client.patch(f"/api/v1/batches/{batch.id}", json=body, headers=token_for("coop"))
    assert response.status_code == 200, response.json
    corrected = response.json
    assert (corrected["quantity"], corrected["grade"], corrected["label_quota"]) == (80.5, "一级", 161)
    assert (corrected["harvested_on"], corrected["origin_code"]) == ("2026-10-01", "512021126")


AFTER_TOMORROW = (date.today() + timedelta(days=2)).isoformat()  # the future in China's time zone too


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"quantity": 80}, 422, "invalid_fields"),  # no reason
        ({"origin_code": "512022", "reason": "r"}, 422, "origin_outside_area"),
        ({"harvested_on": AFTER_TOMORROW, "reason": "r"}, 422, "invalid_correction"),  # the future
        ({"product_code": "lezhi-cocoon", "reason": "r"}, 422, "invalid_fields"),  # a batch keeps its product
        ({"quantity": "80", "reason": "r"}, 422, "invalid_fields"),
    ],
)
def test_a_correction_the_rules_refuse_answers_with_its_code(client, token_for, make_batch, body, status, code):
    batch = make_batch()
    response = client.patch(f"/api/v1/batches/{batch.id}", json=body, headers=token_for("coop"))
    assert response.status_code == status and error_of(response)["code"] == code


def test_after_labels_what_consumers_read_is_409_and_the_quantity_keeps_room_for_them(client, token_for, labelled):
    batch, _codes = labelled  # 10 labels issued
    headers = token_for("coop")
    for body in ({"origin_code": "512021100"}, {"harvested_on": "2030-01-01"}, {"unit": "t"}):
        moved = client.patch(f"/api/v1/batches/{batch.id}", json={**body, "reason": "r"}, headers=headers)
        (name,) = body
        assert moved.status_code == 409 and error_of(moved)["fields"] == {name: "fixed once labels are issued"}
    shrunk = client.patch(f"/api/v1/batches/{batch.id}", json={"quantity": 4, "reason": "r"}, headers=headers)
    assert shrunk.status_code == 422 and error_of(shrunk)["fields"] == {
        "quantity": "at least 5 kg for the 10 labels already issued"
    }


def test_a_null_detail_is_refused_not_read_as_unchanged(client, token_for, make_batch, db):
    batch = make_batch()
    batch.grade = "一级"
    db.add(batch)
    db.commit()
    response = client.patch(
        f"/api/v1/batches/{batch.id}", json={"grade": None, "reason": "r"}, headers=token_for("coop")
    )
    assert response.status_code == 422 and "grade" in error_of(response)["fields"]
    cleared = client.patch(f"/api/v1/batches/{batch.id}", json={"grade": "", "reason": "r"}, headers=token_for("coop"))
    assert cleared.status_code == 200 and cleared.json["grade"] == ""


def test_a_recalled_batch_is_not_corrected_through_the_api(client, token_for, make_batch, db):
    batch = make_batch()
    batches.recall_batch(session=db, batch=batch, reason="r", actor=None)
    db.commit()
    response = client.patch(
        f"/api/v1/batches/{batch.id}", json={"notes": "x", "reason": "r"}, headers=token_for("coop")
    )
    assert response.status_code == 409 and error_of(response)["code"] == "batch_recalled"


def test_a_batch_under_a_suspended_licence_is_not_corrected_through_the_api(client, token_for, make_batch, db, world):
    batch = make_batch(quantity=10.0)
    registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="r", actor=None)
    db.commit()
    response = client.patch(
        f"/api/v1/batches/{batch.id}", json={"quantity": 1000, "reason": "r"}, headers=token_for("coop")
    )
    assert response.status_code == 403 and error_of(response)["code"] == "licence_inactive"
    db.refresh(batch)
    assert batch.quantity == 10.0
