"""The licence life cycle and the register's rules, in the domain core."""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlmodel import select

from gi_registry.domain import Conflict, DomainError, audit, batches, registry
from gi_registry.models import AuditEvent, Licence, Licensee

ACTIONS = ["suspend", "reinstate", "revoke"]
# (stored state, action) → resulting state, or None where the change is forbidden (409).
TABLE = {
    ("active", "suspend"): "suspended",
    ("active", "reinstate"): None,
    ("active", "revoke"): "revoked",
    ("suspended", "suspend"): None,
    ("suspended", "reinstate"): "active",
    ("suspended", "revoke"): "revoked",
    ("revoked", "suspend"): None,
    ("revoked", "reinstate"): None,
    ("revoked", "revoke"): None,
}


@pytest.mark.parametrize(("state", "action"), list(TABLE))
def test_each_state_allows_only_its_transitions(db, world, state, action):
    licence = world["licence_a"]
    licence.state = state
    db.add(licence)
    db.commit()
    expected = TABLE[(state, action)]
    if expected is None:
        with pytest.raises(Conflict) as refused:
            registry.change_licence_state(session=db, licence=licence, action=action, reason="r", actor=None)
        assert refused.value.status == 409
        db.rollback()
        assert db.get(Licence, licence.id).state == state
    else:
        registry.change_licence_state(session=db, licence=licence, action=action, reason="r", actor=None)
        assert licence.state == expected


def test_a_change_records_who_when_why_and_the_states(db, world):
    regulator = world["users"]["regulator"]
    registry.change_licence_state(
        session=db, licence=world["licence_a"], action="suspend", reason="假冒举报核实中", actor=regulator
    )
    db.commit()
    last = audit.history(session=db, entity_type="licence", entity_id=world["licence_a"].id)[-1]
    assert (last.action, last.actor, last.reason) == ("licence.suspend", "reg@test.cn", "假冒举报核实中")
    assert last.before["state"] == "active" and last.after["state"] == "suspended"
    assert last.at is not None


def test_a_change_without_a_reason_is_refused(db, world):
    with pytest.raises(DomainError) as refused:
        registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="  ", actor=None)
    assert refused.value.code == "reason_required"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 12, 31), "pending"),
        (date(2026, 1, 1), "active"),
        (date(2026, 12, 31), "active"),
        (date(2027, 1, 1), "expired"),
    ],
)
def test_expiry_follows_from_the_dates(today, expected):
    licence = Licence(licensee_id=1, product_id=1, valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31))
    assert registry.licence_status(licence, today=today) == expected


def test_suspension_outranks_the_dates():
    licence = Licence(
        licensee_id=1, product_id=1, valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31), state="suspended"
    )
    assert registry.licence_status(licence, today=date(2027, 6, 1)) == "suspended"


def _count(db, model) -> int:
    return len(db.exec(registry.select(model)).all())


@pytest.mark.parametrize(
    ("product_code", "start", "end", "field"),
    [
        ("no-such-product", date(2026, 1, 1), date(2026, 12, 31), "product_code"),
        ("anyue-lemon", date(2026, 12, 31), date(2026, 1, 1), "valid_to"),
    ],
)
def test_a_bad_grant_names_the_field_and_writes_nothing(db, world, product_code, start, end, field):
    before = _count(db, Licence), _count(db, AuditEvent)
    with pytest.raises(DomainError) as refused:
        registry.grant_licence(
            session=db, licensee=world["coop_b"], product_code=product_code, valid_from=start, valid_to=end, actor=None
        )
    assert field in refused.value.fields
    db.commit()  # not a rollback: anything the refusal left behind would be written
    assert (_count(db, Licence), _count(db, AuditEvent)) == before


def test_an_overlapping_licence_for_the_same_product_is_a_conflict(db, world):
    with pytest.raises(Conflict):
        registry.grant_licence(
            session=db,
            licensee=world["coop_a"],
            product_code="anyue-lemon",
            valid_from=date(2030, 1, 1),
            valid_to=date(2030, 12, 31),
            actor=None,
        )


def test_a_duplicate_licensee_is_a_conflict_and_writes_nothing(db, world):
    before = _count(db, Licensee)
    data = registry.LicenseeInput(name="Another name", uscc=world["coop_a"].uscc.lower(), county_code="512021")
    with pytest.raises(Conflict) as refused:
        registry.save_licensee(session=db, data=data, actor=None)
    assert refused.value.code == "duplicate_licensee"
    db.commit()  # not a rollback: anything the refusal left behind would be written
    assert _count(db, Licensee) == before


def test_origin_choices_cover_the_county_and_its_townships_only(db, world):
    codes = {area.code for area in registry.origin_choices(session=db, product=world["lemon"])}
    assert "512021" in codes and "512021126" in codes  # 安岳县 and 南薰镇
    assert not any(code.startswith("512022") for code in codes)


@pytest.mark.parametrize(
    ("field", "limit"), [("name", 128), ("address", 200), ("contact_name", 64), ("contact_phone", 32)]
)
def test_a_licensee_field_past_its_column_is_refused_before_the_database(db, world, field, limit):
    data = registry.LicenseeInput(name="雁江蜜柑合作社", uscc="93512002MA6Y10M03N", county_code="512002")
    setattr(data, field, "x" * (limit + 1))
    with pytest.raises(DomainError) as refused:
        registry.save_licensee(session=db, data=data, actor=None)
    assert refused.value.fields[field] == "too long"


def _as_input(licensee: Licensee, **changes) -> registry.LicenseeInput:
    kept = {name: getattr(licensee, name) for name in ("name", "uscc", "county_code", "gtin")}
    return registry.LicenseeInput(**{**kept, **changes})


@pytest.mark.parametrize("gtin", ["06901234000023", ""])
def test_a_gtin_is_fixed_once_labels_carry_it(db, world, make_batch, keys, gtin):
    """Printed GS1 links name it: changed, they would scan as forged; EPCIS events would name other objects."""
    coop = world["coop_a"]
    registry.save_licensee(session=db, data=_as_input(coop, gtin=gtin), actor=None, licensee=coop)  # no labels yet
    registry.save_licensee(session=db, data=_as_input(coop, gtin="06901234000016"), actor=None, licensee=coop)
    batches.issue_labels(session=db, batch=make_batch(), count=1, keys=keys, actor=None)
    db.commit()
    with pytest.raises(Conflict) as refused:
        registry.save_licensee(session=db, data=_as_input(coop, gtin=gtin), actor=None, licensee=coop)
    assert refused.value.code == "gtin_in_use" and refused.value.fields == {"gtin": "fixed: labels carry it"}
    db.rollback()
    renamed = registry.save_licensee(
        session=db, data=_as_input(coop, name="安岳柠檬专业合作社"), actor=None, licensee=coop
    )
    assert (renamed.name, renamed.gtin) == ("安岳柠檬专业合作社", "06901234000016")  # the rest can change


def test_a_gtin_13_is_kept_as_its_14_digits(db, world):
    data = registry.LicenseeInput(
        name="雁江蜜柑合作社", uscc="93512002MA6Y10M03N", county_code="512002", gtin="6901234000023"
    )
    assert registry.save_licensee(session=db, data=data, actor=None).gtin == "06901234000023"


def test_of_two_officers_acting_on_the_same_state_the_second_gets_the_conflict(app, db, world):
    from sqlmodel import Session

    with Session(app.extensions["db_engine"], expire_on_commit=False) as other:
        stale = other.get(Licence, world["licence_a"].id)  # read while still active
        registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="a", actor=None)
        db.commit()
        with pytest.raises(Conflict):
            registry.change_licence_state(session=other, licence=stale, action="suspend", reason="b", actor=None)
        other.rollback()
    db.expire_all()
    events = [e.action for e in audit.history(session=db, entity_type="licence", entity_id=world["licence_a"].id)]
    assert events.count("licence.suspend") == 1


def test_a_change_seen_before_a_suspension_and_reinstatement_meanwhile_is_refused(db, world):
    licence = world["licence_a"]
    seen = registry.version_of(licence)  # active, as a page showed it
    for action in ("suspend", "reinstate"):  # active again, but not the licence that page showed
        registry.change_licence_state(session=db, licence=licence, action=action, reason="r", actor=None)
        db.commit()
    with pytest.raises(Conflict) as refused:
        registry.change_licence_state(session=db, licence=licence, action="suspend", reason="s", actor=None, seen=seen)
    assert refused.value.code == "licence_changed"
    db.rollback()
    now = registry.version_of(db.get(Licence, licence.id))
    registry.change_licence_state(session=db, licence=licence, action="suspend", reason="s", actor=None, seen=now)
    assert licence.state == "suspended"


def test_of_two_grants_at_once_for_the_same_term_the_second_gets_the_conflict(app, db, world):
    from sqlmodel import Session

    term = {"valid_from": registry.registry_today(), "valid_to": registry.registry_today() + timedelta(days=365)}
    engine, coop_id = app.extensions["db_engine"], world["coop_b"].id

    def grant(session: Session) -> Licence:
        licensee = session.get(Licensee, coop_id)
        return registry.grant_licence(
            session=session, licensee=licensee, product_code="anyue-lemon", actor=None, **term
        )

    with Session(engine) as first, Session(engine) as second, ThreadPoolExecutor(1) as pool:
        grant(first)  # written, not yet committed: a second office clicks Grant meanwhile
        later = pool.submit(grant, second)
        time.sleep(0.5)  # the second grant has checked for an overlap, or waits to
        first.commit()
        with pytest.raises(Conflict, match="already holds a licence"):
            later.result(timeout=10)
        second.rollback()
    lemon = world["lemon"].id
    granted = db.exec(select(Licence).where(Licence.licensee_id == coop_id, Licence.product_id == lemon)).all()
    assert len(granted) == 1


@pytest.mark.parametrize(
    ("gtin", "why"),
    [
        ("0", "a GTIN has 8, 12, 13 or 14 digits"),
        ("123", "a GTIN has 8, 12, 13 or 14 digits"),
        ("69012340000a", "a GTIN has 8, 12, 13 or 14 digits"),
        ("²" * 8, "a GTIN has 8, 12, 13 or 14 digits"),  # digits to str.isdigit, not to int()
        ("６９０１２３４０００００１６", "a GTIN has 8, 12, 13 or 14 digits"),
        ("6901234000017", "the check digit does not match"),
    ],
)
def test_a_short_or_wrong_gtin_is_refused_not_padded(db, world, gtin, why):
    data = registry.LicenseeInput(name="雁江蜜柑合作社", uscc="93512002MA6Y10M03N", county_code="512002", gtin=gtin)
    with pytest.raises(DomainError) as refused:
        registry.save_licensee(session=db, data=data, actor=None)
    assert refused.value.fields["gtin"] == why


@pytest.mark.parametrize(
    ("start", "end", "field", "why"),
    [
        (date(26, 1, 1), date(2026, 12, 31), "valid_from", "before 2000-01-01: check the year"),
        (date(1999, 12, 31), date(2026, 12, 31), "valid_from", "before 2000-01-01: check the year"),
        (date(26, 1, 1), date(26, 12, 31), "valid_to", "before 2000-01-01: check the year"),
        (date(2026, 1, 1), date(2056, 1, 2), "valid_to", "a licence runs at most 30 years"),
        (date(2028, 2, 29), date(2058, 3, 1), "valid_to", "a licence runs at most 30 years"),
        (date(2026, 1, 1), date(9999, 12, 31), "valid_to", "a licence runs at most 30 years"),
    ],
)
def test_an_implausible_term_is_refused_with_the_field_to_correct(db, world, start, end, field, why):
    with pytest.raises(DomainError) as refused:
        registry.grant_licence(
            session=db, licensee=world["coop_b"], product_code="anyue-lemon", valid_from=start, valid_to=end, actor=None
        )
    assert refused.value.code == "invalid_licence" and refused.value.fields[field] == why


def test_a_term_that_has_already_ended_is_not_granted(db, world):
    yesterday = registry.registry_today() - timedelta(days=1)
    with pytest.raises(DomainError) as refused:
        registry.grant_licence(
            session=db,
            licensee=world["coop_b"],
            product_code="anyue-lemon",
            valid_from=yesterday - timedelta(days=365),
            valid_to=yesterday,
            actor=None,
        )
    assert refused.value.fields == {"valid_to": "the term has already ended: a licence is granted for days to come"}
    ending_today = registry.grant_licence(
        session=db,
        licensee=world["coop_b"],
        product_code="anyue-lemon",
        valid_from=yesterday,
        valid_to=yesterday + timedelta(days=1),
        actor=None,
    )
    assert registry.licence_status(ending_today) == "active"


@pytest.mark.parametrize(
    ("start", "end"), [(date(2000, 1, 1), date(2030, 1, 1)), (date(2028, 2, 29), date(2058, 2, 28))]
)
def test_a_term_of_thirty_years_from_2000_on_is_granted(db, world, start, end):
    licence = registry.grant_licence(
        session=db, licensee=world["coop_b"], product_code="anyue-lemon", valid_from=start, valid_to=end, actor=None
    )
    assert licence.id is not None


def test_a_batch_prefix_belongs_to_one_product(db, world):
    mandarin = registry.ProductInput("yanjiang-mandarin", "雁江蜜柑", "Yanjiang Mandarin", "gi_product", ["512002"])
    mandarin.batch_prefix = world["lemon"].batch_prefix
    with pytest.raises(DomainError) as refused:
        registry.save_product(session=db, data=mandarin, actor=None)
    assert refused.value.code == "invalid_product"
    assert refused.value.fields == {"batch_prefix": "another product already uses this prefix"}
    lemon = registry.ProductInput("anyue-lemon", "安岳柠檬", "Anyue Lemon", "gi_product", ["512021"], batch_prefix="AY")
    assert registry.save_product(session=db, data=lemon, actor=None, product=world["lemon"]).batch_prefix == "AY"


# A licence whose term has ended (stored active, expired by its dates) → the result, or None (409).
EXPIRED_TABLE = {"suspend": None, "reinstate": None, "revoke": "revoked"}


@pytest.mark.parametrize("action", ACTIONS)
def test_an_expired_licence_cannot_be_suspended_only_revoked(db, world, action):
    licence = world["licence_a"]
    licence.valid_from, licence.valid_to = date(2020, 1, 1), date(2021, 12, 31)
    db.add(licence)
    db.commit()
    assert registry.allowed_actions(licence) == ["revoke"]
    if EXPIRED_TABLE[action] is None:
        with pytest.raises(Conflict):
            registry.change_licence_state(session=db, licence=licence, action=action, reason="r", actor=None)
    else:
        registry.change_licence_state(session=db, licence=licence, action=action, reason="r", actor=None)
        assert licence.state == EXPIRED_TABLE[action]


@pytest.mark.parametrize(("q", "found"), [("%", 0), ("_", 0), ("合作社", 2), ("93512021", 1)])
def test_the_directory_search_takes_percent_and_underscore_literally(db, world, q, found):
    _, total = registry.search_licensees(session=db, q=q)
    assert total == found


@pytest.mark.parametrize("gtin", ["06901234000016", "6901234000016"])  # the same GTIN, padded or not
def test_a_gtin_belongs_to_one_licensee(db, world, gtin):
    data = registry.LicenseeInput(name="乐至蚕桑合作社", uscc=world["coop_b"].uscc, county_code="512022", gtin=gtin)
    with pytest.raises(Conflict) as refused:
        registry.save_licensee(session=db, data=data, actor=None, licensee=world["coop_b"])
    assert refused.value.code == "duplicate_gtin" and refused.value.fields == {"gtin": "already registered"}
    own = registry.LicenseeInput(name="安岳柠檬合作社", uscc=world["coop_a"].uscc, county_code="512021", gtin=gtin)
    assert registry.save_licensee(session=db, data=own, actor=None, licensee=world["coop_a"]).gtin == "06901234000016"


@pytest.mark.parametrize(
    ("phone", "taken"),
    [
        ("13800000001", True),
        ("0832-1234567", True),
        ("+86 138 0000 0000", True),
        ("(028) 8888 6666 转 12", True),
        ("0832-1234567 / 13800000001", True),
        ("（028）8888 6666", True),  # as a Chinese keyboard types it
        ("0832－1234567", True),
        ("13800000001、13900000002", True),
        ("028-88886666 分机 12", True),
        ("46023", True),  # a spreadsheet's number, kept short
        ("", True),
        ("abc", False),
        ("call Li", False),
        ("1234", False),
    ],
)
def test_a_contact_phone_is_digits_to_ring(db, world, phone, taken):
    data = registry.LicenseeInput(
        name="雁江蜜柑合作社", uscc="93512002MA6Y10M03N", county_code="512002", contact_phone=phone
    )
    if taken:
        assert registry.save_licensee(session=db, data=data, actor=None).contact_phone == phone
    else:
        with pytest.raises(DomainError) as refused:
            registry.save_licensee(session=db, data=data, actor=None)
        assert set(refused.value.fields) == {"contact_phone"}


def test_a_phone_stored_before_the_rule_does_not_block_other_edits(db, world):
    licensee = world["coop_a"]
    licensee.contact_phone = "找李经理"  # typed before phones were checked
    db.add(licensee)
    db.commit()
    data = registry.LicenseeInput(
        name=licensee.name,
        uscc=licensee.uscc,
        county_code=licensee.county_code,
        address="安岳县岳阳镇新地址 8 号",
        contact_phone="找李经理",
        gtin=licensee.gtin,
    )
    saved = registry.save_licensee(session=db, data=data, actor=None, licensee=licensee)
    assert saved.address == "安岳县岳阳镇新地址 8 号"
    with pytest.raises(DomainError) as refused:  # typed anew, it is checked
        registry.save_licensee(session=db, data=replace(data, contact_phone="找王经理"), actor=None, licensee=licensee)
    assert set(refused.value.fields) == {"contact_phone"}


def test_a_licence_changed_between_reading_and_writing_is_not_acted_on(app, db, world):
    """The page's version check passed on the licence as read; a colleague's suspend and reinstate commit
    before the write, leaving the state as read: the write itself finds the licence changed."""
    from sqlmodel import Session

    licence_id = world["licence_a"].id
    with Session(app.extensions["db_engine"]) as mine:
        licence = mine.get(Licence, licence_id)  # read: active, as the page showed it
        seen = registry.version_of(licence)
        for action in ("suspend", "reinstate"):  # a colleague, meanwhile, committed
            registry.change_licence_state(
                session=db, licence=db.get(Licence, licence_id), action=action, reason="r", actor=None
            )
            db.commit()
        with pytest.raises(Conflict) as refused:
            registry.change_licence_state(
                session=mine, licence=licence, action="revoke", reason="old page", actor=None, seen=seen
            )
        assert refused.value.code == "licence_changed"
        mine.rollback()
    db.expire_all()
    assert db.get(Licence, licence_id).state == "active"


def test_a_product_saved_by_a_colleague_after_it_was_read_is_not_saved_over(app, db, world):
    """The form's version matched the product as read; a colleague's save commits before this one writes."""
    from sqlmodel import Session

    from gi_registry.models import Product

    data = registry.ProductInput(
        code="anyue-lemon", name="安岳柠檬", name_en="Anyue Lemon", kind="gi_product", area_codes=["512021"]
    )
    product_id = world["lemon"].id
    with Session(app.extensions["db_engine"]) as mine:
        product = mine.get(Product, product_id)  # read as the form showed it
        seen = registry.version_of(product)
        wider = replace(data, area_codes=["512021", "512022"])  # a colleague adds 乐至, meanwhile, committed
        registry.save_product(session=db, data=wider, actor=None, product=db.get(Product, product_id))
        db.commit()
        with pytest.raises(Conflict) as refused:
            registry.save_product(session=mine, data=data, actor=None, product=product, seen=seen)
        assert refused.value.code == "product_changed"
        mine.rollback()
    db.expire_all()
    areas = registry.production_area(session=db, product=db.get(Product, product_id))
    assert [area.code for area in areas] == ["512021", "512022"]
