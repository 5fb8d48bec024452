"""A batch's traceability events as an EPCIS 2.0 JSON-LD document (GS1 EPCIS 2.0 / CBV 2.0).

Events: the harvest as an ObjectEvent that creates the lot (quantity), one commissioning ObjectEvent per
label issue (the unit labels' identifiers in its epcList), and the recall, if any, naming the lot and every
label. Identifiers are GS1 Digital Link URIs where the licensee has a GTIN, and this registry's URIs of
batches and labels otherwise; both are URIs, which is what EPCIS 2.0 asks of an EPC. Never a label's signed
code: the document goes to buyers, and a code is what a label needs to scan as genuine. A receiving system
matches a scanned label to its identifier through /api/v1/verify, which names the batch and serial.

Every event has an eventID derived from what it records, so a document fetched twice gives the same IDs and
a repository takes the second copy as the same events. A harvest corrected after it was registered is told
the way EPCIS corrects an event: the harvest as first recorded, under its first ID, carries an
errorDeclaration (incorrect_data) naming the corrected harvest that replaces it.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from ..models import Area, Batch, LabelIssue, Licensee, Product

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CHINA = timezone(timedelta(hours=8))
UNITS = {"kg": "KGM", "t": "TNE", "jin": "KGM"}  # UN/ECE Rec 20 unit codes; 斤 is given in kilograms


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _class_id(*, batch: Batch, licensee: Licensee, base_url: str) -> str:
    """The lot as a class-level identifier: GS1 Digital Link with GTIN and lot, or the batch code's URL."""
    if licensee.gtin:
        return f"https://id.gs1.org/01/{licensee.gtin}/10/{batch.batch_no}"
    return f"{base_url}/batches/{batch.batch_no}"


def _serials(issue: LabelIssue) -> range:
    return range(issue.first_serial, issue.last_serial + 1)


@dataclass(frozen=True)
class UnitIds:
    """The labels' identifiers, made as they are read: a batch may carry ten million labels, and a document
    written out one identifier at a time (downloads.json_chunks) never holds them all."""

    batch: Batch
    licensee: Licensee
    serials: range
    base_url: str

    def __iter__(self) -> Iterator[str]:
        for serial in self.serials:
            yield _unit_id(batch=self.batch, licensee=self.licensee, serial=serial, base_url=self.base_url)

    def __len__(self) -> int:
        return len(self.serials)


def _unit_ids(*, batch: Batch, licensee: Licensee, serials: range, base_url: str) -> UnitIds:
    return UnitIds(batch, licensee, serials, base_url)


def _unit_id(*, batch: Batch, licensee: Licensee, serial: int, base_url: str) -> str:
    if licensee.gtin:
        return f"https://id.gs1.org/01/{licensee.gtin}/10/{batch.batch_no}/21/{serial}"
    return f"{base_url}/batches/{batch.batch_no}/labels/{serial}"


def _place(base_url: str, area: Area) -> dict:
    return {"id": f"{base_url}/areas/{area.code}"}


def _event_uuid(event_id: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, event_id)}"


def _event(kind: str, at: datetime, *, event_id: str, **fields) -> dict:
    return {
        "type": kind,
        "eventTime": _instant(at),
        "eventTimeZoneOffset": "+08:00",
        "eventID": _event_uuid(event_id),
        **fields,
    }


# What the harvest event records of a batch: a correction of these (not of its notes) corrects the event.
HARVEST_FIELDS = ("quantity", "unit", "harvested_on", "origin_code")


@dataclass(frozen=True)
class Harvest:
    """The harvest as the batch recorded it at one time."""

    quantity: float
    unit: str
    harvested_on: date
    origin: Area
    corrected_at: datetime | None = None  # when a correction replaced it; None for the harvest as it stands


def batch_document(
    *,
    batch: Batch,
    product: Product,
    licensee: Licensee,
    origin: Area,
    issues: list[LabelIssue],
    base_url: str,
    now: datetime,
    earlier: tuple[Harvest, ...] = (),
) -> dict:
    """The EPCIS document of one batch; `earlier` are the harvests corrections replaced, oldest first."""
    lot = _class_id(batch=batch, licensee=licensee, base_url=base_url)
    event_base = f"{base_url}/batches/{batch.id}/events"
    now_recorded = Harvest(batch.quantity, batch.unit, batch.harvested_on, origin)
    harvests = [*earlier, now_recorded]
    ids = [f"{event_base}/harvest"] + [f"{event_base}/harvest/{n}" for n in range(1, len(harvests))]
    events = [
        _harvest_event(
            harvest, event_id=event_id, lot=lot, batch=batch, product=product, licensee=licensee, base_url=base_url
        )
        for harvest, event_id in zip(harvests, ids, strict=True)
    ]
    for event, harvest, corrective in zip(events, earlier, ids[1:], strict=False):
        event["errorDeclaration"] = {
            "declarationTime": _instant(harvest.corrected_at),
            "reason": "incorrect_data",
            "correctiveEventIDs": [_event_uuid(corrective)],
        }
    quantity = _kilograms(now_recorded)
    for issue in issues:
        events.append(
            _event(
                "ObjectEvent",
                issue.issued_at,
                event_id=f"{event_base}/labels/{issue.first_serial}-{issue.last_serial}",
                action="ADD",
                bizStep="commissioning",
                disposition="active",
                epcList=_unit_ids(batch=batch, licensee=licensee, serials=_serials(issue), base_url=base_url),
                readPoint=_place(base_url, origin),
            )
        )
    if batch.status == "recalled" and batch.recalled_at:
        events.append(
            _event(
                "ObjectEvent",
                batch.recalled_at,
                event_id=f"{event_base}/recall",
                action="OBSERVE",
                bizStep="holding",
                disposition="recalled",
                # The labels too: a system that follows each item's disposition sees every one recalled.
                epcList=_unit_ids(
                    batch=batch, licensee=licensee, serials=range(1, batch.labels_issued + 1), base_url=base_url
                ),
                quantityList=[{"epcClass": lot, "quantity": quantity, "uom": UNITS[batch.unit]}],
                **{"gi:recallReason": batch.recall_reason},
            )
        )
    return {
        "@context": [CONTEXT, {"gi": f"{base_url}/ns/gi#"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _instant(now),
        "epcisBody": {"eventList": events},
    }


def _kilograms(harvest: Harvest) -> float:
    return harvest.quantity * (0.5 if harvest.unit == "jin" else 1)


def _harvest_event(harvest: Harvest, *, event_id: str, lot: str, batch, product, licensee, base_url) -> dict:
    """The lot's creation: an ObjectEvent with its quantity, origin and master data."""
    ilmd = {
        "cbvmda:lotNumber": batch.batch_no,
        "cbvmda:countryOfOrigin": "CN",
        "cbvmda:harvestStartDate": harvest.harvested_on.isoformat(),
        "gi:product": product.code,
        "gi:productName": product.name,
        "gi:origin": harvest.origin.code,
        "gi:originName": harvest.origin.name,
        "gi:licenseeUSCC": licensee.uscc,
    }
    if product.shelf_life_days:
        ilmd["cbvmda:bestBeforeDate"] = (harvest.harvested_on + timedelta(days=product.shelf_life_days)).isoformat()
    # The day's noon, unless the batch was registered before it: a lot harvested and labelled one morning is
    # created before its labels are commissioned, and no event lies after the document that tells it.
    created = min(datetime.combine(harvest.harvested_on, time(12), tzinfo=CHINA), batch.created_at)
    return _event(
        "ObjectEvent",
        created,
        event_id=event_id,
        action="ADD",
        bizStep="creating_class_instance",
        disposition="active",
        quantityList=[{"epcClass": lot, "quantity": _kilograms(harvest), "uom": UNITS[harvest.unit]}],
        readPoint=_place(base_url, harvest.origin),
        bizLocation=_place(base_url, harvest.origin),
        ilmd=ilmd,
    )
