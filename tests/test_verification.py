"""The verdict as a pure function of (code, state, history): every verdict and reason, without Flask."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from gi_registry.domain.codes import ParsedCode
from gi_registry.domain.verification import (
    CodeState,
    CopyRules,
    History,
    Place,
    coarse_place,
    distance_km,
    is_crawler,
    judge,
    ua_family,
)
from gi_registry.models import Batch, Licence, Product

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
RULES = CopyRules(max_serial_scans=20, far_km=100, far_hours=6, batch_scans_per_label=2)
ZIYANG = (30.12, 104.63)
CHENGDU = (30.66, 104.07)
BEIJING = (39.90, 116.40)


def state(
    batch_status="active",
    licence_state="active",
    valid_to=date(2027, 12, 31),
    harvested=date(2026, 10, 1),
    shelf_life=90,
    issued=100,
    product_status="active",
    quantity=100.0,
):
    batch = Batch(
        id=7,
        batch_no="AY-2026-000001",
        licensee_id=1,
        product_id=1,
        licence_id=1,
        quantity=quantity,
        unit="kg",
        harvested_on=harvested,
        origin_code="512021",
        status=batch_status,
        labels_issued=issued,
    )
    product = Product(
        id=1,
        code="anyue-lemon",
        name="安岳柠檬",
        name_en="Anyue Lemon",
        kind="gi_product",
        shelf_life_days=shelf_life,
        kg_per_label=0.5,
        status=product_status,
    )
    licence = Licence(
        id=1, licensee_id=1, product_id=1, valid_from=date(2026, 1, 1), valid_to=valid_to, state=licence_state
    )
    return CodeState(batch=batch, product=product, licence=licence)


def verdict(serial=5, code_state=None, history=History(), here=None, parsed=True):
    parsed_code = ParsedCode(key_id=1, batch_id=7, serial=serial) if parsed else None
    return judge(parsed=parsed_code, state=code_state or state(), history=history, here=here, rules=RULES, today=TODAY)


def place(lat_lon, minutes_ago=0):
    return Place(at=NOW - timedelta(minutes=minutes_ago), latitude=lat_lon[0], longitude=lat_lon[1])


def test_an_issued_code_of_an_active_batch_under_an_active_licence_is_genuine():
    assert (verdict().verdict, verdict().reasons) == ("genuine", ())


@pytest.mark.parametrize(
    ("kwargs", "expected", "reason"),
    [
        ({"parsed": False}, "invalid", "not_issued_by_registry"),
        ({"code_state": CodeState()}, "invalid", "unknown_batch"),
        ({"serial": 101}, "invalid", "serial_not_issued"),
        ({"code_state": state(batch_status="recalled")}, "revoked", "batch_recalled"),
        ({"code_state": state(licence_state="revoked")}, "revoked", "licence_revoked"),
        ({"code_state": state(licence_state="suspended")}, "warning", "licence_suspended"),
        ({"code_state": state(valid_to=date(2026, 11, 1))}, "warning", "licence_expired"),
        ({"code_state": state(harvested=date(2026, 8, 1))}, "warning", "past_shelf_life"),
        ({"code_state": state(product_status="withdrawn")}, "warning", "product_withdrawn"),
        ({"history": History(count=20, first_at=NOW)}, "warning", "scanned_often"),
        (
            {"history": History(count=1, recent_places=(place(BEIJING, 30),)), "here": place(ZIYANG)},
            "warning",
            "seen_far_apart",
        ),
        ({"history": History(count=1, far_apart_at=NOW)}, "warning", "seen_far_apart"),
        ({"serial": 0, "history": History(count=400)}, "warning", "batch_code_overscanned"),
    ],
)
def test_each_verdict_and_its_reason(kwargs, expected, reason):
    result = verdict(**kwargs)
    assert result.verdict == expected and reason in result.reasons


def test_two_far_places_from_one_client_are_no_copy_but_from_two_clients_are():
    beijing, ziyang = place(BEIJING, 30), place(ZIYANG)
    one = verdict(
        history=History(count=1, recent_places=(replace(beijing, client="a"),)), here=replace(ziyang, client="a")
    )
    two = verdict(
        history=History(count=1, recent_places=(replace(beijing, client="a"),)), here=replace(ziyang, client="b")
    )
    assert (one.verdict, two.verdict) == ("genuine", "warning")


def test_the_worst_finding_wins_and_every_reason_is_kept():
    result = verdict(code_state=state(batch_status="recalled", licence_state="suspended"))
    assert result.verdict == "revoked" and set(result.reasons) == {"batch_recalled", "licence_suspended"}


def test_the_scan_threshold_is_exact():
    assert verdict(history=History(count=19)).verdict == "genuine"  # the 20th scan
    assert verdict(history=History(count=20)).verdict == "warning"  # the 21st


def test_the_last_issued_serial_is_genuine_and_the_next_invalid():
    assert verdict(serial=100).verdict == "genuine"  # the batch issued 1..100
    assert verdict(serial=101).reasons == ("serial_not_issued",)


def test_far_places_exactly_the_window_apart_still_count_as_a_copy():
    far = History(count=1, recent_places=(place(BEIJING, 60 * 6),))  # far_hours=6: the window's edge
    assert verdict(history=far, here=place(ZIYANG)).reasons == ("seen_far_apart",)


def test_near_places_or_far_places_long_ago_are_not_copies():
    assert (
        verdict(history=History(count=1, recent_places=(place(CHENGDU, 30),)), here=place(ZIYANG)).verdict == "genuine"
    )
    assert (
        verdict(history=History(count=1, recent_places=(place(BEIJING, 60 * 7),)), here=place(ZIYANG)).verdict
        == "genuine"
    )


def test_a_batch_code_is_judged_against_its_quantity():
    # 100 kg at 0.5 kg per label: 200 packages; two scans each are expected, more is not.
    assert verdict(serial=0, history=History(count=399)).verdict == "genuine"
    assert verdict(serial=0, history=History(count=400)).verdict == "warning"
    assert verdict(serial=0, history=History(count=399), code_state=state(quantity=1000)).verdict == "genuine"


def test_places_are_coarsened_and_nonsense_is_dropped():
    shared = coarse_place("30.123456", "104.654321", at=NOW)
    assert (shared.latitude, shared.longitude) == (30.12, 104.65)
    for bad in (("abc", "1"), ("91", "0"), ("0", "181"), ("nan", "0"), (None, None), (True, False), (30.1, True)):
        assert coarse_place(*bad, at=NOW) is None
    # An app without a location fix sends 0, 0 (the Gulf of Guinea): as a place it would mark any label copied.
    for nowhere in ((0, 0), ("0.0", "-0.0"), (0.004, -0.001)):
        assert coarse_place(*nowhere, at=NOW) is None
    assert coarse_place(0, 104.65, at=NOW) is not None  # the equator alone is a place


def test_distance_is_about_right():
    assert 1450 < distance_km(place(ZIYANG), place(BEIJING)) < 1600
    assert 70 < distance_km(place(ZIYANG), place(CHENGDU)) < 90


@pytest.mark.parametrize(
    ("agent", "family"),
    [
        ("Mozilla/5.0 (iPhone) AppleWebKit MicroMessenger/8.0.40", "wechat"),
        ("Mozilla/5.0 (Linux; Android 14) Chrome/120 Mobile Safari/537.36", "chrome"),
        ("Mozilla/5.0 (iPhone) Version/17 Mobile/15E148 Safari/604.1", "safari"),
        ("", "other"),
    ],
)
def test_user_agent_families(agent, family):
    assert ua_family(agent) == family


@pytest.mark.parametrize(
    ("agent", "crawler"),
    [
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", True),
        ("Mozilla/5.0 (compatible; Baiduspider/2.0)", True),
        ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", True),
        ("Mozilla/5.0 (compatible; SomeNewBot/1.0)", True),
        ("WhatsApp/2.23.20.0 A", True),  # the preview of a shared link; WhatsApp opens links elsewhere
        ("Mozilla/5.0 (Linux; Android 10; CUBOT P50) AppleWebKit/537.36 Chrome/120 Mobile Safari/537.36", False),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148 MicroMessenger/8.0.40", False),
        ("", False),
    ],
)
def test_crawlers_are_told_from_phones_whose_model_ends_in_bot(agent, crawler):
    assert is_crawler(agent) is crawler
