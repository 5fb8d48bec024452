"""The consumer's scan: the page and the API agree, every scan is counted, copies and forgeries are caught."""

import base64
import html
import random
import re
import string
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from sqlmodel import func, select

from gi_registry import intake, static_files
from gi_registry.domain import batches, registry, verification
from gi_registry.extensions import client_network
from gi_registry.models import Scan, ScanTally

ELSEWHERE = {"REMOTE_ADDR": "10.1.1.1"}  # another consumer's phone, far from the test client's


def test_the_page_says_genuine_with_who_where_and_when(client, labelled):
    batch, codes = labelled
    page = client.get(f"/q/{codes[3]}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-cache"
    text = page.text
    assert "正品" in text and "安岳柠檬" in text and "安岳柠檬合作社" in text and "南薰镇" in text
    assert "2026-10-01" in text and batch.batch_no in text and "第 3 号" in text
    assert "此码已被查询 1 次" in text and "建议您这样做" not in text  # nothing to do but enjoy it
    assert 'href="/report/status"' in text  # a reporter who scans again finds the way to their case
    english = client.get(f"/q/{codes[3]}?lang=en").text
    assert ", China time." in english  # a visitor from abroad reads the time for what it is


def test_the_upper_case_path_of_the_printed_url_works(client, labelled):
    _, codes = labelled
    assert "正品" in client.get(f"/Q/{codes[1]}").text


def test_english_on_request(client, labelled):
    _, codes = labelled
    text = client.get(f"/q/{codes[1]}?lang=en").text
    assert "Genuine" in text and "Anyue Lemon" in text and "checked 1 time;" in text
    assert "has been checked 2 times" in client.get(f"/q/{codes[1]}?lang=en").text


def test_a_second_check_of_a_unit_label_asks_to_ask_the_seller_but_of_the_batch_code_not(client, labelled):
    """A package's label is checked once by its buyer; the batch code on a crate or a stall is checked by many."""
    _, codes = labelled
    hint = "请向商家核实"
    assert hint not in client.get(f"/q/{codes[4]}").text and hint in client.get(f"/q/{codes[4]}").text
    client.get(f"/q/{codes[0]}")
    again = client.get(f"/q/{codes[0]}").text
    assert "此码已被查询 2 次" in again and "正品" in again and hint not in again


def test_the_count_and_first_time_carry_over_between_page_and_api(client, labelled):
    _, codes = labelled
    first = client.get(f"/api/v1/verify/{codes[2]}").json
    client.get(f"/q/{codes[2]}")
    third = client.get(f"/api/v1/verify/{codes[2]}").json
    assert (first["scans"]["count"], third["scans"]["count"]) == (1, 3)
    assert third["scans"]["first_at"] == first["scans"]["first_at"]
    assert third["verdict"] == "genuine" and third["serial"] == 2 and third["product"]["code"] == "anyue-lemon"
    assert third["batch"]["origin"] == {"code": "512021126", "name": "南薰镇"}


def test_every_scan_is_appended_without_the_address(client, labelled, db):
    _, codes = labelled
    client.get(
        f"/q/{codes[1]}",
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
        headers={"User-Agent": "Mozilla/5.0 MicroMessenger/8.0"},
    )
    scan = db.exec(select(Scan)).one()
    assert scan.ip_hash and "203.0.113.9" not in scan.ip_hash and len(scan.ip_hash) == 32
    assert scan.ua_family == "wechat" and scan.latitude is None and scan.verdict == "genuine"


def test_a_shared_place_is_kept_coarse(client, labelled, db):
    _, codes = labelled
    result = client.get(f"/api/v1/verify/{codes[1]}?lat=30.123456&lon=104.654321").json
    assert result["verdict"] == "genuine"
    scan = db.exec(select(Scan)).one()
    assert (scan.latitude, scan.longitude) == (30.12, 104.65)


def test_a_serial_scanned_60_times_turns_warning_and_its_neighbours_stay_genuine(client, labelled):
    _, codes = labelled
    verdicts = [client.get(f"/api/v1/verify/{codes[5]}").json["verdict"] for _ in range(60)]
    assert verdicts[:20] == ["genuine"] * 20 and verdicts[20:] == ["warning"] * 40
    last = client.get(f"/api/v1/verify/{codes[5]}").json
    assert "scanned_often" in last["reasons"] and last["scans"]["count"] == 61
    for neighbour in (codes[4], codes[6]):
        assert client.get(f"/api/v1/verify/{neighbour}").json["verdict"] == "genuine"
    assert "可能被复制" in client.get(f"/q/{codes[5]}").text


def test_places_far_apart_within_hours_turn_warning(client, labelled):
    _, codes = labelled
    assert client.get(f"/api/v1/verify/{codes[7]}?lat=30.12&lon=104.63").json["verdict"] == "genuine"
    far = client.get(f"/api/v1/verify/{codes[7]}?lat=39.90&lon=116.40", environ_base=ELSEWHERE).json
    assert far["verdict"] == "warning" and far["reasons"] == ["seen_far_apart"]
    # The label has been copied: later scans say so, with a place or without one, and the neighbours do not.
    assert client.get(f"/api/v1/verify/{codes[7]}").json["reasons"] == ["seen_far_apart"]
    assert "相距很远" in client.get(f"/q/{codes[7]}").text
    assert client.get(f"/api/v1/verify/{codes[6]}").json["verdict"] == "genuine"


def _one_off(code: str, rng: random.Random) -> str:
    position = rng.randrange(len(code))
    replacement = rng.choice([c for c in string.ascii_uppercase + "234567" if c != code[position]])
    return code[:position] + replacement + code[position + 1 :]


def test_forgeries_random_and_one_character_off_are_all_invalid(client, labelled, db):
    _, codes = labelled
    rng = random.Random(20261128)
    forged = ["".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(len(codes[1]))) for _ in range(200)]
    forged += [_one_off(code, rng) for code in codes for _ in range(20)]
    forged += ["", "<script>", "A" * 21, codes[1] + "A", codes[1][:-1]]
    verdicts = {client.get(f"/api/v1/verify/{code}").json["verdict"] for code in forged if code}
    assert verdicts == {"invalid"}
    assert client.get(f"/api/v1/verify/{'X' * 70}").status_code == 422  # longer than any code
    assert "无效码" in client.get(f"/q/{'X' * 70}").text
    # Forged scans are recorded (for the dashboard), never tied to a batch.
    assert db.exec(select(func.count()).select_from(Scan).where(Scan.batch_id.is_not(None))).one() == 0


def test_the_last_issued_serial_is_genuine(client, labelled):
    _batch, codes = labelled  # serials 1..10 issued
    client.get(f"/api/v1/verify/{codes[10]}")
    again = client.get(f"/api/v1/verify/{codes[10]}").json
    assert (again["verdict"], again["scans"]["count"]) == ("genuine", 2)


def test_an_unissued_serial_is_invalid(client, labelled, keys):
    batch, _ = labelled
    beyond = batches.label_for(batch=batch, serial=11, keys=keys, base_url="").code
    result = client.get(f"/api/v1/verify/{beyond}").json
    assert result == {"verdict": "invalid", "reasons": ["serial_not_issued"], "scans": {"count": 0, "first_at": None}}
    page = client.get(f"/q/{beyond}?lang=en").text  # the batch is the registry's: the headline says the label is not
    assert "<h1>This label was never issued</h1>" in page and "Not a code of this registry" not in page


def test_an_invalid_code_says_what_to_do_next(client, world):
    text = client.get("/q/NOTACODE").text
    assert "无效" in text or "不是本平台" in text
    assert "12315" in text and "/report?code=NOTACODE" in text


def test_a_recall_and_a_suspension_change_the_verdict_at_once(client, labelled, db, world):
    batch, codes = labelled
    registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="r", actor=None)
    db.commit()
    suspended = client.get(f"/api/v1/verify/{codes[1]}").json
    assert suspended["verdict"] == "warning" and suspended["reasons"] == ["licence_suspended"]
    batches.recall_batch(session=db, batch=batch, reason="r", actor=None)
    db.commit()
    assert client.get(f"/api/v1/verify/{codes[1]}").json["verdict"] == "revoked"
    assert "已召回" in client.get(f"/q/{codes[1]}").text


def test_withdrawing_a_product_from_the_register_warns_on_its_labels(client, labelled, edit_lemon):
    _, codes = labelled
    assert client.get(f"/api/v1/verify/{codes[1]}").json["verdict"] == "genuine"
    assert edit_lemon(status="withdrawn").status_code == 302
    result = client.get(f"/api/v1/verify/{codes[2]}").json
    assert result["verdict"] == "warning" and result["reasons"] == ["product_withdrawn"]
    assert "此产品已从受保护标志登记中撤回" in client.get(f"/q/{codes[2]}").text


def test_a_recalled_product_says_why_and_what_to_do(client, labelled, db):
    batch, codes = labelled
    batches.recall_batch(session=db, batch=batch, reason="农药残留超标，请勿食用", actor=None)
    db.commit()
    page = client.get(f"/q/{codes[1]}").text
    assert "<h1>已召回：请勿食用或使用</h1>" in page and "请勿轻信" not in page  # withdrawn, not a fake
    assert "召回原因：农药残留超标，请勿食用" in page
    assert "请勿食用或使用该产品" in page and "退回商家" in page and '<a href="tel:12315">12315</a>' in page


def test_a_revoked_licence_warns_off_the_mark_not_the_food(client, labelled, db, world):
    """A revocation ends the right to the mark; unlike a recall it says nothing of the food's safety."""
    _, codes = labelled
    registry.change_licence_state(session=db, licence=world["licence_a"], action="revoke", reason="r", actor=None)
    db.commit()
    page = client.get(f"/q/{codes[1]}?lang=en").text
    assert "Do not buy it as a protected geographical-indication product" in page and "money back" in page
    assert "Do not eat or use the product." not in page


def test_a_warning_tells_the_consumer_to_ask_the_seller(client, labelled, db, world):
    _, codes = labelled
    registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="r", actor=None)
    db.commit()
    page = client.get(f"/q/{codes[1]}").text
    assert "请商家说明产品来源" in page and "tel:12315" in page and "召回原因" not in page and "已召回" not in page


def test_a_batch_past_its_shelf_life_says_not_to_eat_it(client, labelled, db, world):
    """The label is the registry's and the food is old: the advice is about eating it, not where it came from."""
    _, codes = labelled
    world["lemon"].shelf_life_days = 30  # the batch was harvested on 2026-10-01
    db.add(world["lemon"])
    db.commit()
    page = client.get(f"/q/{codes[1]}").text
    assert "该批次已超过保质期" in page and "请勿食用或使用该产品" in page and "退回商家" in page
    assert "请商家说明产品来源" not in page and "tel:12315" in page


def test_the_test_batches_scan_genuine_whatever_day_the_suite_runs(client, labelled, monkeypatch):
    """The fixtures' batches are harvested on a fixed day: a shelf life would turn them into warnings
    once the suite runs past it, and every test expecting a genuine scan would fail on that day."""
    _, codes = labelled
    monkeypatch.setattr(verification, "utcnow", lambda: datetime(2049, 6, 1, tzinfo=UTC))  # licences run to 2049
    assert client.get(f"/api/v1/verify/{codes[1]}").json["verdict"] == "genuine"


def gs1_path(batch, serial, keys, gtin="06901234000016") -> str:
    """The GS1 Digital Link of a label as the labels list gives it, without the host."""
    return batches.label_for(batch=batch, serial=serial, keys=keys, base_url="", gtin=gtin).gs1_url


def test_a_gs1_digital_link_resolves_to_the_same_verification(client, labelled, keys):
    batch, codes = labelled
    assert gs1_path(batch, 4, keys) == f"/01/06901234000016/10/{batch.batch_no}/21/4?8030={codes[4]}"
    page = client.get(gs1_path(batch, 4, keys))
    assert page.status_code == 200 and "正品" in page.text and "第 4 号" in page.text
    assert f'href="/report?code={codes[4]}"' in page.text  # its report names the signed code, the proof
    assert "此码已被查询 2 次" in client.get(f"/q/{codes[4]}").text  # one count for both ways in
    lot_only = client.get(gs1_path(batch, 0, keys)).text
    assert "正品" in lot_only and "批次码" in lot_only
    slashed = client.get(gs1_path(batch, 5, keys).replace("/21/5?", "/21/5/?"))  # as some scanner apps send it
    assert slashed.status_code == 200 and "第 5 号" in slashed.text


def test_a_gs1_link_counts_only_with_the_signature_of_the_very_label_it_names(client, labelled, db, make_batch, keys):
    """GTIN, lot and serial are printed in plain sight: a link written from them proves nothing."""
    batch, codes = labelled
    other = make_batch()
    batches.issue_labels(session=db, batch=other, count=5, keys=keys, actor=None)
    db.commit()
    lot = f"/01/06901234000016/10/{batch.batch_no}"
    unsigned = [
        f"{lot}/21/4",
        f"{lot}/21/5?8030={codes[4]}",  # another label's signature
        f"{lot}/21/4?8030={codes[4][:-1]}A",
        f"{lot}/21/4?8030={batches.label_for(batch=other, serial=4, keys=keys, base_url='').code}",  # another batch
        f"{lot}/21/99?8030={codes[4]}",
    ]
    for path in unsigned:
        page = client.get(path)
        assert page.status_code == 200 and "<h1>此链接无法证明商品为正品</h1>" in page.text, path
        assert "有效签名" in page.text and "非本平台发放" not in page.text, path  # the batch is the registry's
        # Its report names what the link claims, as the label prints it, for the regulator to follow.
        serial = path.split("/21/")[1].split("?")[0]
        assert f'href="/report?code={batch.batch_no}+No.+{serial}"' in page.text, path
    nothing = client.get(f"/01/00000000000000/10/{batch.batch_no}/21/4?8030={codes[4]}").text  # another GTIN
    assert "无效码" in nothing and "非本平台发放" in nothing
    assert db.exec(select(func.count()).select_from(Scan).where(Scan.batch_id.is_not(None))).one() == 0
    assert {scan.reasons[0] for scan in db.exec(select(Scan))} == {"unsigned_gs1_link", "not_issued_by_registry"}


def test_the_lot_alone_stands_for_the_public_batch_code(client, labelled, keys):
    batch, codes = labelled
    assert gs1_path(batch, 0, keys) == f"/01/06901234000016/10/{batch.batch_no}"
    for path in (gs1_path(batch, 0, keys), f"{gs1_path(batch, 0, keys)}?8030={codes[4]}"):
        page = client.get(path).text
        assert "正品" in page and "批次码" in page
    assert "此码已被查询 3 次" in client.get(f"/q/{codes[0]}").text


def test_a_gs1_scan_shown_again_after_a_shared_place_keeps_its_signature(client, labelled, keys):
    batch, _ = labelled
    page = client.get(gs1_path(batch, 3, keys)).text
    again = page.split('data-again="')[1].split('"')[0].replace("&amp;", "&")
    assert again.startswith(f"/01/06901234000016/10/{batch.batch_no}/21/3?8030=") and "seen=" in again
    shown = client.get(again).text
    assert "正品" in shown and "此码已被查询 1 次" in shown  # the same scan, not a second one


def test_sharing_a_place_after_the_page_needs_the_signed_token(client, labelled, db):
    _, codes = labelled
    page = client.get(f"/q/{codes[1]}").text
    token = page.split('data-token="')[1].split('"')[0]
    assert client.post("/q/place", json={"token": "forged", "lat": 30.1, "lon": 104.6}).status_code == 400
    shared = client.post("/q/place", json={"token": token, "lat": 30.1234, "lon": 104.6789}).json
    assert shared == {"stored": True, "warning": False}
    assert client.post("/q/place", json={"token": token, "lat": 1, "lon": 1}).json["stored"] is False
    scan = db.exec(select(Scan)).one()
    assert (scan.latitude, scan.longitude) == (30.12, 104.68)


@pytest.mark.parametrize("path", ["/q/{code}", "/api/v1/verify/{code}"])
def test_verification_is_rate_limited_with_a_friendly_answer(make_app, labelled, path):
    client = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="3 per minute").test_client()
    url = path.format(code=labelled[1][1])
    statuses = [client.get(url).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    last = client.get(url)
    if path.startswith("/api"):
        message = "too many requests; try again in 60 seconds"
        assert last.json["error"] == {"code": "rate_limited", "message": message, "fields": {}}
    else:
        assert "请求过于频繁，请 1 分钟后再试" in last.text


@pytest.mark.parametrize("path", ["/q/{code}?lang=en", "/01/06901234000016/10/{batch_no}?lang=en"])
def test_a_scan_past_the_budget_says_the_label_is_not_checked_yet_and_offers_to_check_again(make_app, labelled, path):
    """Phones behind one carrier address share the budget: the buyer of a genuine package is told that
    nothing was judged, on the scan page's own layout (not the staff pages', with their login), and given
    the label's own address to try again, not only the home page."""
    batch, codes = labelled  # the world's licensee has the GTIN 06901234000016
    client = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="1 per minute").test_client()
    url = path.format(code=codes[1], batch_no=batch.batch_no)
    assert client.get(url).status_code == 200
    page = client.get(url)
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    assert "Not checked yet" in page.text and "Please try again in 1 minute" in page.text
    assert f'href="{html.escape(url)}"' in page.text  # the same label, checked again
    assert 'href="/login"' not in page.text and "<h1>429</h1>" not in page.text


def test_one_ipv6_network_is_one_client_for_the_scan_budget(make_app, labelled):
    """A phone holds a whole /64 and may change addresses in it at will; each must not be a new budget."""
    client = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="2 per minute").test_client()
    url = f"/api/v1/verify/{labelled[1][1]}"
    addresses = ["2001:db8:1:2::1", "2001:db8:1:2:aaaa::9", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:3::1"]
    statuses = [client.get(url, environ_base={"REMOTE_ADDR": address}).status_code for address in addresses]
    assert statuses == [200, 200, 429, 200]  # the last is the next /64: someone else


def test_one_ipv6_network_is_one_client_for_copy_detection(client, labelled, db):
    """Two places sent from one /64 are one phone moving its shared place, not two packages."""
    code = labelled[1][2]
    client.get(f"/api/v1/verify/{code}?lat=30.12&lon=104.68", environ_base={"REMOTE_ADDR": "2001:db8:7::1"})
    far = client.get(f"/api/v1/verify/{code}?lat=39.90&lon=116.40", environ_base={"REMOTE_ADDR": "2001:db8:7::2"})
    assert far.json["verdict"] == "genuine"
    hashes = {scan.ip_hash for scan in db.exec(select(Scan).where(Scan.serial == 2))}
    assert len(hashes) == 1


@pytest.mark.parametrize(
    ("address", "client"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::", "2001:db8:1:2::/64"),
        ("", ""),
        ("not-an-address", "not-an-address"),
    ],
)
def test_a_client_is_its_address_or_its_ipv6_network(address, client):
    assert client_network(address) == client


def test_the_place_script_is_answered_in_json_even_when_limited(make_app, labelled):
    """scan.js reads every answer as JSON; an HTML 429 left the consumer's tap without any word."""
    client = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="1 per minute").test_client()
    assert client.get(f"/q/{labelled[1][1]}").status_code == 200
    limited = client.post("/q/place", json={"token": "t", "lat": 30.1, "lon": 104.6})
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"


def test_a_server_error_is_explained_in_the_pages_language(make_app, labelled, monkeypatch):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    monkeypatch.setattr(intake, "record_scan", lambda *args, **kwargs: 1 / 0)
    page = app.test_client().get(f"/q/{labelled[1][1]}")
    assert page.status_code == 500 and "我们这边出了问题，请几分钟后再试。" in page.text
    assert "Internal Server Error" not in page.text


def _redis_answers() -> bool:
    try:
        import redis

        return redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except Exception:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="no Redis answers on 127.0.0.1:6379")
def test_rate_limits_are_shared_through_redis_between_workers(make_app, labelled):
    """Two app instances (two workers) count against one limit when the storage is Redis."""
    import uuid

    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "RATELIMIT_KEY_PREFIX": f"gi-test-{uuid.uuid4().hex}",
        "VERIFY_RATE_LIMIT": "3 per minute",
    }
    first, second = make_app(**settings).test_client(), make_app(**settings).test_client()
    url = f"/api/v1/verify/{labelled[1][1]}"
    statuses = [client.get(url).status_code for client in (first, second, first, second)]
    assert statuses == [200, 200, 200, 429]
    import redis

    counters = redis.Redis(host="127.0.0.1", port=6379).keys(f"*{settings['RATELIMIT_KEY_PREFIX']}*")
    assert counters, "the counts must live in Redis, where every worker sees them"


def test_scans_go_on_when_redis_is_gone_and_the_log_says_so(make_app, labelled, capsys):
    """Nothing listens on this port: the limits are counted in the worker's memory, and the operator is told."""
    settings = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6399/9"}
    client = make_app(**settings).test_client()
    assert client.get(f"/api/v1/verify/{labelled[1][1]}").status_code == 200
    assert "Rate limit storage unreachable - falling back to in-memory storage" in capsys.readouterr().err


def test_the_page_the_gs1_link_and_the_api_share_one_scan_budget(make_app, labelled, keys):
    batch, codes = labelled
    client = make_app(RATELIMIT_ENABLED=True, VERIFY_RATE_LIMIT="3 per minute").test_client()
    paths = [
        f"/q/{codes[1]}",
        f"/api/v1/verify/{codes[1]}",
        gs1_path(batch, 1, keys),
        f"/api/v1/verify/{codes[2]}",
    ]
    assert [client.get(path).status_code for path in paths] == [200, 200, 200, 429]


def test_a_gs1_link_with_the_13_digit_gtin_finds_the_batch(client, labelled, keys):
    batch, _ = labelled
    assert "正品" in client.get(gs1_path(batch, 2, keys, gtin="6901234000016")).text


def test_a_renewal_keeps_old_batches_genuine(client, labelled, db, world):

    _, codes = labelled
    world["licence_a"].valid_to = date(2026, 11, 1)
    db.add(world["licence_a"])
    db.commit()
    assert client.get(f"/api/v1/verify/{codes[1]}").json["reasons"] == ["licence_expired"]
    registry.grant_licence(
        session=db,
        licensee=world["coop_a"],
        product_code="anyue-lemon",
        valid_from=date(2026, 11, 2),
        valid_to=date(2049, 1, 1),
        actor=None,
    )
    db.commit()
    assert client.get(f"/api/v1/verify/{codes[1]}").json["verdict"] == "genuine"


def test_a_suspended_renewal_takes_the_old_batches_down_with_it(client, labelled, db, renewed_licence):
    _, codes = labelled
    renewal = renewed_licence
    registry.change_licence_state(session=db, licence=renewal, action="suspend", reason="抽检不合格", actor=None)
    db.commit()
    assert client.get(f"/api/v1/verify/{codes[1]}").json["reasons"] == ["licence_suspended"]


def test_switching_language_shows_the_scan_again_without_counting_it(client, labelled, db):
    _, codes = labelled
    first = client.get(f"/q/{codes[3]}").text
    switch = first.split('hreflang="en"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    english = client.get(f"/q/{codes[3]}{switch}").text
    assert "checked 1 time;" in english
    assert db.exec(select(func.count()).select_from(Scan)).one() == 1
    assert "此码已被查询 2 次" in client.get(f"/q/{codes[3]}?lang=zh").text  # a plain open counts again
    forged = client.get(f"/q/{codes[3]}?seen=forged-token").text
    assert "此码已被查询 3 次" in forged


def test_a_place_shared_from_the_page_far_from_a_recent_one_turns_the_scan_to_warning(client, labelled, db):
    _, codes = labelled
    beijing = client.get(f"/api/v1/verify/{codes[8]}?lat=39.90&lon=116.40", environ_base=ELSEWHERE)
    assert beijing.json["verdict"] == "genuine"
    page = client.get(f"/q/{codes[8]}").text
    token = page.split('data-token="')[1].split('"')[0]
    shared = client.post("/q/place", json={"token": token, "lat": 30.12, "lon": 104.63}).json  # Ziyang
    assert shared == {"stored": True, "warning": True}
    last = db.exec(select(Scan).order_by(Scan.id.desc())).first()
    assert last.verdict == "warning" and last.reasons == ["seen_far_apart"]
    # The page reloads itself without counting a scan, and now its verdict is the warning.
    again = page.split('data-again="')[1].split('"')[0].replace("&amp;", "&")
    assert "相距很远" in client.get(again).text
    assert db.exec(select(func.count()).select_from(Scan)).one() == 2


def test_a_batch_code_shared_from_places_far_apart_is_no_copy(client, labelled, db):
    """The batch code hangs on displays and cartons in many towns: the places it is scanned from say nothing,
    on the page's shared place as on the API's."""
    batch, codes = labelled
    assert client.get(f"/api/v1/verify/{codes[0]}?lat=39.90&lon=116.40", environ_base=ELSEWHERE).json["verdict"] == (
        "genuine"
    )
    page = client.get(f"/q/{codes[0]}").text
    token = page.split('data-token="')[1].split('"')[0]
    shared = client.post("/q/place", json={"token": token, "lat": 30.12, "lon": 104.63}).json  # Ziyang
    assert shared == {"stored": True, "warning": False}
    last = db.exec(select(Scan).order_by(Scan.id.desc())).first()
    assert last.verdict == "genuine" and not last.reasons and last.latitude == 30.12
    assert db.get(ScanTally, (batch.id, 0)).far_apart_at is None


def test_two_places_far_apart_shared_at_once_still_mark_the_label(app, labelled, db, monkeypatch):
    """Two buyers of one copied label in Ziyang and Beijing share their places in the same instant: each
    request reads the code's other places before the other has committed, and neither may miss both."""
    batch, codes = labelled
    ziyang, beijing = app.test_client(), app.test_client()
    tokens = [
        phone.get(f"/q/{codes[8]}", environ_base=place).text.split('data-token="')[1].split('"')[0]
        for phone, place in ((ziyang, {}), (beijing, ELSEWHERE))
    ]
    read_places = verification.recent_places

    def read_slowly(**kwargs):  # each has read the places before the other stores its own
        places = read_places(**kwargs)
        time.sleep(0.3)
        return places

    monkeypatch.setattr(verification, "recent_places", read_slowly)
    together = threading.Barrier(2)

    def share(phone, token, lat, lon, place):
        together.wait()
        return phone.post("/q/place", json={"token": token, "lat": lat, "lon": lon}, environ_base=place).json

    with ThreadPoolExecutor(2) as pool:
        shared = [
            pool.submit(share, ziyang, tokens[0], 30.12, 104.63, {}),
            pool.submit(share, beijing, tokens[1], 39.90, 116.40, ELSEWHERE),
        ]
        answers = [future.result() for future in shared]
    assert sorted(answer["warning"] for answer in answers) == [False, True]
    db.expire_all()
    assert db.get(ScanTally, (batch.id, 8)).far_apart_at is not None
    assert "seen_far_apart" in app.test_client().get(f"/api/v1/verify/{codes[8]}").json["reasons"]


def test_scans_at_once_each_get_their_own_count(app, labelled):
    _, codes = labelled
    together = threading.Barrier(6)

    def scan(phone):
        client = app.test_client()
        together.wait()
        answer = client.get(f"/api/v1/verify/{codes[3]}", environ_base={"REMOTE_ADDR": f"10.0.0.{phone}"})
        return answer.json["scans"]["count"]

    with ThreadPoolExecutor(6) as pool:
        assert sorted(pool.map(scan, range(6))) == [1, 2, 3, 4, 5, 6]


def test_switching_language_on_a_gs1_link_does_not_count_a_second_scan(client, labelled, db, keys):
    batch, _ = labelled
    link = gs1_path(batch, 5, keys)
    first = client.get(link).text
    switch = first.split('hreflang="en"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    english = client.get(link.split("?")[0] + switch)
    assert english.status_code == 200 and "Genuine" in english.text  # the switch keeps the signature
    assert db.exec(select(func.count()).select_from(Scan)).one() == 1


def _lang_switch(page: str) -> str:
    return page.split("<header>")[1].split('href="')[1].split('"')[0].replace("&amp;", "&")


def test_a_seen_token_passed_to_another_client_counts_as_usual(client, labelled, db):
    """A counterfeiter's redirector cannot forward every buyer with one token and hide the copies."""
    _, codes = labelled
    switch = _lang_switch(client.get(f"/q/{codes[4]}").text)
    other = client.get(f"/q/{codes[4]}{switch}", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert "checked 2 times;" in other.text
    assert db.exec(select(func.count()).select_from(Scan)).one() == 2


def test_a_page_shown_again_keeps_its_token_rather_than_renewing_it(client, labelled):
    _, codes = labelled
    switch = _lang_switch(client.get(f"/q/{codes[4]}").text)
    again = client.get(f"/q/{codes[4]}{switch}").text
    assert "seen=" + switch.split("seen=")[1].split("&")[0] in _lang_switch(again)


@pytest.mark.parametrize(
    "agent", ["Mozilla/5.0 (compatible; bingbot/2.0)", "TelegramBot (like TwitterBot)", "Slackbot-LinkExpanding 1.0"]
)
def test_crawlers_and_link_previews_see_the_verdict_without_counting(client, labelled, db, agent):
    _, codes = labelled
    page = client.get(f"/q/{codes[6]}", headers={"User-Agent": agent})
    assert page.status_code == 200 and "正品" in page.text
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert db.exec(select(func.count()).select_from(Scan)).one() == 0
    assert client.get(f"/api/v1/verify/{codes[6]}").json["scans"]["count"] == 1


def test_a_head_request_is_no_scan(client, labelled, db):
    _, codes = labelled
    assert client.head(f"/q/{codes[6]}").status_code == 200
    assert client.head(f"/api/v1/verify/{codes[6]}").status_code == 200
    assert db.exec(select(func.count()).select_from(Scan)).one() == 0


def test_robots_keep_search_engines_off_the_scan_pages(client):
    robots = client.get("/robots.txt")
    assert robots.status_code == 200 and "Disallow: /q/" in robots.text and "Disallow: /01/" in robots.text


def test_a_code_already_seen_far_apart_is_not_told_so_twice_on_one_scan(client, labelled, db):
    _, codes = labelled
    client.get(f"/api/v1/verify/{codes[9]}?lat=39.90&lon=116.40", environ_base=ELSEWHERE)  # Beijing
    client.get(f"/api/v1/verify/{codes[9]}?lat=30.12&lon=104.63")  # Ziyang: now marked far apart
    page = client.get(f"/q/{codes[9]}", environ_base={"REMOTE_ADDR": "10.2.2.2"}).text  # a third phone
    token = page.split('data-token="')[1].split('"')[0]
    shared = client.post("/q/place", json={"token": token, "lat": 39.90, "lon": 116.40})
    assert shared.json == {"stored": True, "warning": True}  # far from Ziyang's scan, which was another's
    last = db.exec(select(Scan).order_by(Scan.id.desc())).first()
    assert last.reasons == ["seen_far_apart"]


def test_a_trailing_slash_that_an_app_added_opens_the_same_scan(client, labelled):
    _, codes = labelled
    page = client.get(f"/Q/{codes[2]}/")
    assert page.status_code == 200 and "正品" in page.text


def test_places_far_apart_sent_from_one_client_do_not_brand_a_label_copied(client, labelled):
    """One phone is not in Ziyang and Beijing within hours: that is someone typing coordinates."""
    _, codes = labelled
    client.get(f"/api/v1/verify/{codes[7]}?lat=30.12&lon=104.63")
    assert client.get(f"/api/v1/verify/{codes[7]}?lat=39.90&lon=116.40").json["verdict"] == "genuine"
    assert client.get(f"/api/v1/verify/{codes[7]}").json["verdict"] == "genuine"


def test_the_page_never_carries_the_clients_address_hash(app, client, labelled, db):
    """The seen token is signed for the client's address, not made of it: a token's payload is readable."""
    _, codes = labelled
    page = client.get(f"/q/{codes[2]}").text
    stored = db.exec(select(Scan)).one().ip_hash
    token = page.split("seen=")[1].split('"')[0].split("&")[0]
    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert stored and stored not in page and stored.encode() not in decoded


def test_the_place_can_still_be_shared_after_switching_language_but_only_once(client, labelled, db):
    _, codes = labelled
    english = client.get(f"/q/{codes[3]}{_lang_switch(client.get(f'/q/{codes[3]}').text)}").text
    token = english.split('data-token="')[1].split('"')[0]
    assert client.post("/q/place", json={"token": token, "lat": 30.12, "lon": 104.63}).json["stored"] is True
    assert db.exec(select(Scan)).one().latitude == 30.12  # the one scan, not a second
    again = english.split('data-again="')[1].split('"')[0].replace("&amp;", "&")
    assert 'data-token="' not in client.get(again).text  # shared: the button is gone


def test_scans_and_reports_go_on_when_the_limiters_redis_is_down(make_app, labelled):
    down = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1",
        "VERIFY_RATE_LIMIT": "2 per minute",
    }
    client = make_app(**down).test_client()
    url = f"/api/v1/verify/{labelled[1][1]}"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]  # counted in memory meanwhile
    filed = client.post("/api/v1/reports", json={"description": "可疑的柠檬包装", "code": labelled[1][2]})
    assert filed.status_code == 201
    make_app(RATELIMIT_ENABLED=True)  # the shared limiter back on memory, so the fixture can reset its counts


def test_the_scan_pages_stylesheet_and_script_are_kept_by_the_phone_until_they_change(client, labelled, tmp_path):
    """Each scan used to ask again for the stylesheet, script and icon (three more requests, and one more
    round trip before the page could be drawn): they now carry their content's version and are kept."""
    _, codes = labelled
    page = client.get(f"/q/{codes[1]}").text
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert len(assets) == 3 and all(re.search(r"\?v=[0-9a-f]{12}$", url) for url in assets)
    for url in assets:
        kept = client.get(url)
        assert kept.status_code == 200 and kept.cache_control.max_age == 365 * 24 * 3600
    assert client.get("/static/scan.css").cache_control.no_cache  # no version named: asked again each time
    assert client.get("/static/scan.css?v=000000000000").cache_control.no_cache  # not this content's

    changed = tmp_path / "scan.css"
    changed.write_text("body{}")
    before = static_files.version(changed)
    changed.write_text("body{color:red}")
    assert static_files.version(changed) != before


def test_a_static_file_replaced_while_its_version_is_read_leaves_its_link_unversioned(tmp_path, monkeypatch):
    """A deploy swapping a file between its size check and its read: the pages linking it must still come."""
    from pathlib import Path

    swapped = tmp_path / "app.css"
    swapped.write_text("body{}")

    def gone(self):
        raise FileNotFoundError(2, "No such file or directory", str(self))

    monkeypatch.setattr(Path, "read_bytes", gone)
    assert static_files.version(swapped) == ""
