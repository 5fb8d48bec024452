"""Batch registration under the GI rules, label issuing and recall, in the domain core."""

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from gi_registry.domain import DomainError, batches, codes, registry
from gi_registry.models import AuditEvent, Batch, LabelIssue


def _counts(db):
    return len(db.exec(select(Batch)).all()), len(db.exec(select(AuditEvent)).all())


def _register(db, world, licensee="coop_a", **changes):
    values = {
        "product_code": "anyue-lemon",
        "quantity": 100.0,
        "unit": "kg",
        "harvested_on": date(2026, 10, 1),
        "origin_code": "512021126",
    }
    values.update(changes)
    return batches.register_batch(
        session=db, licensee=world[licensee], data=batches.BatchInput(**values), actor=None, today=date(2026, 11, 28)
    )


def test_a_licensed_batch_from_inside_the_area_gets_a_readable_number(db, world):
    first = _register(db, world)
    second = _register(db, world, origin_code="512021")
    assert (first.batch_no, second.batch_no) == ("AY-2026-000001", "AY-2026-000002")
    assert first.licence_id == world["licence_a"].id and first.status == "active"


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"origin_code": "512022101"}, 422, "origin_outside_area", "origin_code"),  # a 乐至县 town
        ({"origin_code": "512022"}, 422, "origin_outside_area", "origin_code"),
        ({"origin_code": "999999"}, 422, "origin_outside_area", "origin_code"),
        ({"product_code": "lezhi-cocoon", "origin_code": "512022"}, 403, "licence_inactive", "product_code"),
        ({"product_code": "no-such"}, 422, "invalid_batch", "product_code"),
        ({"quantity": 0}, 422, "invalid_batch", "quantity"),
        ({"quantity": -5}, 422, "invalid_batch", "quantity"),
        ({"quantity": float("nan")}, 422, "invalid_batch", "quantity"),
        ({"unit": "box"}, 422, "invalid_batch", "unit"),
        ({"harvested_on": date(2026, 11, 29)}, 422, "invalid_batch", "harvested_on"),
        ({"harvested_on": date(2019, 6, 1)}, 403, "licence_inactive", "product_code"),  # before the licence
    ],
)
def test_each_refusal_says_why_and_writes_nothing(db, world, changes, status, code, field):
    before = _counts(db)
    with pytest.raises(DomainError) as refused:
        _register(db, world, **changes)
    assert (refused.value.status, refused.value.code) == (status, code)
    assert field in refused.value.fields
    db.commit()  # not a rollback: anything the refusal left behind would be written
    assert _counts(db) == before


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_a_suspended_or_revoked_licence_registers_no_batch(db, world, action):
    registry.change_licence_state(session=db, licence=world["licence_a"], action=action, reason="r", actor=None)
    with pytest.raises(DomainError) as refused:
        _register(db, world)
    assert refused.value.code == "licence_inactive" and refused.value.status == 403


def test_an_expired_licence_registers_no_batch_even_for_an_old_harvest(db, world):
    world["licence_a"].valid_to = date(2026, 10, 31)
    db.add(world["licence_a"])
    with pytest.raises(DomainError) as refused:
        _register(db, world, harvested_on=date(2026, 10, 1))
    assert refused.value.code == "licence_inactive"


# The refusal names what is wrong: a clerk told the harvest date is unlicensed checks a date that is right.
OUT_OF_FORCE = {
    "expired since": ("expire", "no licence for this product is in force today"),
    "suspended": ("suspend", "the licence for this product on the harvest date is suspended or revoked"),
    "revoked": ("revoke", "the licence for this product on the harvest date is suspended or revoked"),
}


@pytest.mark.parametrize(("way", "why"), OUT_OF_FORCE.values(), ids=OUT_OF_FORCE)
def test_a_licence_that_covered_the_harvest_date_is_refused_for_what_it_is_now(db, world, way, why):
    if way == "expire":  # in force on the harvest date, run out since
        world["licence_a"].valid_to = date(2026, 10, 31)
        db.add(world["licence_a"])
    else:
        registry.change_licence_state(session=db, licence=world["licence_a"], action=way, reason="r", actor=None)
    with pytest.raises(DomainError) as refused:
        _register(db, world, harvested_on=date(2026, 10, 1))
    assert (refused.value.code, refused.value.message) == ("licence_inactive", why)


def test_a_harvest_date_no_licence_covers_is_named(db, world):
    with pytest.raises(DomainError) as refused:
        _register(db, world, harvested_on=date(2019, 6, 1))
    assert refused.value.message == "no active licence for this product on the harvest date"


@pytest.mark.parametrize(
    ("quantity", "unit", "kg_per_label", "quota"),
    [
        (100, "kg", 0.5, 200),
        (1, "t", 0.5, 2000),
        (10, "jin", 0.5, 10),
        (0.4, "kg", 0.5, 0),
        (1.5, "kg", 0.5, 3),
    ],
)
def test_the_label_quota_follows_from_the_weight(quantity, unit, kg_per_label, quota):
    batch = Batch(
        batch_no="x",
        licensee_id=1,
        product_id=1,
        licence_id=1,
        quantity=quantity,
        unit=unit,
        harvested_on=date(2026, 1, 1),
        origin_code="x",
    )
    product = registry.Product(code="x", name="x", name_en="x", kind="gi_product", kg_per_label=kg_per_label)
    assert batches.label_quota(batch=batch, product=product) == quota


def test_issuing_a_hundred_thousand_labels_writes_one_row(db, world, keys):
    batch = _register(db, world, quantity=60, unit="t")
    issue = batches.issue_labels(session=db, batch=batch, count=100_000, keys=keys, actor=None)
    db.commit()
    assert (issue.first_serial, issue.last_serial, batch.labels_issued) == (1, 100_000, 100_000)
    assert len(db.exec(select(LabelIssue)).all()) == 1
    more = batches.issue_labels(session=db, batch=batch, count=5, keys=keys, actor=None)
    assert (more.first_serial, more.last_serial) == (100_001, 100_005)


def test_past_the_quota_is_refused_and_changes_nothing(db, world, keys):
    batch = _register(db, world, quantity=10)  # 20 labels at 0.5 kg each
    batches.issue_labels(session=db, batch=batch, count=15, keys=keys, actor=None)
    db.commit()
    with pytest.raises(DomainError) as refused:
        batches.issue_labels(session=db, batch=batch, count=6, keys=keys, actor=None)
    assert refused.value.code == "label_quota_exceeded" and refused.value.params == {"left": 5}
    db.commit()  # not a rollback: anything the refusal left behind would be written
    assert db.get(Batch, batch.id).labels_issued == 15
    assert len(db.exec(select(LabelIssue)).all()) == 1


@pytest.mark.parametrize("count", [0, -1])
def test_a_count_below_one_is_refused(db, world, keys, count):
    batch = _register(db, world)
    with pytest.raises(DomainError) as refused:
        batches.issue_labels(session=db, batch=batch, count=count, keys=keys, actor=None)
    assert refused.value.code == "invalid_count"


def test_issued_labels_carry_codes_that_parse_back_to_their_serials(db, world, keys):
    batch = _register(db, world)
    batches.issue_labels(session=db, batch=batch, count=3, keys=keys, actor=None)
    labels = list(batches.issued_labels(batch=batch, keys=keys, base_url="https://gi.example.cn"))
    assert [label.serial for label in labels] == [1, 2, 3]
    for label in labels:
        parsed = codes.parse_code(label.code, keys=keys)
        assert (parsed.batch_id, parsed.serial) == (batch.id, label.serial)
        assert label.url == f"HTTPS://GI.EXAMPLE.CN/Q/{label.code}"


def test_codes_signed_before_a_key_rotation_still_parse(db, world):
    old_keys = codes.CodeKeys.from_setting("1:the-old-secret-key-1")
    code = batches.label_for(batch=_register(db, world), serial=1, keys=old_keys, base_url="http://x").code
    rotated = codes.CodeKeys.from_setting("2:the-new-secret-key-2,1:the-old-secret-key-1")
    assert codes.parse_code(code, keys=rotated).serial == 1
    assert rotated.current == 2


def test_a_recall_is_recorded_with_its_reason_and_stops_new_labels(db, world, keys):
    batch = _register(db, world)
    batches.recall_batch(session=db, batch=batch, reason="农残超标", actor=world["users"]["coop"])
    db.commit()
    assert batch.status == "recalled" and batch.recall_reason == "农残超标" and batch.recalled_at
    with pytest.raises(DomainError) as refused:
        batches.issue_labels(session=db, batch=batch, count=1, keys=keys, actor=None)
    assert refused.value.status == 409
    with pytest.raises(DomainError):
        batches.recall_batch(session=db, batch=batch, reason="again", actor=None)


def test_a_cooperative_sees_only_its_own_batches(db, world):
    own = _register(db, world)
    other = _register(db, world, licensee="coop_b", product_code="lezhi-cocoon", origin_code="512022")
    db.commit()
    coop = world["users"]["coop"]
    found, total = batches.search_batches(session=db, user=coop, where=batches.BatchFilter(), page=1, per_page=50)
    assert [b.id for b in found] == [own.id] and total == 1
    with pytest.raises(DomainError) as refused:
        batches.get_batch_for(session=db, batch_id=other.id, user=coop)
    assert refused.value.status == 404
    staff, total = batches.search_batches(
        session=db, user=world["users"]["regulator"], where=batches.BatchFilter(), page=1, per_page=50
    )
    assert total == 2


def test_batch_filters_by_product_status_date_and_number(db, world):
    a = _register(db, world, harvested_on=date(2026, 9, 1))
    b = _register(db, world, harvested_on=date(2026, 10, 15))
    batches.recall_batch(session=db, batch=b, reason="r", actor=None)
    db.commit()
    user = world["users"]["admin"]

    def ids(**where):
        found, _ = batches.search_batches(session=db, user=user, where=batches.BatchFilter(**where), page=1, per_page=9)
        return sorted(x.id for x in found)

    assert ids(status="recalled") == [b.id]
    assert ids(harvested_from=date(2026, 10, 1)) == [b.id]
    assert ids(harvested_to=date(2026, 9, 30)) == [a.id]
    assert ids(q="000001") == [a.id]
    assert ids(product_code="lezhi-cocoon") == []
    assert date(2026, 11, 28) - timedelta(days=1) > a.harvested_on


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_no_labels_under_a_suspended_or_revoked_licence(db, world, keys, action):
    batch = _register(db, world)
    registry.change_licence_state(session=db, licence=world["licence_a"], action=action, reason="r", actor=None)
    with pytest.raises(DomainError) as refused:
        batches.issue_labels(session=db, batch=batch, count=1, keys=keys, actor=None)
    assert (refused.value.status, refused.value.code) == (403, "licence_inactive")
    db.commit()
    assert db.get(Batch, batch.id).labels_issued == 0


def test_a_renewed_licence_keeps_labels_coming(db, world, keys):
    batch = _register(db, world)
    world["licence_a"].valid_to = date(2026, 11, 1)  # the batch's licence ran out …
    db.add(world["licence_a"])
    registry.grant_licence(
        session=db,
        licensee=world["coop_a"],
        product_code="anyue-lemon",  # … and was renewed
        valid_from=date(2026, 11, 2),
        valid_to=date(2049, 1, 1),
        actor=None,
    )
    assert batches.issue_labels(session=db, batch=batch, count=2, keys=keys, actor=None).last_serial == 2


def test_an_unlicensed_batch_from_outside_the_area_is_told_both(db, world):
    with pytest.raises(DomainError) as refused:
        _register(db, world, product_code="lezhi-cocoon", origin_code="512021126")  # not licensed, and from 安岳
    assert (refused.value.status, refused.value.code) == (403, "licence_inactive")
    assert set(refused.value.fields) == {"product_code", "origin_code"}


def test_a_licence_granted_after_a_revocation_is_no_renewal_of_the_batch(db, world, keys):
    """Scans judge the batch by its own licence, revoked: labels issued now would only ever scan as revoked."""
    batch = _register(db, world)
    registry.change_licence_state(session=db, licence=world["licence_a"], action="revoke", reason="r", actor=None)
    registry.grant_licence(
        session=db,
        licensee=world["coop_a"],
        product_code="anyue-lemon",
        valid_from=date(2026, 1, 1),
        valid_to=date(2049, 1, 1),
        actor=None,
    )
    with pytest.raises(DomainError) as refused:
        batches.issue_labels(session=db, batch=batch, count=2, keys=keys, actor=None)
    assert (refused.value.status, refused.value.code) == (403, "licence_inactive")
    assert batches.licence_status(session=db, batch=batch) == "revoked"


def test_a_withdrawn_product_gets_no_new_batch_nor_new_labels(db, world, keys):
    batch = _register(db, world)
    world["lemon"].status = "withdrawn"
    db.add(world["lemon"])
    with pytest.raises(DomainError) as refused:
        _register(db, world)
    assert (refused.value.status, refused.value.code) == (422, "invalid_batch")
    assert refused.value.fields == {"product_code": "the product is withdrawn"}
    with pytest.raises(DomainError) as refused:
        batches.issue_labels(session=db, batch=batch, count=1, keys=keys, actor=None)
    assert (refused.value.status, refused.value.code) == (409, "product_withdrawn")
    db.commit()
    assert db.get(Batch, batch.id).labels_issued == 0 and len(db.exec(select(Batch)).all()) == 1


def test_a_product_rule_tightened_after_issuing_leaves_no_labels_rather_than_fewer_than_none(db, world, keys):
    batch = _register(db, world, quantity=10)  # 20 labels at 0.5 kg each
    batches.issue_labels(session=db, batch=batch, count=20, keys=keys, actor=None)
    world["lemon"].kg_per_label = 1.0  # the quota falls to 10, under the 20 already issued
    db.add(world["lemon"])
    assert batches.labels_left(batch=batch, product=world["lemon"]) == 0
    with pytest.raises(DomainError) as refused:
        batches.issue_labels(session=db, batch=batch, count=1, keys=keys, actor=None)
    assert refused.value.code == "label_quota_exceeded" and refused.value.params == {"left": 0}


@pytest.mark.parametrize("harvested_on", [date(26, 10, 1), date(1999, 12, 31)])
def test_a_harvest_before_2000_is_taken_for_a_typo(db, world, harvested_on):
    with pytest.raises(DomainError) as refused:
        _register(db, world, harvested_on=harvested_on)
    assert refused.value.code == "invalid_batch"
    assert refused.value.fields == {"harvested_on": "before 2000-01-01: check the year"}


@pytest.mark.parametrize(("q", "found"), [("%", 0), ("_", 0), ("AY_2026", 0), ("AY-2026", 2), ("-000002", 1)])
def test_a_batch_number_search_takes_percent_and_underscore_literally(db, world, q, found):
    _register(db, world)
    _register(db, world)
    db.commit()
    where = batches.BatchFilter(q=q)
    _, total = batches.search_batches(session=db, user=world["users"]["admin"], where=where, page=1, per_page=9)
    assert total == found


# ---- correcting a mistyped batch ------------------------------------------------------------


def correct(db, batch, reason="录入错误", **changes):
    corrected = batches.correct_batch(
        session=db, batch=batch, data=batches.BatchDetails.of(batch, **changes), reason=reason, actor=None
    )
    db.commit()
    return corrected


def test_a_batch_without_labels_can_be_corrected_and_the_log_keeps_before_and_after(db, make_batch):
    batch = make_batch(quantity=100.0)
    changed = correct(db, batch, quantity=80.0, harvested_on=date(2026, 9, 30), origin_code="512021100", grade="一级")
    assert changed == ["quantity", "harvested_on", "origin_code", "grade"]
    db.refresh(batch)
    assert (batch.quantity, batch.harvested_on, batch.origin_code, batch.grade) == (
        80.0,
        date(2026, 9, 30),
        "512021100",
        "一级",
    )
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "batch.correct")).one()
    assert event.reason == "录入错误" and (event.before["quantity"], event.after["quantity"]) == (100.0, 80.0)


def test_a_correction_that_changes_nothing_is_not_logged(db, make_batch):
    batch = make_batch()
    assert correct(db, batch, notes="  ") == []
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "batch.correct")).all() == []


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"origin_code": "512022"}, 422, "origin_outside_area", "origin_code"),  # Lezhi grows no Anyue lemons
        ({"harvested_on": date(2027, 1, 1)}, 422, "invalid_correction", "harvested_on"),  # the future
        ({"harvested_on": date(2025, 12, 31)}, 422, "invalid_correction", "harvested_on"),  # the number says 2026
        ({"quantity": 0.1}, 422, "invalid_correction", "quantity"),  # not one label's worth
        ({"quantity": -5.0}, 422, "invalid_correction", "quantity"),
        ({"unit": "bushel"}, 422, "invalid_correction", "unit"),
    ],
)
def test_a_correction_meets_the_rules_of_registration_and_writes_nothing(db, make_batch, changes, status, code, field):
    batch = make_batch()
    before = batches.batch_snapshot(batch)
    with pytest.raises(DomainError) as refused:
        correct(db, batch, **changes)
    db.rollback()
    assert (refused.value.status, refused.value.code) == (status, code) and field in refused.value.fields
    db.refresh(batch)
    assert batches.batch_snapshot(batch) == before


def test_a_harvest_date_moved_outside_the_licence_is_refused(db, world, make_batch):
    batch = make_batch(harvested_on=date(2026, 10, 1))
    licence = world["licence_a"]
    licence.valid_from = date(2026, 6, 1)
    db.add(licence)
    db.commit()
    with pytest.raises(DomainError) as refused:
        correct(db, batch, harvested_on=date(2026, 5, 1))
    assert (refused.value.status, refused.value.code) == (403, "licence_inactive")
    db.rollback()
    db.refresh(batch)
    assert batch.harvested_on == date(2026, 10, 1)


def test_a_harvest_date_moved_within_a_licence_run_out_since_is_refused_as_such(db, world, make_batch):
    batch = make_batch(harvested_on=date(2026, 10, 1))
    world["licence_a"].valid_to = date(2026, 10, 31)
    db.add(world["licence_a"])
    db.commit()
    with pytest.raises(DomainError) as refused:
        correct(db, batch, harvested_on=date(2026, 10, 2))
    assert (refused.value.code, refused.value.message) == ("licence_inactive", OUT_OF_FORCE["expired since"][1])


def test_once_labels_are_issued_what_consumers_read_stays(db, make_batch, keys):
    batch = make_batch(quantity=100.0)  # 200 labels' worth
    batches.issue_labels(session=db, batch=batch, count=150, keys=keys, actor=None)
    db.commit()
    for changes in ({"harvested_on": date(2026, 9, 1)}, {"origin_code": "512021100"}, {"unit": "jin"}):
        with pytest.raises(DomainError) as refused:
            correct(db, batch, **changes)
        db.rollback()
        assert (refused.value.status, refused.value.code) == (409, "labels_issued")
    with pytest.raises(DomainError) as too_little:
        correct(db, batch, quantity=70.0)  # 140 labels' worth, under the 150 issued
    db.rollback()
    assert too_little.value.fields == {
        "quantity": "at least %(minimum)s %(unit)s for the %(issued)s labels already issued"
    }
    assert too_little.value.params == {"minimum": "75", "unit": "kg", "issued": 150}  # 150 × 0.5 kg
    assert correct(db, batch, quantity=75.0, inspection_cert="SC-2026-01") == ["quantity", "inspection_cert"]


def test_the_least_quantity_is_named_in_the_batchs_unit_rounded_up(db, make_batch, keys):
    batch = make_batch(quantity=3.0, unit="t")  # 6,000 labels' worth
    batches.issue_labels(session=db, batch=batch, count=4001, keys=keys, actor=None)
    db.commit()
    with pytest.raises(DomainError) as too_little:
        correct(db, batch, quantity=2.0)
    assert too_little.value.params["minimum"] == "2.001"  # 4,001 × 0.5 kg = 2,000.5 kg, up to whole kilograms


def test_a_recalled_batch_cannot_be_corrected(db, make_batch):
    batch = make_batch()
    batches.recall_batch(session=db, batch=batch, reason="r", actor=None)
    db.commit()
    with pytest.raises(DomainError) as refused:
        correct(db, batch, notes="late note")
    assert (refused.value.status, refused.value.code) == (409, "batch_recalled")


@pytest.mark.parametrize("action", ["suspend", "revoke"])
def test_a_batch_under_a_licence_not_in_force_is_not_corrected(db, world, make_batch, action):
    """A suspended licensee could raise its batches' quantities, and with them the label quotas, meanwhile."""
    batch = make_batch(quantity=10.0)
    registry.change_licence_state(session=db, licence=world["licence_a"], action=action, reason="r", actor=None)
    db.commit()
    with pytest.raises(DomainError) as refused:
        correct(db, batch, quantity=1000.0)
    assert (refused.value.status, refused.value.code) == (403, "licence_inactive")
    assert refused.value.message == "the licence for this product on the harvest date is suspended or revoked"
    db.rollback()
    db.refresh(batch)
    assert batch.quantity == 10.0


def test_a_correction_judges_the_licence_on_the_day_it_is_given(db, world, make_batch):
    batch = make_batch(quantity=10.0)
    after_the_term = world["licence_a"].valid_to + timedelta(days=1)
    data = batches.BatchDetails.of(batch, quantity=12.0)
    with pytest.raises(DomainError) as refused:
        batches.correct_batch(session=db, batch=batch, data=data, reason="r", actor=None, today=after_the_term)
    assert refused.value.code == "licence_inactive"


def test_a_correction_needs_a_reason(db, make_batch):
    batch = make_batch()
    with pytest.raises(DomainError) as refused:
        correct(db, batch, reason=" ", notes="x")
    assert refused.value.fields == {"reason": "required"}


def test_labels_issued_against_the_quantity_before_a_correction_are_refused(db, make_batch, keys):
    """A label issue that read the batch before a correction lowered its quantity cannot overrun the new quota."""
    batch = make_batch(quantity=100.0)
    with Session(db.get_bind(), expire_on_commit=False) as other:
        stale = other.get(Batch, batch.id)  # what a second request read before the correction
        other.commit()
        correct(db, batch, quantity=10.0)  # 20 labels' worth
        with pytest.raises(DomainError) as refused:
            batches.issue_labels(session=other, batch=stale, count=150, keys=keys, actor=None)
    assert refused.value.code == "label_quota_exceeded"


def test_two_corrections_each_valid_alone_cannot_combine(db, make_batch):
    """4,000,000 kg is a batch; tonnes is a unit; 4,000,000 tonnes would be 8 billion labels."""
    batch = make_batch(quantity=100.0)
    with Session(db.get_bind(), expire_on_commit=False) as other:
        stale = other.get(Batch, batch.id)  # a second cooperative user's read, before the first correction
        other.commit()
        correct(db, batch, quantity=4_000_000.0)
        with pytest.raises(DomainError) as refused:
            batches.correct_batch(
                session=other, batch=stale, data=batches.BatchDetails.of(stale, unit="t"), reason="r", actor=None
            )
        other.rollback()
    assert (refused.value.status, refused.value.code) == (409, "batch_changed")
    db.refresh(batch)
    assert (batch.quantity, batch.unit) == (4_000_000.0, "kg")


def test_a_product_rule_tightened_since_does_not_stop_a_correction_of_the_notes(db, world, make_batch, keys):
    batch = make_batch(quantity=10.0)  # 20 labels' worth at 0.5 kg each
    batches.issue_labels(session=db, batch=batch, count=20, keys=keys, actor=None)
    world["lemon"].kg_per_label = 1.0  # now 10 labels' worth, under the 20 issued
    db.add(world["lemon"])
    db.commit()
    assert correct(db, batch, notes="冷库 3 号") == ["notes"]
    with pytest.raises(DomainError) as refused:
        correct(db, batch, quantity=15.0)  # a changed quantity meets today's rule
    assert refused.value.params["minimum"] == "20"
