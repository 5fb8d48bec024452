"""Accounts over their life: admins create, reset and deactivate them; everyone changes their own password;
a logout, a new password or a deactivation really ends the logins it should."""

import pytest
from sqlmodel import select

from gi_registry.models import ApiToken, AuditEvent, User

PASSWORD = "correct-horse-42"  # the world fixture's
USCC_B = "93512022MA6L00C02X"

NEW_PASSWORD = "another-horse-77"


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def replay(client, cookie: str, path: str = "/admin/"):
    """The request a stolen copy of an earlier cookie would make."""
    client.set_cookie("session", cookie)
    return client.get(path)


def log_in(client, email: str, password: str):
    return client.post("/login", data={"email": email, "password": password})


def test_a_copied_cookie_stops_working_after_logout(login_as):
    client = login_as("admin")
    copied = session_cookie(client)
    assert replay(client, copied).status_code == 200
    client.post("/logout")
    assert replay(client, copied).status_code == 302  # back to the login page


def test_a_logout_spares_the_accounts_api_tokens(login_as, token_for, client):
    bearer = token_for("regulator")
    login_as("regulator")
    client.post("/logout")
    assert client.get("/api/v1/reports", headers=bearer).status_code == 200


def test_changing_ones_password_needs_the_current_one(login_as, world, db):
    client = login_as("coop")
    wrong = client.post(
        "/account/password", data={"current": "not-it-123", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    )
    assert wrong.status_code == 403
    mismatch = client.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD, "repeat": "x"})
    assert mismatch.status_code == 422
    weak = client.post("/account/password", data={"current": PASSWORD, "new": "aaaaaaaaaaaa", "repeat": "aaaaaaaaaaaa"})
    assert weak.status_code == 422
    client.post("/logout")
    assert log_in(client, "coop@test.cn", PASSWORD).status_code == 302  # nothing changed


@pytest.mark.parametrize(
    ("new", "why"),
    [
        ("password123", "too easy to guess"),
        ("coop@test.cn2026", "must not contain the account"),
    ],
)
def test_a_refused_new_password_is_told_why_under_its_field(login_as, new, why):
    page = login_as("coop").post("/account/password?lang=en", data={"current": PASSWORD, "new": new, "repeat": new})
    assert page.status_code == 422
    under_new = page.text.split('id="new-error"')[1].split("</div>")[0]
    assert why in under_new


def test_guessing_the_current_password_spends_the_login_budget(make_app, world):
    """A stolen cookie must not buy unlimited guesses at the password that would take the account over."""
    client = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute").test_client()
    assert log_in(client, "coop@test.cn", PASSWORD).status_code == 302  # one of the three
    guess = {"current": "guess-guess-1", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD}
    statuses = [client.post("/account/password", data=guess).status_code for _ in range(3)]
    assert statuses == [403, 403, 429]
    assert client.get("/account/password").status_code == 200  # only guesses are counted


def test_a_new_password_ends_other_logins_and_tokens_but_not_this_one(login_as, token_for, world, make_app, db):
    bearer = token_for("coop")
    client = login_as("coop")
    other_device = session_cookie(client)
    changed = client.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert changed.status_code == 302
    assert client.get("/coop/").status_code == 200  # this browser stays in
    mine = session_cookie(client)
    assert replay(client, other_device, "/coop/").status_code == 302
    assert client.get("/api/v1/batches", headers=bearer).status_code == 401
    client.set_cookie("session", mine)
    client.post("/logout")
    assert log_in(client, "coop@test.cn", PASSWORD).status_code == 200  # the old password is refused
    assert log_in(client, "coop@test.cn", NEW_PASSWORD).status_code == 302
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "user.password")).one()
    assert event.actor == "coop@test.cn" and event.after is None  # who and when, never the hash


ACCOUNT_PAGES = [
    ("GET", "/admin/accounts/"),
    ("GET", "/admin/accounts/new"),
    ("POST", "/admin/accounts/new"),
    ("GET", "/admin/accounts/{user}"),
    ("POST", "/admin/accounts/{user}/deactivate"),
    ("POST", "/admin/accounts/{user}/activate"),
    ("POST", "/admin/accounts/{user}/reset-password"),
]


@pytest.mark.parametrize(("method", "path"), ACCOUNT_PAGES)
@pytest.mark.parametrize("who", [None, "coop", "regulator", "admin"])
def test_only_admins_reach_the_account_pages(login_as, world, db, method, path, who):
    client = login_as(who)
    target = world["users"]["coop_b"]
    response = client.open(path.format(user=target.id), method=method, data={"reason": "test"})
    if who is None:
        assert response.status_code == 302 and "/login" in response.location
    elif who != "admin":
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 302, 409, 422)  # 409: activating an active account
    if who != "admin":
        db.expire_all()
        assert db.get(User, target.id).is_active and db.get(User, target.id).session_epoch == 0


def test_an_admin_creates_a_cooperative_account_whose_password_is_shown_once(login_as, client, db, world):
    admin = login_as("admin")
    page = admin.post(
        "/admin/accounts/new", data={"email": "New@Coop.cn ", "role": "cooperative", "licensee_uscc": USCC_B.lower()}
    )
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    password = page.text.split('<code class="secret">')[1].split("</code>")[0]
    assert password not in session_cookie(admin)  # never flashed into the cookie
    assert password not in admin.get(page.request.path).text
    user = db.exec(select(User).where(User.email == "new@coop.cn")).one()
    assert user.licensee_id == world["coop_b"].id
    admin.post("/logout")
    assert log_in(client, "new@coop.cn", password).status_code == 302


@pytest.mark.parametrize(
    ("data", "status", "text"),
    [
        ({"email": "x@coop.cn", "role": "cooperative", "licensee_uscc": ""}, 422, "USCC"),
        ({"email": "coop@test.cn", "role": "regulator"}, 409, "already exists"),
        ({"email": "not-an-email", "role": "regulator"}, 422, ""),
        # An address cut short or mistyped would become the account's login name for good.
        ({"email": "li.ming@", "role": "regulator"}, 422, "write an address like name@example.cn"),
        ({"email": "@reg.cn", "role": "regulator"}, 422, "write an address like name@example.cn"),
        ({"email": "li ming@reg.cn", "role": "regulator"}, 422, "write an address like name@example.cn"),
        ({"email": "li@ming@reg.cn", "role": "regulator"}, 422, "write an address like name@example.cn"),
        ({"email": "li.ming@regcn", "role": "regulator"}, 422, "write an address like name@example.cn"),
        ({"email": "x@coop.cn", "role": "cooperative", "licensee_uscc": "93512021MA6AY0L01X"}, 422, "check character"),
        ({"email": "y@reg.cn", "role": "regulator", "licensee_uscc": "93512021MA6AY0L018"}, 422, "leave empty"),
    ],
)
def test_an_account_that_cannot_be_made_is_explained_and_not_made(login_as, db, data, status, text):
    before = len(db.exec(select(User)).all())
    response = login_as("admin").post("/admin/accounts/new?lang=en", data=data)
    assert response.status_code == status
    assert text in response.text
    assert len(db.exec(select(User)).all()) == before


def test_a_cooperative_account_takes_its_licensees_uscc_as_printed_on_the_certificate(login_as, db, world):
    admin = login_as("admin")
    assert 'maxlength="18"' not in admin.get("/admin/accounts/new").text
    grouped = "9351 2022 MA6L 00C0 2X"  # USCC_B in the groups a certificate prints
    cut_short = admin.post(
        "/admin/accounts/new?lang=en",
        data={"email": "new@coop.cn", "role": "cooperative", "licensee_uscc": grouped[:18]},
    )
    assert cut_short.status_code == 422
    assert "must be 18 characters of 0-9 and A-Y" in cut_short.text.split('id="licensee_uscc-error"')[1]
    whole = admin.post(
        "/admin/accounts/new", data={"email": "new@coop.cn", "role": "cooperative", "licensee_uscc": grouped}
    )
    assert whole.status_code == 200
    assert db.exec(select(User).where(User.email == "new@coop.cn")).one().licensee_id == world["coop_b"].id


def test_deactivating_ends_the_accounts_logins_and_tokens(login_as, token_for, world, db, make_app):
    bearer = token_for("regulator")
    victim = make_app().test_client()
    assert log_in(victim, "reg@test.cn", PASSWORD).status_code == 302
    admin = login_as("admin")
    target = world["users"]["regulator"]
    assert admin.post(f"/admin/accounts/{target.id}/deactivate", data={"reason": "left"}).status_code == 302
    assert victim.get("/regulator/reports").status_code == 302
    assert admin.get("/api/v1/reports", headers=bearer).status_code == 401
    assert db.exec(select(ApiToken).where(ApiToken.user_id == target.id)).all() == []
    assert log_in(victim, "reg@test.cn", PASSWORD).status_code == 200  # refused
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "user.deactivate")).one()
    assert event.reason == "left" and event.entity_id == str(target.id)
    assert admin.post(f"/admin/accounts/{target.id}/activate", data={"reason": "back"}).status_code == 302
    assert log_in(victim, "reg@test.cn", PASSWORD).status_code == 302


def test_an_admin_cannot_deactivate_their_own_account(login_as, world, db):
    me = world["users"]["admin"]
    assert login_as("admin").post(f"/admin/accounts/{me.id}/deactivate", data={}).status_code == 409
    db.expire_all()
    assert db.get(User, me.id).is_active


def test_a_reset_shows_a_new_password_and_the_old_one_stops_working(login_as, client, world):
    target = world["users"]["coop"]
    page = login_as("admin").post(f"/admin/accounts/{target.id}/reset-password", data={})
    password = page.text.split('<code class="secret">')[1].split("</code>")[0]
    client.post("/logout")
    assert log_in(client, "coop@test.cn", PASSWORD).status_code == 200
    assert log_in(client, "coop@test.cn", password).status_code == 302


def test_an_admin_is_sent_to_the_password_page_for_their_own_password(login_as, world, db):
    """A reset of one's own account showed a new password, then ended the very login that saw it."""
    me = world["users"]["admin"]
    admin = login_as("admin")
    page = admin.get(f"/admin/accounts/{me.id}?lang=en").text
    assert "/reset-password" not in page and 'href="/account/password"' in page
    response = admin.post(f"/admin/accounts/{me.id}/reset-password?lang=en", data={})
    assert response.status_code == 302 and response.location.endswith("/account/password")
    assert admin.get("/admin/accounts/?lang=en").status_code == 200  # still logged in
    db.expire_all()
    from gi_registry.domain import accounts

    assert accounts.authenticate(session=db, email=me.email, password=PASSWORD) is not None


def test_the_accounts_list_filters_by_role_and_email(login_as, world):
    admin = login_as("admin")
    page = admin.get("/admin/accounts/?role=cooperative").text
    assert "coop@test.cn" in page and "coopb@test.cn" in page and "reg@test.cn" not in page
    page = admin.get("/admin/accounts/?q=coopb").text
    assert "coopb@test.cn" in page and "coop@test.cn" not in page


@pytest.mark.parametrize(("q", "found"), [("li_m", {"li_ming@reg.cn"}), ("%", set()), ("_", {"li_ming@reg.cn"})])
def test_the_accounts_search_takes_percent_and_underscore_literally(login_as, db, world, q, found):
    # "_" is common in e-mail names; as a wildcard, li_m also found lixm…@, and "%" every account.
    from gi_registry.domain import accounts

    for email in ("li_ming@reg.cn", "lixming@reg.cn"):
        accounts.create_user(session=db, email=email, password=PASSWORD, role="regulator")
    db.commit()
    page = login_as("admin").get("/admin/accounts/", query_string={"q": q}).text
    assert {email for email in ("li_ming@reg.cn", "lixming@reg.cn") if email in page} == found


def test_an_api_token_can_be_revoked_by_its_holder(client, token_for):
    bearer = token_for("coop")
    assert client.delete("/api/v1/tokens/current").status_code == 401
    assert client.delete("/api/v1/tokens/current", headers=bearer).json == {"revoked": True}
    assert client.get("/api/v1/batches", headers=bearer).status_code == 401


def test_the_registry_keeps_an_active_admin(db, world):
    from gi_registry.domain import Conflict, accounts

    first = world["users"]["admin"]
    second = accounts.create_user(session=db, email="admin2@test.cn", password=PASSWORD, role="admin")
    accounts.set_active(session=db, user=second, active=False, reason="left", actor=first)
    db.commit()
    # The deactivated admin's last request (or a race with the first) cannot take the first one down too.
    with pytest.raises(Conflict) as refused:
        accounts.set_active(session=db, user=first, active=False, reason="x", actor=second)
    assert refused.value.code == "last_admin"
    db.rollback()
    assert db.get(User, first.id).is_active


def test_anonymous_visitors_are_sent_to_log_in_before_changing_a_password(client, world):
    for method in ("GET", "POST"):
        response = client.open("/account/password", method=method, data={"current": "x", "new": "y", "repeat": "y"})
        assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("path", ["/account/password", "/admin/", "/regulator/reports", "/coop/"])
@pytest.mark.parametrize(("lang", "html_lang"), [("en", "en"), ("zh", "zh-CN")])
def test_the_login_page_a_logged_out_visitor_is_sent_to_speaks_the_language_asked_for(client, path, lang, html_lang):
    sent = client.get(f"{path}?lang={lang}", headers={"Accept-Language": "fr"})
    assert sent.status_code == 302
    login = client.get(sent.location, headers={"Accept-Language": "fr"})
    assert f'<html lang="{html_lang}">' in login.text
    # No notice in a language the page does not speak (Flask-Login's own is English only).
    assert "Please log in to access this page" not in login.text


def test_a_login_starts_a_fresh_session_keeping_only_the_language(make_app, world):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/login?lang=en").text
    before = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    with client.session_transaction() as cookie:
        planted = cookie.get("csrf_token")
    answer = client.post(
        "/login", data={"email": "admin@test.cn", "password": "correct-horse-42", "csrf_token": before}
    )
    assert answer.status_code == 302
    with client.session_transaction() as cookie:
        assert cookie.get("csrf_token") != planted and cookie.get("lang") == "en"
    stale = client.post("/admin/accounts/new", data={"email": "new@test.cn", "role": "regulator", "csrf_token": before})
    assert stale.status_code == 400  # the token from before the login is no good after it


@pytest.mark.parametrize(
    "password",
    ["password123", "qwerty12345", "1234567890a", "abcdefghi1", "admin123456", "ziyang12345"],
)
def test_common_and_guessable_passwords_are_refused(db, world, password):
    from gi_registry.domain import DomainError, accounts

    with pytest.raises(DomainError) as refused:
        accounts.set_password(session=db, user=world["users"]["regulator"], password=password, actor=None)
    assert refused.value.code == "weak_password"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Zq9" * 67, "at most 200 characters"),  # longer than the login form and the API take: never usable
        ("Zq9" * 20, "at least 5 different characters"),  # letters and digits, so not told to mix them
        ("abcdefghijkl", "mix letters with digits or symbols"),
    ],
)
def test_a_refused_password_is_told_the_rule_it_breaks(password, why):
    from gi_registry.domain import accounts

    assert accounts.password_problem(password, email="reg@test.cn") == why


@pytest.mark.parametrize("password", [NEW_PASSWORD, "Lemon-picking_in_Anyue", "gi-x7Tq2mZ9wR-431"])
def test_passwords_hard_to_guess_are_taken(db, world, password):
    from gi_registry.domain import accounts

    assert accounts.password_problem(password, email="reg@test.cn") is None


def test_a_password_made_of_the_accounts_own_e_mail_is_refused():
    from gi_registry.domain import accounts

    assert accounts.password_problem("lijianguo2026", email="lijianguo@lemon-coop.cn") is not None
    assert accounts.password_problem("lijianguo2026", email="other@lemon-coop.cn") is None


@pytest.mark.parametrize("password", ["pw@test.cn", "pw@test.cn123", "PW@Test.CN-2026", "my-pw@test.cn-x7Tq"])
def test_a_password_containing_the_accounts_whole_e_mail_is_refused_however_long(password):
    from gi_registry.domain import accounts

    assert accounts.password_problem(password, email="pw@test.cn") == "must not contain the account's e-mail address"


def test_a_password_made_of_the_e_mails_local_part_is_too_easy_to_guess():
    from gi_registry.domain import accounts

    # Its pieces "li" and "jianguo" alone leave "Li.Jianguo-2026" looking strong.
    assert accounts.password_problem("Li.Jianguo-2026", email="li.jianguo@lemon-coop.cn") is not None
    assert accounts.password_problem("Li.Jianguo-2026", email="wang@lemon-coop.cn") is None


def test_a_new_account_cannot_take_its_e_mail_as_its_password(db):
    from gi_registry.domain import DomainError, accounts

    with pytest.raises(DomainError) as refused:
        accounts.create_user(session=db, email="PW@test.cn", password="pw@test.cn123", role="regulator")
    assert refused.value.fields == {"password": "must not contain the account's e-mail address"}


@pytest.mark.parametrize(
    ("who", "home"), [("admin", "/admin/"), ("regulator", "/regulator/reports"), ("coop", "/coop/")]
)
def test_each_role_starts_where_its_work_is(client, world, who, home):
    response = log_in(client, world["users"][who].email, PASSWORD)
    assert response.status_code == 302 and response.location == home


def test_a_signed_in_cookie_carried_to_another_browser_is_emptied(login_as):
    """Flask-Login's strong session protection, kept for signed-in sessions (extensions.SessionLoginManager)."""
    client = login_as("admin")
    assert client.get("/admin/", headers={"User-Agent": "another browser"}).status_code == 302


def test_an_anonymous_visitors_session_is_not_sent_again_on_every_request(make_app):
    """Its CSRF token's cookie is set once; re-sent each time, it changed Back's cached scan page too."""
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    first = client.get("/report")
    assert any(c.startswith("session=") for c in first.headers.getlist("Set-Cookie"))
    for path in ("/report", "/products", "/q/NOT-A-CODE"):
        assert client.get(path).headers.getlist("Set-Cookie") == [], path
    scan = client.get("/q/NOT-A-CODE")
    assert "Cookie" not in scan.headers.get("Vary", "") and scan.headers["Cache-Control"] == "private, no-cache"


def test_two_admins_deactivating_each_other_at_once_leave_one_active(app, db, world):
    """The first deactivation is written, not yet committed, when the second admin deactivates the first."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from sqlmodel import Session

    from gi_registry.domain import Conflict, accounts

    second_id = accounts.create_user(session=db, email="admin2@test.cn", password=PASSWORD, role="admin").id
    first_id = world["users"]["admin"].id
    db.commit()
    engine = app.extensions["db_engine"]

    def deactivate(session: Session, user_id: int, actor_id: int) -> None:
        user, actor = session.get(User, user_id), session.get(User, actor_id)
        accounts.set_active(session=session, user=user, active=False, reason="r", actor=actor)

    with Session(engine) as one, Session(engine) as other, ThreadPoolExecutor(1) as pool:
        deactivate(one, second_id, first_id)
        later = pool.submit(deactivate, other, first_id, second_id)
        time.sleep(0.5)  # the second has counted the admins, or waits to
        one.commit()
        with pytest.raises(Conflict, match="at least one other active admin"):
            later.result(timeout=10)
        other.rollback()
    db.expire_all()
    assert [db.get(User, first_id).is_active, db.get(User, second_id).is_active] == [True, False]
