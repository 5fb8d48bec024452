"""The registry office's pages: who may open them, and what a bad form does (nothing)."""

import re
from datetime import date

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from gi_registry.domain import registry
from gi_registry.models import Licence, Licensee, Product

PAGES = [
    ("GET", "/admin/", {"admin", "regulator"}),
    ("GET", "/admin/products", {"admin"}),
    ("GET", "/admin/products/new", {"admin"}),
    ("GET", "/admin/products/{product}/edit", {"admin"}),
    ("POST", "/admin/products/new", {"admin"}),
    ("GET", "/admin/licensees", {"admin", "regulator"}),
    ("GET", "/admin/licensees/new", {"admin"}),
    ("POST", "/admin/licensees/new", {"admin"}),
    ("GET", "/admin/licensees/{licensee}", {"admin", "regulator"}),
    ("POST", "/admin/licensees/{licensee}", {"admin"}),
    ("GET", "/admin/licensees/{licensee}/edit", {"admin"}),
    ("GET", "/admin/licences/{licence}", {"admin", "regulator"}),
    ("POST", "/admin/licences/{licence}/suspend", {"admin", "regulator"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), PAGES)
@pytest.mark.parametrize("who", [None, "coop", "regulator", "admin"])
def test_each_admin_page_lets_only_its_roles_in(login_as, world, method, path, allowed, who):
    client = login_as(who)
    url = path.format(product=world["lemon"].id, licensee=world["coop_a"].id, licence=world["licence_a"].id)
    response = client.open(url, method=method, data={})
    if who is None:
        assert response.status_code == 302 and "/login?next=" in response.location
    elif who not in allowed:
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 303, 422), response.status_code


def test_admin_creates_a_licensee_through_the_form(login_as, db):
    client = login_as("admin")
    response = client.post(
        "/admin/licensees/new", data={"name": "雁江蜜柑合作社", "uscc": "93512002ma6y10m03n", "county_code": "512002"}
    )
    assert response.status_code == 302
    saved = db.exec(select(Licensee).where(Licensee.uscc == "93512002MA6Y10M03N")).one()
    assert saved.name == "雁江蜜柑合作社"
    assert "用标单位“雁江蜜柑合作社”已保存。" in client.get(response.location).text  # says which


def test_a_wrong_check_character_is_explained_and_nothing_is_saved(login_as, db):
    client = login_as("admin")
    response = client.post(
        "/admin/licensees/new?lang=zh",
        data={"name": "雁江蜜柑合作社", "uscc": "93512002MA6Y10M03A", "county_code": "512002"},
    )
    assert response.status_code == 422
    assert "校验码不符" in response.text
    assert db.exec(select(Licensee).where(Licensee.name == "雁江蜜柑合作社")).first() is None


def test_admin_creates_a_product_with_its_area(login_as, db):
    client = login_as("admin")
    response = client.post(
        "/admin/products/new",
        data={
            "code": "ziwei",
            "name": "资味",
            "name_en": "Ziwei",
            "kind": "public_brand",
            "status": "active",
            "kg_per_label": "0.25",
            "batch_prefix": "ZW",
            "area_codes": ["512000"],
        },
    )
    assert response.status_code == 302
    assert db.exec(select(Product).where(Product.code == "ziwei")).one().kind == "public_brand"


def test_a_product_code_already_taken_is_refused(login_as, db, world):
    client = login_as("admin")
    response = client.post(
        "/admin/products/new",
        data={
            "code": "anyue-lemon",
            "name": "x",
            "name_en": "x",
            "kind": "gi_product",
            "status": "active",
            "kg_per_label": "1",
            "batch_prefix": "X",
            "area_codes": ["512021"],
        },
    )
    assert response.status_code == 422
    assert len(db.exec(select(Product).where(Product.code == "anyue-lemon")).all()) == 1


def test_a_licence_with_its_end_before_its_start_is_refused(login_as, db, world):
    client = login_as("admin")
    response = client.post(
        f"/admin/licensees/{world['coop_b'].id}",
        data={"product_code": "anyue-lemon", "valid_from": "2027-01-01", "valid_to": "2026-01-01"},
    )
    assert response.status_code == 422
    assert db.exec(select(Licence).where(Licence.licensee_id == world["coop_b"].id)).all() == [world["licence_b"]]


def test_regulator_suspends_from_the_page_and_a_second_suspend_returns_to_the_licence(login_as, db, world):
    client = login_as("regulator")
    url = f"/admin/licences/{world['licence_a'].id}/suspend"
    assert client.post(url, data={"reason": "抽检不合格"}).status_code == 302
    db.expire_all()
    assert db.get(Licence, world["licence_a"].id).state == "suspended"
    again = client.post(url, data={"reason": "again"})
    assert again.status_code == 303 and again.location == f"/admin/licences/{world['licence_a'].id}"
    history = client.get(f"/admin/licences/{world['licence_a'].id}").text
    assert "抽检不合格" in history and "reg@test.cn" in history


def test_a_state_change_without_a_reason_changes_nothing(login_as, db, world):
    client = login_as("admin")
    client.post(f"/admin/licences/{world['licence_a'].id}/revoke", data={"reason": ""})
    db.expire_all()
    assert db.get(Licence, world["licence_a"].id).state == "active"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "//[::1"]
)
def test_a_foreign_next_is_never_followed(client, world, target):
    response = client.post(
        "/login", query_string={"next": target}, data={"email": "admin@test.cn", "password": "correct-horse-42"}
    )
    assert response.status_code == 302 and response.location == "/admin/"


# A line break in the address cannot stand in a Location header: the login itself failed with a 500.
@pytest.mark.parametrize("target", ["/admin/\r\nSet-Cookie: x=1", "/coop/\nX-Injected: 1"])
def test_a_next_with_control_characters_is_not_followed_and_the_login_goes_through(client, world, target):
    response = client.post(
        "/login", query_string={"next": target}, data={"email": "admin@test.cn", "password": "correct-horse-42"}
    )
    assert response.status_code == 302 and response.location == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_local_next_is_followed(client, world):
    response = client.post(
        "/login?next=/admin/licensees", data={"email": "admin@test.cn", "password": "correct-horse-42"}
    )
    assert response.location == "/admin/licensees"


def test_a_wrong_password_does_not_log_in(client, world):
    response = client.post("/login", data={"email": "admin@test.cn", "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_forms_without_a_csrf_token_are_refused(make_app, world):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/login", data={"email": "admin@test.cn", "password": "correct-horse-42"})
    assert response.status_code == 400


def test_logins_are_throttled(make_app, world):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    statuses = [
        client.post("/login", data={"email": "admin@test.cn", "password": "wrong-password-1"}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [200] * 10 and statuses[-1] == 429


def test_a_pasted_uscc_with_spaces_and_lower_case_is_accepted(login_as, db):
    response = login_as("admin").post(
        "/admin/licensees/new", data={"name": "雁江蜜柑合作社", "uscc": " 93512002ma6y10m03n ", "county_code": "512002"}
    )
    assert response.status_code == 302
    assert db.exec(select(Licensee).where(Licensee.uscc == "93512002MA6Y10M03N")).one()


def test_a_uscc_typed_in_full_width_is_accepted_as_its_ascii_code(login_as, db):
    # A Chinese input method left in full-width mode (全角) types ９３５１… and ＭＡ: the same code.
    typed = "９３５１２００２ｍａ６Ｙ１０Ｍ０３Ｎ"
    response = login_as("admin").post(
        "/admin/licensees/new", data={"name": "雁江蜜柑合作社", "uscc": typed, "county_code": "512002"}
    )
    assert response.status_code == 302
    assert db.exec(select(Licensee).where(Licensee.uscc == "93512002MA6Y10M03N")).one()


def test_a_products_code_cannot_change_once_registered(login_as, db, world, edit_lemon):
    client = login_as("admin")
    lemon = world["lemon"]
    assert "readonly" in client.get(f"/admin/products/{lemon.id}/edit").text.split('name="code"')[1].split(">")[0]
    response = edit_lemon(code="lemon-renamed")
    assert response.status_code == 422
    db.expire_all()
    assert db.get(Product, lemon.id).code == "anyue-lemon"


def test_admin_pages_name_the_county_not_its_code(login_as, world):
    client = login_as("admin")
    assert "<td>安岳县</td>" in client.get("/admin/licensees?lang=zh").text
    assert "<td>Anyue County</td>" in client.get("/admin/licensees?lang=en").text
    page = client.get(f"/admin/licensees/{world['coop_a'].id}?lang=zh").text
    assert "<dd>安岳县</dd>" in page and "<td>安岳柠檬</td>" in page
    assert f"<dt>商品条码（GTIN）</dt><dd><code>{world['coop_a'].gtin}</code></dd>" in page  # its GS1 links' key
    english = client.get(f"/admin/licensees/{world['coop_a'].id}?lang=en").text
    assert (
        "<dd>Anyue County</dd>" in english and "<td>Anyue Lemon</td>" in english and ">Anyue Lemon</option>" in english
    )


def test_licence_history_and_audit_log_say_what_happened_in_words(login_as, world):
    client = login_as("admin")
    chinese = client.get(f"/admin/licences/{world['licence_a'].id}?lang=zh").text
    assert "<td>licence.grant</td>" not in chinese and "<dd>安岳柠檬</dd>" in chinese
    english = client.get(f"/admin/licences/{world['licence_a'].id}?lang=en").text
    assert "<td>Licence granted</td><td>system</td>" in english and "<dd>Anyue Lemon</dd>" in english
    audit = client.get("/admin/audit?lang=zh").text
    assert 'value="licensee" >用标单位</option>' in audit and ">licensee</option>" not in audit
    assert "使用许可 #" in audit and "licence #" not in audit
    english = client.get("/admin/audit?lang=en").text
    assert 'value="licensee" >Licensee</option>' in english and "Licence granted" in english


def test_the_protected_area_is_chosen_with_checkboxes_and_one_is_needed(login_as, world, edit_lemon):
    admin = login_as("admin")
    form = admin.get(f"/admin/products/{world['lemon'].id}/edit").text
    boxes = form.split('class="checklist"')[1].split("</ul>")[0]
    box = {item.split('value="')[1].split('"')[0]: item for item in boxes.split("<li>")[1:]}
    assert "checked" in box["512021"] and "checked" not in box["512022"]  # the lemon's county, not Lezhi's
    assert "required" not in boxes
    refused = edit_lemon(area_codes=None)
    assert refused.status_code == 422 and "请至少选择一个区域。" in refused.text


def test_a_licence_typed_with_a_two_digit_year_or_too_long_a_term_is_refused_on_the_form(login_as, db, world):
    client = login_as("admin")
    for start, end, why in (
        ("0026-01-01", "2026-12-31", "before 2000-01-01: check the year"),
        ("2026-01-01", "2066-12-31", "a licence runs at most 30 years"),
    ):
        response = client.post(
            f"/admin/licensees/{world['coop_b'].id}?lang=en",
            data={"product_code": "anyue-lemon", "valid_from": start, "valid_to": end},
        )
        assert response.status_code == 422 and why in response.text
    assert db.exec(select(Licence).where(Licence.licensee_id == world["coop_b"].id)).all() == [world["licence_b"]]


def test_a_batch_prefix_already_taken_is_refused_on_the_form(edit_lemon, login_as, db, world):
    login_as("admin").get("/?lang=en")
    answer = edit_lemon(batch_prefix="LZ")  # the cocoon's
    assert answer.status_code == 422 and "another product already uses this prefix" in answer.text
    db.expire_all()
    assert db.get(Product, world["lemon"].id).batch_prefix == "AY"


def test_a_double_submitted_reinstate_ends_on_the_licence_with_the_reason(login_as, db, world):
    registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="r", actor=None)
    db.commit()
    client = login_as("admin")
    url = f"/admin/licences/{world['licence_a'].id}/reinstate"
    assert client.post(url, data={"reason": "整改完成"}).status_code == 302
    twice = client.post(f"{url}?lang=en", data={"reason": "整改完成"}, follow_redirects=True)
    assert twice.status_code == 200 and twice.request.path == f"/admin/licences/{world['licence_a'].id}"
    assert "does not allow this change" in twice.text
    db.expire_all()
    assert db.get(Licence, world["licence_a"].id).state == "active"


def test_an_expired_licence_offers_no_suspension(login_as, db, world):
    world["licence_a"].valid_to = date(2021, 12, 31)
    db.add(world["licence_a"])
    db.commit()
    client = login_as("admin")
    page = client.get(f"/admin/licences/{world['licence_a'].id}").text
    assert "action-suspend" not in page and "action-revoke" in page
    assert client.post(f"/admin/licences/{world['licence_a'].id}/suspend", data={"reason": "r"}).status_code == 303
    db.expire_all()
    assert db.get(Licence, world["licence_a"].id).state == "active"


def test_a_uscc_pasted_in_groups_is_read_without_its_spaces(login_as, db, world):
    response = login_as("admin").post(
        "/admin/licensees/new",
        data={"name": "雁江柑橘合作社", "uscc": " 93512021 MA6L00\u3000X07f ", "county_code": "512021"},
    )
    assert response.status_code == 302
    assert db.exec(select(Licensee).where(Licensee.name == "雁江柑橘合作社")).one().uscc == "93512021MA6L00X07F"


def as_printed(uscc: str) -> str:
    """A code as certificates print it, in groups: "9351 2021 MA6A Y0L0 18"."""
    return " ".join(uscc[start : start + 4] for start in range(0, 18, 4))


def maxlength(page: str, name: str) -> int:
    control = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group()
    return int(re.search(r'maxlength="(\d+)"', control).group(1))


def test_the_licensee_form_takes_a_uscc_pasted_in_groups_whole(login_as):
    page = login_as("admin").get("/admin/licensees/new").text
    assert maxlength(page, "uscc") >= len(as_printed("93512002MA6Y10M03N"))


def test_a_uscc_of_the_wrong_length_is_told_in_the_registrys_words(login_as, db):
    cut_short = as_printed("93512002MA6Y10M03N")[:18]  # what a browser limit of 18 left of the paste
    response = login_as("admin").post(
        "/admin/licensees/new?lang=en", data={"name": "雁江蜜柑合作社", "uscc": cut_short, "county_code": "512002"}
    )
    assert response.status_code == 422
    under_uscc = response.text.split('id="uscc-error"')[1].split("</div>")[0]
    assert "must be 18 characters of 0-9 and A-Y" in under_uscc and "exactly 18" not in response.text
    assert db.exec(select(Licensee).where(Licensee.name == "雁江蜜柑合作社")).first() is None


@pytest.mark.parametrize("path", ["/admin/licensees", "/licensees"])
def test_a_uscc_searched_as_printed_finds_its_licensee(login_as, world, path):
    page = login_as("admin").get(path, query_string={"q": as_printed(world["coop_a"].uscc)}).text
    assert "安岳柠檬合作社" in page and "乐至蚕桑合作社" not in page


def test_a_forged_area_code_is_refused_in_the_pages_language(edit_lemon):
    refused = edit_lemon(area_codes=["999999"])
    assert refused.status_code == 422 and "请只在列出的选项中选择" in refused.text and "999999" not in refused.text


@pytest.fixture
def checks_raced_past(monkeypatch):
    """As when a second request's checks ran before the first one's licensee was saved."""
    monkeypatch.setattr(registry, "_check_licensee", lambda **_: None)


def test_a_licensee_saved_twice_at_once_is_a_conflict_not_an_error(login_as, db, world, checks_raced_past):
    client = login_as("admin")
    twin = {"name": "重名合作社", "uscc": world["coop_a"].uscc, "county_code": "512021"}
    response = client.post("/admin/licensees/new?lang=en", data=twin)
    assert response.status_code == 409
    assert "at the same moment, so nothing was saved" in response.text
    assert db.exec(select(Licensee).where(Licensee.name == "重名合作社")).first() is None
    assert client.get("/admin/licensees").status_code == 200  # the session is usable again


def test_a_broken_constraint_that_is_no_race_stays_a_server_error(app):
    broken = IntegrityError("INSERT …", {}, Exception("FOREIGN KEY constraint failed"))  # a bug, not a race
    with app.test_request_context("/admin/licensees/new", method="POST"), pytest.raises(IntegrityError):
        app.handle_user_exception(broken)


def test_narrowing_an_area_past_registered_batches_warns_the_admin(edit_lemon, client, make_batch):
    make_batch()  # from a town of 安岳县
    assert edit_lemon(area_codes=["512021"]).status_code == 302
    assert "outside the protected area" not in client.get("/admin/products?lang=en").text
    assert edit_lemon(area_codes=["512022"]).status_code == 302  # now only 乐至县
    page = client.get("/admin/products?lang=en").text  # the same admin's next page
    assert '<p class="flash warning" role="status">1 active batch comes from a place now outside' in page
    assert edit_lemon(area_codes=["512022"], name_en="Anyue Lemons").status_code == 302  # an unrelated edit
    assert "now outside" not in client.get("/admin/products?lang=en").text


def test_the_audit_log_names_the_records_an_event_refers_to(login_as, make_batch):
    make_batch()
    audit = login_as("admin").get("/admin/audit?lang=zh&entity_type=batch").text
    assert "安岳柠檬合作社 (1)" in audit and "安岳柠檬 (1)" in audit  # the licensee and product by name, id beside
    assert "南薰镇 (512021126)" in audit  # the origin by its name
    products = login_as("admin").get("/admin/audit?lang=zh&entity_type=product").text
    assert "<dt>代码（英文标识）</dt>" in products and "<dt>标签码</dt>" not in products  # a product's code is its slug


def _seen(page: str, name: str = "seen") -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page).group(1)


def test_a_licence_page_drawn_before_a_colleagues_changes_does_not_undo_them(login_as, db, world):
    licence = world["licence_a"]
    registry.change_licence_state(session=db, licence=licence, action="suspend", reason="抽检不合格", actor=None)
    db.commit()
    client = login_as("admin")
    seen = _seen(client.get(f"/admin/licences/{licence.id}").text)  # the page shows it suspended
    for action, reason in (("reinstate", "整改完成"), ("suspend", "再次抽检不合格")):  # a colleague, meanwhile
        registry.change_licence_state(session=db, licence=licence, action=action, reason=reason, actor=None)
        db.commit()
    url = f"/admin/licences/{licence.id}/reinstate"
    stale = client.post(f"{url}?lang=en", data={"reason": "旧页面上的恢复", "seen": seen})
    assert stale.status_code == 409
    assert "The licence was changed meanwhile (now: suspended); nothing was done." in stale.text
    assert "旧页面上的恢复</textarea>" in stale.text  # the reason typed stays in its box
    db.expire_all()
    assert db.get(Licence, licence.id).state == "suspended"
    again = client.post(url, data={"reason": "旧页面上的恢复", "seen": _seen(stale.text)})  # now deliberate
    assert again.status_code == 302
    db.expire_all()
    assert db.get(Licence, licence.id).state == "active"


def test_a_stale_action_no_longer_offered_gives_the_reason_back(login_as, db, world):
    licence = world["licence_a"]
    client = login_as("admin")
    seen = _seen(client.get(f"/admin/licences/{licence.id}").text)
    registry.change_licence_state(session=db, licence=licence, action="revoke", reason="屡次假冒", actor=None)
    db.commit()
    stale = client.post(f"/admin/licences/{licence.id}/suspend?lang=en", data={"reason": "暂停待查", "seen": seen})
    assert stale.status_code == 409
    assert "(now: revoked)" in stale.text and "Your reason, not saved: 暂停待查" in stale.text


@pytest.mark.parametrize(
    ("reason", "said"), [("", "This field is required."), ("停" * 1001, "Field cannot be longer than 1000 characters.")]
)
def test_a_refused_licence_action_says_why_at_its_box_and_keeps_the_reason(login_as, db, world, reason, said):
    licence = world["licence_a"]
    refused = login_as("admin").post(f"/admin/licences/{licence.id}/suspend?lang=en", data={"reason": reason})
    assert refused.status_code == 422
    box = refused.text.split('id="reason-suspend"')[1].split('id="reason-revoke"')[0]
    assert f"{reason}</textarea>" in box and said in box
    assert "A reason is required" not in refused.text
    db.expire_all()
    assert db.get(Licence, licence.id).state == "active"


def test_a_refused_action_the_licence_no_longer_offers_is_said_in_the_banner(login_as, db, world):
    licence = world["licence_a"]
    registry.change_licence_state(session=db, licence=licence, action="revoke", reason="屡次假冒", actor=None)
    db.commit()
    refused = login_as("admin").post(f"/admin/licences/{licence.id}/suspend?lang=en", data={"reason": "停" * 1001})
    assert refused.status_code == 422
    assert "Suspend the licence: Field cannot be longer than 1000 characters." in refused.text


def test_a_product_form_drawn_before_a_colleagues_save_does_not_drop_the_area_they_added(login_as, db, world):
    lemon = world["lemon"]
    one, other = login_as("admin"), login_as("admin")
    url = f"/admin/products/{lemon.id}/edit"
    mine = _seen(one.get(url).text)  # both open the form while the area is Anyue county alone
    theirs = _seen(other.get(url).text)
    sent = {"code": "anyue-lemon", "name": "安岳柠檬", "name_en": "Anyue Lemon", "kind": "gi_product"}
    sent |= {"status": "active", "kg_per_label": "0.5", "batch_prefix": "AY"}
    added = other.post(url, data=sent | {"area_codes": ["512021", "512022"], "seen": theirs})  # 乐至 added
    assert added.status_code == 302
    stale = one.post(f"{url}?lang=en", data=sent | {"area_codes": ["512021"], "standard": "GB/T 1", "seen": mine})
    assert stale.status_code == 409
    assert "the product was saved by someone else after you opened this form" in stale.text
    assert "Protected production area: 512021" in stale.text and "512022" in stale.text.split("</ul>")[0]
    assert 'value="GB/T 1"' in stale.text  # what was typed stays in the form
    db.expire_all()
    areas = [area.code for area in registry.production_area(session=db, product=db.get(Product, lemon.id))]
    assert areas == ["512021", "512022"]
    again = one.post(url, data=sent | {"area_codes": ["512021"], "seen": _seen(stale.text)})  # now deliberate
    assert again.status_code == 302


def test_a_licensee_form_drawn_before_a_colleagues_save_does_not_overwrite_it(login_as, db, world):
    coop = world["coop_a"]
    client = login_as("admin")
    url = f"/admin/licensees/{coop.id}/edit"
    seen = _seen(client.get(url).text)
    data = registry.LicenseeInput(
        name=coop.name, uscc=coop.uscc, county_code=coop.county_code, contact_phone="028-12345"
    )
    registry.save_licensee(session=db, data=data, actor=None, licensee=coop)
    db.commit()
    sent = {"name": coop.name, "uscc": coop.uscc, "county_code": coop.county_code, "contact_phone": "0832-7654321"}
    stale = client.post(f"{url}?lang=en", data=sent | {"seen": seen})
    assert stale.status_code == 409
    assert "the licensee was saved by someone else" in stale.text and "028-12345" in stale.text
    assert 'value="0832-7654321"' in stale.text
    db.expire_all()
    assert db.get(Licensee, coop.id).contact_phone == "028-12345"
