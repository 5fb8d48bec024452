"""The EPCIS 2.0 JSON-LD export of a batch's events."""

import json
from datetime import date, datetime

import pytest
from sqlmodel import select

from gi_registry.domain import batches
from gi_registry.domain.registry import CHINA
from gi_registry.models import LabelIssue, Licensee


def _events(response) -> list[dict]:
    document = response.json if response.is_json else __import__("json").loads(response.data)
    assert document["type"] == "EPCISDocument" and document["schemaVersion"] == "2.0"
    assert document["@context"][0] == "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    return document["epcisBody"]["eventList"]


def test_harvest_commissioning_and_recall_with_gs1_identifiers(client, token_for, db, make_batch, keys):
    batch = make_batch(quantity=20)
    batches.issue_labels(session=db, batch=batch, count=3, keys=keys, actor=None)
    batches.issue_labels(session=db, batch=batch, count=2, keys=keys, actor=None)
    batches.recall_batch(session=db, batch=batch, reason="农残超标", actor=None)
    db.commit()
    response = client.get(f"/api/v1/batches/{batch.id}/epcis", headers=token_for("coop"))
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    harvest, first, second, recall = _events(response)
    lot = f"https://id.gs1.org/01/06901234000016/10/{batch.batch_no}"
    assert (harvest["type"], harvest["action"], harvest["bizStep"]) == ("ObjectEvent", "ADD", "creating_class_instance")
    assert harvest["quantityList"] == [{"epcClass": lot, "quantity": 20.0, "uom": "KGM"}]
    assert harvest["ilmd"]["cbvmda:lotNumber"] == batch.batch_no and harvest["ilmd"]["gi:origin"] == "512021126"
    assert first["bizStep"] == "commissioning" and first["epcList"] == [f"{lot}/21/{n}" for n in (1, 2, 3)]
    assert second["epcList"] == [f"{lot}/21/{n}" for n in (4, 5)]
    assert (recall["disposition"], recall["gi:recallReason"]) == ("recalled", "农残超标")
    assert recall["epcList"] == [f"{lot}/21/{n}" for n in range(1, 6)]  # each label recalled, not the lot alone
    for event in (harvest, first, second, recall):
        assert event["eventTime"].endswith("Z") and event["eventTimeZoneOffset"] == "+08:00"


def test_a_lot_harvested_and_labelled_one_morning_is_created_before_its_labels(client, token_for, db, make_batch, keys):
    batch = make_batch(harvested_on=date(2026, 10, 1))
    batch.created_at = datetime(2026, 10, 1, 8, 30, tzinfo=CHINA)  # registered at half past eight, China time
    db.add(batch)
    batches.issue_labels(session=db, batch=batch, count=1, keys=keys, actor=None)
    db.commit()
    issued = db.exec(select(LabelIssue).where(LabelIssue.batch_id == batch.id)).one()
    issued.issued_at = datetime(2026, 10, 1, 9, 0, tzinfo=CHINA)
    db.add(issued)
    db.commit()
    harvest, labels = _events(client.get(f"/api/v1/batches/{batch.id}/epcis", headers=token_for("coop")))
    assert harvest["eventTime"] == "2026-10-01T00:30:00.000Z" < labels["eventTime"] == "2026-10-01T01:00:00.000Z"


def test_every_event_keeps_its_id_when_the_document_is_fetched_again(client, token_for, db, make_batch, keys):
    batch = make_batch()
    batches.issue_labels(session=db, batch=batch, count=2, keys=keys, actor=None)
    db.commit()
    ids = [
        [
            event["eventID"]
            for event in _events(client.get(f"/api/v1/batches/{batch.id}/epcis", headers=token_for("coop")))
        ]
        for _ in range(2)
    ]
    assert ids[0] == ids[1] and len(set(ids[0])) == 2 and all(i.startswith("urn:uuid:") for i in ids[0])


def test_without_a_gtin_the_labels_are_named_without_their_signed_codes(client, token_for, db, make_batch, keys):
    """The document goes to buyers: a label's signed code would let them print labels that scan genuine."""
    batch = make_batch(licensee="coop_b")
    batches.issue_labels(session=db, batch=batch, count=2, keys=keys, actor=None)
    db.commit()
    response = client.get(f"/api/v1/batches/{batch.id}/epcis", headers=token_for("coop_b"))
    _harvest, commissioning = _events(response)
    assert commissioning["epcList"] == [f"http://gi.test/batches/{batch.batch_no}/labels/{n}" for n in (1, 2)]
    for label in batches.issued_labels(batch=batch, keys=keys, base_url="http://gi.test"):
        assert label.code not in response.text


@pytest.mark.parametrize("who", ["coop_b", None])
def test_another_cooperative_or_anonymous_gets_nothing(client, token_for, make_batch, who):
    batch = make_batch()
    response = client.get(f"/api/v1/batches/{batch.id}/epcis", headers=token_for(who) if who else {})
    assert response.status_code == (404 if who else 401)


def test_the_portal_offers_the_download(login_as, make_batch):
    batch = make_batch()
    client = login_as("coop")
    assert f"/coop/batches/{batch.id}/epcis.jsonld" in client.get(f"/coop/batches/{batch.id}").text
    assert client.get(f"/coop/batches/{batch.id}/epcis.jsonld").status_code == 200


def test_a_document_is_written_out_piece_by_piece_and_reads_as_json_dumps_would(db, make_batch):
    """A batch of ten million labels would be a gigabyte of identifiers held at once otherwise."""
    from gi_registry.domain.epcis import UnitIds
    from gi_registry.downloads import json_chunks

    batch = make_batch()
    ids = UnitIds(batch, db.get(Licensee, batch.licensee_id), range(1, 5002), "http://gi.test")
    document = {
        "a": [1, "二", None, {"b": ids, "c": 2.5, "d": []}],
        "e": {},
        "f": UnitIds(ids.batch, ids.licensee, range(0), ""),
    }
    chunks = list(json_chunks(document, run=1000))
    plain = {**document, "a": [1, "二", None, {"b": list(ids), "c": 2.5, "d": []}], "f": []}
    assert "".join(chunks) == json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    assert max(len(chunk) for chunk in chunks) < 1000 * 80  # a run of identifiers at most, never all 5,001


def test_the_epcis_download_streams(client, token_for, db, make_batch, keys):
    batch = make_batch(quantity=3000)
    batches.issue_labels(session=db, batch=batch, count=6000, keys=keys, actor=None)
    db.commit()
    response = client.get(f"/api/v1/batches/{batch.id}/epcis", headers=token_for("coop"))
    assert response.is_streamed and response.status_code == 200
    _harvest, commissioning = _events(response)
    assert len(commissioning["epcList"]) == 6000 and commissioning["epcList"][-1].endswith("/21/6000")
