"""The registry's JSON API: tokens, products, licensees, licences, and its error shape."""

from datetime import date, datetime

import pytest
from sqlmodel import select

from gi_registry.domain import accounts, registry
from gi_registry.models import AuditEvent, Licence, Licensee

NEW_LICENSEE = {"name": "雁江蜜柑合作社", "uscc": "93512002MA6Y10M03N", "county": "512002"}


def error_of(response) -> dict:
    assert set(response.json) == {"error"}, response.json
    return response.json["error"]


def test_a_token_comes_from_a_right_password_and_only_from_it(client, world):
    ok = client.post("/api/v1/tokens", json={"email": "ADMIN@test.cn", "password": "correct-horse-42"})
    assert (
        ok.status_code == 201
        and ok.json["role"] == "admin"
        and datetime.fromisoformat(ok.json["expires_at"]).tzinfo is not None
    )
    wrong = client.post("/api/v1/tokens", json={"email": "admin@test.cn", "password": "wrong-horse-42"})
    assert wrong.status_code == 401 and error_of(wrong)["code"] == "invalid_credentials"
    spaced = client.post("/api/v1/tokens", json={"email": " admin@test.cn ", "password": " correct-horse-42"})
    assert spaced.status_code == 401  # a space is a character of the password, as on the login form


def test_a_password_with_spaces_at_its_ends_logs_in_by_the_api_as_by_the_form(client, db, world):
    accounts.create_user(session=db, email="space@test.cn", password="  Correct-Horse-42  ", role="regulator")
    db.commit()
    typed = {"email": "space@test.cn", "password": "  Correct-Horse-42  "}
    assert client.post("/api/v1/tokens", json=typed).status_code == 201
    assert client.post("/api/v1/tokens", json={**typed, "password": "Correct-Horse-42"}).status_code == 401
    assert client.post("/login", data=typed).status_code == 302


def test_a_forged_or_missing_token_is_401(client, world):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        refused = client.post("/api/v1/licensees", json=NEW_LICENSEE, headers=headers)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_method_the_address_does_not_take_is_405_naming_those_it_does(client, world):
    refused = client.delete("/api/v1/reports")
    assert refused.status_code == 405 and refused.json["error"]["code"] == "method_not_allowed"
    assert set(refused.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert "Allow" in client.put("/report").headers  # pages too


def test_products_list_with_their_areas(client, world):
    items = client.get("/api/v1/products").json["items"]
    lemon = next(p for p in items if p["code"] == "anyue-lemon")
    assert lemon["kind"] == "gi_product" and lemon["name"] == "安岳柠檬"
    assert lemon["production_area"] == [{"code": "512021", "name": "安岳县"}]


def test_the_directory_searches_by_name_uscc_and_product(client, world):
    by_name = client.get("/api/v1/licensees?q=柠檬").json
    assert [x["uscc"] for x in by_name["items"]] == [world["coop_a"].uscc]
    by_code = client.get("/api/v1/licensees?q=93512022").json
    assert [x["name"] for x in by_code["items"]] == ["乐至蚕桑合作社"]
    by_product = client.get("/api/v1/licensees?product=lezhi-cocoon").json
    assert by_product["total"] == 1 and by_product["items"][0]["licences"][0]["status"] == "active"


def test_the_directory_refuses_an_unknown_product_rather_than_list_nobody(client, world):
    nope = client.get("/api/v1/licensees?product=nope")
    assert nope.status_code == 422 and error_of(nope)["code"] == "invalid_query"
    assert error_of(nope)["fields"] == {"product": "unknown product"}


def test_the_directory_paginates(client, world):
    page = client.get("/api/v1/licensees?per_page=1&page=2").json
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (2, 2, 1, 1)


def test_admin_creates_a_licensee_and_grants_a_licence(client, token_for, db):
    admin = token_for("admin")
    created = client.post("/api/v1/licensees", json=NEW_LICENSEE, headers=admin)
    assert created.status_code == 201 and created.json["uscc"] == NEW_LICENSEE["uscc"]
    granted = client.post(
        f"/api/v1/licensees/{created.json['id']}/licences",
        headers=admin,
        json={"product_code": "anyue-lemon", "valid_from": "2026-01-01", "valid_to": "2028-12-31"},
    )
    assert granted.status_code == 201 and granted.json["status"] == "active"
    assert granted.json["in_force"] is (date.fromisoformat("2026-01-01") <= registry.registry_today())


def test_a_licence_whose_term_begins_later_is_active_but_not_yet_in_force(client, token_for, world):
    # The contract knows four states; whether the term has begun is a separate fact.
    admin = token_for("admin")
    granted = client.post(
        f"/api/v1/licensees/{world['coop_b'].id}/licences",
        headers=admin,
        json={"product_code": "anyue-lemon", "valid_from": "2099-01-01", "valid_to": "2099-12-31"},
    )
    assert granted.status_code == 201
    assert (granted.json["status"], granted.json["in_force"]) == ("active", False)


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({**NEW_LICENSEE, "uscc": "93512002MA6Y10M03A"}, 422, "invalid_licensee", "uscc"),
        ({**NEW_LICENSEE, "county": "999999"}, 422, "invalid_licensee", "county"),
        ({**NEW_LICENSEE, "uscc": "93512021MA6AY0L018"}, 409, "duplicate_licensee", "uscc"),
        ({"name": "x"}, 422, "invalid_fields", "uscc"),
        ({**NEW_LICENSEE, "extra": 1}, 422, "invalid_fields", "extra"),
    ],
)
def test_a_bad_licensee_is_refused_and_nothing_is_written(client, token_for, db, body, status, code, field):
    before = len(db.exec(select(Licensee)).all()), len(db.exec(select(AuditEvent)).all())
    response = client.post("/api/v1/licensees", json=body, headers=token_for("admin"))
    assert response.status_code == status
    assert error_of(response)["code"] == code and field in error_of(response)["fields"]
    assert (len(db.exec(select(Licensee)).all()), len(db.exec(select(AuditEvent)).all())) == before


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"product_code": "no-such", "valid_from": "2026-01-01", "valid_to": "2026-12-31"}, 422, "product_code"),
        ({"product_code": "anyue-lemon", "valid_from": "2026-12-31", "valid_to": "2026-01-01"}, 422, "valid_to"),
        ({"product_code": "anyue-lemon", "valid_from": "31/12/2026", "valid_to": "2026-01-01"}, 422, "valid_from"),
    ],
)
def test_a_bad_licence_is_refused_and_nothing_is_written(client, token_for, world, db, body, status, field):
    before = len(db.exec(select(Licence)).all())
    response = client.post(f"/api/v1/licensees/{world['coop_b'].id}/licences", json=body, headers=token_for("admin"))
    assert response.status_code == status and field in error_of(response)["fields"]
    assert len(db.exec(select(Licence)).all()) == before


@pytest.mark.parametrize("day", [4070908800, "4070908800", "2099-01-01T00:00:00", "20990101", "2099-1-01"], ids=repr)
@pytest.mark.parametrize("field", ["valid_from", "valid_to"])
def test_a_licence_term_is_dated_yyyy_mm_dd_and_nothing_else(client, token_for, world, db, day, field):
    """2099-01-01 as a Unix time or a datetime is what pydantic's own date takes, not the contract's date."""
    body = {"product_code": "anyue-lemon", "valid_from": "2099-01-01", "valid_to": "2099-12-31", field: day}
    before = len(db.exec(select(Licence)).all())
    response = client.post(f"/api/v1/licensees/{world['coop_b'].id}/licences", json=body, headers=token_for("admin"))
    assert response.status_code == 422 and error_of(response)["fields"] == {field: "a date as YYYY-MM-DD"}
    assert len(db.exec(select(Licence)).all()) == before


def test_malformed_bodies_get_400_or_415_not_500(client, token_for):
    admin = token_for("admin")
    not_json = client.post("/api/v1/licensees", data="name=x", headers=admin)
    assert not_json.status_code == 415 and error_of(not_json)["code"] == "unsupported_media_type"
    broken = client.post("/api/v1/licensees", data="{", content_type="application/json", headers=admin)
    assert broken.status_code == 400
    a_list = client.post("/api/v1/licensees", json=[1, 2], headers=admin)
    assert a_list.status_code == 400


def test_a_forbidden_state_change_is_409_and_an_allowed_one_200(client, token_for, world):
    regulator = token_for("regulator")
    path = f"/api/v1/licences/{world['licence_a'].id}"
    assert client.post(f"{path}/reinstate", json={"reason": "x"}, headers=regulator).status_code == 409
    suspended = client.post(f"{path}/suspend", json={"reason": "抽检不合格"}, headers=regulator)
    assert suspended.status_code == 200 and suspended.json["status"] == "suspended"
    assert client.post(f"{path}/revoke", json={"reason": "x"}, headers=regulator).json["status"] == "revoked"
    again = client.post(f"{path}/reinstate", json={"reason": "x"}, headers=regulator)
    assert again.status_code == 409 and error_of(again)["code"] == "transition_forbidden"


def test_an_unknown_licence_is_404(client, token_for):
    assert (
        client.post("/api/v1/licences/9999/suspend", json={"reason": "x"}, headers=token_for("admin")).status_code
        == 404
    )


# Every guarded endpoint, tried by every role: only the listed roles pass the gate.
GUARDED = [
    ("POST", "/api/v1/licensees", {"admin"}),
    ("POST", "/api/v1/licensees/{licensee}/licences", {"admin"}),
    ("POST", "/api/v1/licences/{licence}/suspend", {"admin", "regulator"}),
    ("POST", "/api/v1/licences/{licence}/reinstate", {"admin", "regulator"}),
    ("POST", "/api/v1/licences/{licence}/revoke", {"admin", "regulator"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), GUARDED)
@pytest.mark.parametrize("who", [None, "coop", "regulator", "admin"])
def test_each_api_gate_lets_only_its_roles_through(client, world, token_for, method, path, allowed, who):
    url = path.format(licensee=world["coop_b"].id, licence=world["licence_b"].id)
    headers = token_for(who) if who else {}
    response = client.open(url, method=method, json={}, headers=headers)
    if who is None:
        assert response.status_code == 401
    elif who not in allowed:
        assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
    else:
        assert response.status_code == 422  # past the gate, stopped by the empty body


def test_password_guessing_through_the_api_is_throttled_with_the_login_form(make_app, world):
    client = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute").test_client()
    wrong = {"email": "admin@test.cn", "password": "guess-guess-1"}
    statuses = [
        client.post("/login", data=wrong).status_code,
        client.post("/api/v1/tokens", json=wrong).status_code,
        client.post("/api/v1/tokens", json=wrong).status_code,
        client.post("/api/v1/tokens", json=wrong).status_code,
    ]
    assert statuses == [200, 401, 401, 429]


def test_every_time_in_an_answer_carries_its_zone(client, token_for, labelled):
    _, codes = labelled
    filed = client.post("/api/v1/reports", json={"description": "可疑的柠檬包装", "code": codes[1]}).json
    answers = [
        client.get(f"/api/v1/reports/{filed['tracking_no']}").json["updated_at"],
        client.get(f"/api/v1/verify/{codes[1]}").json["scans"]["first_at"],
        client.get("/api/v1/reports", headers=token_for("regulator")).json["items"][0]["created_at"],
    ]
    for answer in answers:
        assert datetime.fromisoformat(answer).utcoffset() is not None, answer


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "field"),
    [
        ("0026-01-01", "2026-12-31", "valid_from"),
        ("2026-01-01", "0026-12-31", "valid_to"),
        ("2026-01-01", "2057-01-01", "valid_to"),
    ],
)
def test_an_implausible_licence_term_is_422_naming_the_field(client, token_for, world, valid_from, valid_to, field):
    body = {"product_code": "anyue-lemon", "valid_from": valid_from, "valid_to": valid_to}
    response = client.post(f"/api/v1/licensees/{world['coop_b'].id}/licences", json=body, headers=token_for("admin"))
    assert response.status_code == 422 and error_of(response)["code"] == "invalid_licence"
    assert field in error_of(response)["fields"]


def test_a_uscc_pasted_in_groups_is_read_without_its_spaces(client, token_for, world):
    body = {**NEW_LICENSEE, "uscc": "93512002 MA6Y10 M03N"}
    created = client.post("/api/v1/licensees", json=body, headers=token_for("admin"))
    assert created.status_code == 201 and created.json["uscc"] == "93512002MA6Y10M03N"
    spaced = {**body, "uscc": "9351 2002 MA6Y 10M0 3N"}
    again = client.post("/api/v1/licensees", json=spaced, headers=token_for("admin"))
    assert again.status_code == 409 and error_of(again)["code"] == "duplicate_licensee"


def test_a_gtin_already_registered_to_another_licensee_is_409(client, token_for, world):
    body = {**NEW_LICENSEE, "gtin": world["coop_a"].gtin}
    response = client.post("/api/v1/licensees", json=body, headers=token_for("admin"))
    assert response.status_code == 409 and error_of(response)["code"] == "duplicate_gtin"
    assert error_of(response)["fields"] == {"gtin": "already registered"}


def test_a_licensee_posted_twice_at_once_answers_409_conflict(client, db, world, token_for, monkeypatch):
    monkeypatch.setattr(registry, "_check_licensee", lambda **_: None)  # the second request's checks ran first
    body = {**NEW_LICENSEE, "uscc": world["coop_a"].uscc}
    response = client.post("/api/v1/licensees", json=body, headers=token_for("admin"))
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert db.exec(select(Licensee).where(Licensee.name == NEW_LICENSEE["name"])).first() is None
