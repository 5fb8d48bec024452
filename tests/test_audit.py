"""The hash-chained audit log finds an edited or a deleted event."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from gi_registry.domain import audit, batches, registry
from gi_registry.i18n import china_time, reason_words
from gi_registry.models import Batch


def _suspend_and_reinstate(db, world):
    for action in ("suspend", "reinstate"):
        registry.change_licence_state(session=db, licence=world["licence_a"], action=action, reason=action, actor=None)
    db.commit()


def test_an_untouched_chain_verifies(db, world):
    _suspend_and_reinstate(db, world)
    assert audit.verify_chain(session=db) == []


def test_a_rolled_back_event_is_not_linked_to(db, world):
    """The chain head carried through a transaction is forgotten when the transaction is not kept."""
    licence = world["licence_a"]
    registry.change_licence_state(session=db, licence=licence, action="suspend", reason="kept?", actor=None)
    db.rollback()
    registry.change_licence_state(session=db, licence=licence, action="suspend", reason="kept", actor=None)
    db.commit()
    assert audit.verify_chain(session=db) == []
    assert [e.reason for e in audit.history(session=db, entity_type="licence", entity_id=licence.id)][-1] == "kept"


def test_an_event_appended_by_another_session_is_linked_to(db, world, app):
    """A session that already appended once reads the head afresh in its next transaction."""
    _suspend_and_reinstate(db, world)
    from gi_registry.db import session_scope

    with app.app_context(), session_scope() as other:
        licence = other.get(type(world["licence_a"]), world["licence_a"].id)
        registry.change_licence_state(session=other, licence=licence, action="revoke", reason="other", actor=None)
    registry.change_licence_state(session=db, licence=world["licence_b"], action="suspend", reason="mine", actor=None)
    db.commit()
    assert audit.verify_chain(session=db) == []


def test_an_edited_reason_is_found_and_named(db, world):
    _suspend_and_reinstate(db, world)
    target = audit.history(session=db, entity_type="licence", entity_id=world["licence_a"].id)[-1]
    db.exec(text("UPDATE auditevent SET reason = 'nothing happened' WHERE id = :id").bindparams(id=target.id))
    db.commit()
    db.expire_all()
    problems = audit.verify_chain(session=db)
    assert [(p.event_id, "content edited" in p.problem) for p in problems] == [(target.id, True)]


def test_a_deleted_event_is_found_at_its_successor_and_named(db, world):
    _suspend_and_reinstate(db, world)
    events = audit.history(session=db, entity_type="licence", entity_id=world["licence_a"].id)
    db.exec(text("DELETE FROM auditevent WHERE id = :id").bindparams(id=events[-2].id))
    db.commit()
    problems = audit.verify_chain(session=db)
    assert [p.event_id for p in problems] == [events[-1].id]
    assert f"event {events[-2].id} before it is missing (deleted)" in problems[0].problem


def test_the_newest_events_cut_off_are_found_against_a_head_written_down_before(app, db, world):
    runner = app.test_cli_runner()
    _suspend_and_reinstate(db, world)
    intact = runner.invoke(args=["audit-verify"])
    head = intact.output.split("head: ")[1].strip()
    assert intact.exit_code == 0 and head == str(audit.chain_head(session=db))
    db.exec(text("DELETE FROM auditevent WHERE id = :id").bindparams(id=audit.chain_head(session=db).event_id))
    db.commit()
    assert runner.invoke(args=["audit-verify"]).exit_code == 0  # the chain alone cannot tell its end is gone
    cut = runner.invoke(args=["audit-verify", "--head", head])
    assert cut.exit_code == 1 and "the head written down earlier is deleted: the log was cut off" in cut.output
    assert runner.invoke(args=["audit-verify", "--head", "12:abc"]).exit_code == 1  # not a head: said so


def test_a_head_written_down_before_still_holds_as_the_chain_grows(app, db, world):
    runner = app.test_cli_runner()
    head = runner.invoke(args=["audit-verify"]).output.split("head: ")[1].strip()
    _suspend_and_reinstate(db, world)
    grown = runner.invoke(args=["audit-verify", "--head", head])
    assert grown.exit_code == 0 and grown.output.split("head: ")[1].strip() != head


def test_audit_verify_command_exits_nonzero_on_tampering(app, db, world):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit-verify"]).exit_code == 0
    db.exec(text("UPDATE auditevent SET actor = 'someone-else' WHERE id = 1"))
    db.commit()
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1
    assert "event 1" in result.output


def test_the_audit_page_lists_events_and_finds_tampering(login_as, db, world):
    _suspend_and_reinstate(db, world)
    client = login_as("regulator")
    page = client.get("/admin/audit?entity_type=licence").text
    assert (
        "licence.suspend</code>" in page and "licence.reinstate</code>" in page and "licensee.create</code>" not in page
    )
    intact = client.get("/admin/audit?verify=1").text
    assert "哈希链完整" in intact and str(audit.chain_head(session=db)) in intact
    db.exec(text("UPDATE auditevent SET reason = 'x' WHERE id = 2"))
    db.commit()
    broken = client.get("/admin/audit?verify=1").text
    assert 'role="alert"' in broken and "内容被改动：哈希值不符" in broken and "content edited" not in broken


def test_cooperatives_and_anonymous_never_see_the_audit_log(login_as, world):
    assert login_as("coop").get("/admin/audit").status_code == 403
    assert login_as(None).get("/admin/audit").status_code == 302


def test_the_audit_page_filters_by_action_and_day_and_links_each_object(login_as, db, world):
    _suspend_and_reinstate(db, world)
    admin = login_as("admin")
    page = admin.get("/admin/audit?action=licence.suspend").text
    licence_id = world["licence_a"].id
    assert f'<a href="/admin/licences/{licence_id}">' in page and "licence.reinstate</code>" not in page
    assert '<option value="licence.suspend" selected>' in page
    today = registry.registry_today()
    assert "licence.suspend</code>" in admin.get(f"/admin/audit?from={today}&to={today}").text
    assert "licence.suspend</code>" not in admin.get(f"/admin/audit?to={today - timedelta(days=1)}").text
    regulator = login_as("regulator").get("/admin/audit?entity_type=product").text
    assert "/admin/products/" not in regulator  # product pages are the admin's


def test_the_audit_page_finds_consumers_and_the_system_by_the_words_it_shows_for_them(login_as, db, world, client):
    _suspend_and_reinstate(db, world)  # by the system (actor None)
    assert client.post("/report", data={"description": "包装上的二维码是印上去的"}).status_code == 302
    admin = login_as("admin")
    for words in ("消费者", "consumer", " Consumer "):
        page = admin.get(f"/admin/audit?actor={words}").text
        assert "report.file</code>" in page and "licence.suspend</code>" not in page, words
    both = admin.get("/admin/audit?actor=consumer&action=licence.suspend&lang=en").text
    assert "report.file</code>" in both and "licence.suspend</code>" not in both
    assert "A consumer&#39;s only events are reports filed: the action filter was set to those." in both
    system = admin.get("/admin/audit?actor=系统&lang=zh").text
    assert "licence.suspend</code>" in system
    assert "report.file</code>" not in admin.get("/admin/audit?actor=admin@test.cn").text


@pytest.mark.parametrize("path", ["/admin/audit", "/regulator/reports", "/coop/batches"])
def test_a_list_given_its_days_the_wrong_way_round_swaps_them_and_says_so(login_as, db, world, make_batch, path):
    """Not an empty list that looks like no record at all: the filter was plainly meant the other way."""
    make_batch()  # harvested 2026-10-01
    today = registry.registry_today()
    start = min(date(2026, 10, 1), today)
    reversed_days = f"?from={today + timedelta(days=1)}&to={start - timedelta(days=1)}&lang=zh"
    page = login_as("regulator").get(path + reversed_days).text
    assert "起始日期晚于截止日期：两者已对调。" in page
    if path != "/regulator/reports":  # the batch's registration is in the log and the list
        assert "未找到匹配" not in page


def test_the_audit_page_shows_what_an_event_changed(edit_lemon, login_as):
    assert edit_lemon(kg_per_label="2").status_code == 302
    page = login_as("admin").get("/admin/audit?entity_type=product&lang=en").text
    changed = page.split('<dl class="changes">')[1].split("</dl>")[0]
    assert "<dt>Kilograms per unit label</dt>" in changed and "<del>0.5</del> → 2.0" in changed
    assert "<dt>Name</dt>" not in changed  # unchanged fields are left out


def test_the_audit_page_names_fields_and_values_in_the_pages_language(login_as, db, world, make_batch):
    batch = make_batch()
    batches.recall_batch(session=db, batch=batch, reason="农残超标", actor=None)
    db.commit()
    page = login_as("admin").get("/admin/audit?entity_type=batch&action=batch.recall&lang=zh").text
    changed = page.split('<dl class="changes">')[1].split("</dl>")[0]
    assert "<dt>状态</dt>" in changed and "<del>有效</del> → 已召回" in changed
    recalled_at = china_time(db.get(Batch, batch.id).recalled_at)
    assert f"<dt>召回时间</dt><dd>{recalled_at}</dd>" in changed
    assert "recalled_at" not in changed and "+00:00" not in changed


def test_the_audit_page_finds_one_records_events_from_its_batch_page(login_as, db, world, make_batch, keys):
    batch, other = make_batch(), make_batch()
    batches.issue_labels(session=db, batch=batch, count=2, keys=keys, actor=None)
    db.commit()
    client = login_as("regulator")
    link = f"/admin/audit?entity_type=batch&amp;entity_id={batch.id}"
    assert link in client.get(f"/coop/batches/{batch.id}").text
    page = client.get(f"/admin/audit?entity_type=batch&entity_id=%23{batch.id}&lang=en").text
    objects = re.findall(r"Batch #(\d+)</a>", page)
    assert objects == [str(batch.id)] * 2 and str(other.id) not in objects  # labels, then registration
    assert link not in login_as("coop").get(f"/coop/batches/{batch.id}").text  # the log is the staff's


@pytest.mark.parametrize(
    ("stored", "action", "english"),
    [
        (audit.DEMO_REASON, "licence.grant", "Demo data"),
        (f"{audit.IMPORT_REASON} 2026年名单.xlsx", "licence.grant", "Bulk import of 2026年名单.xlsx"),
        (f"{audit.IMPORT_REASON} 2026年名单.xlsx", "licensee.create", "Bulk import of 2026年名单.xlsx"),
        (audit.IMPORT_REASON, "licence.grant", "Bulk import"),
        ("批量导入的复核", "licence.grant", "批量导入的复核"),  # a person's own words that merely begin alike
        (f"{audit.IMPORT_REASON} 有误，撤销", "licence.revoke", f"{audit.IMPORT_REASON} 有误，撤销"),  # no import's
        ("found copied", "licence.suspend", "found copied"),
        (None, "licence.grant", ""),
    ],
)
def test_reasons_the_registry_writes_itself_read_in_the_pages_language(app, stored, action, english):
    with app.test_request_context("/?lang=en"):
        assert reason_words(stored, action) == english
    with app.test_request_context("/?lang=zh"):
        assert reason_words(stored, action) == (stored or "")


@pytest.mark.parametrize(
    "where",
    [
        "entity_type = 'batch' AND entity_id = '8'",  # a batch page's history, a case page's events
        "(entity_type = 'report' AND entity_id = '1' OR entity_type = 'batch' AND entity_id = '8')",
    ],
)
def test_one_records_events_are_found_by_its_kind_and_number_together(db, where):
    """Without statistics SQLite took the index on the kind alone and read every batch's events for one batch's
    history: 100,000 rows for each batch page of a registry with 200,000 events (bench/scale.py)."""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans by its statistics")
    plan = " ".join(row[-1] for row in db.exec(text(f"EXPLAIN QUERY PLAN SELECT id FROM auditevent WHERE {where}")))
    assert "ix_auditevent_subject" in plan and "ix_auditevent_entity_type" not in plan, plan
