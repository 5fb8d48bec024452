"""A batch's traceability events as an EPCIS 2.0 JSON-LD document (GS1 EPCIS 2.0 / CBV 2.0).

Events: the harvest as an ObjectEvent that creates the lot (quantity), one commissioning ObjectEvent per
label issue (the unit labels' identifiers in its epcList), and the recall, if any. Identifiers are GS1
Digital Link URIs where the licensee has a GTIN, and this registry's label URLs otherwise; both are URIs,
which is what EPCIS 2.0 asks of an EPC.
"""

from datetime import UTC, datetime, time, timedelta, timezone

from ..models import Area, Batch, LabelIssue, Licensee, Product
from .codes import CodeKeys, code_url, sign_code

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


def _unit_ids(*, batch: Batch, licensee: Licensee, issue: LabelIssue, keys: CodeKeys, base_url: str):
    for serial in range(issue.first_serial, issue.last_serial + 1):
        if licensee.gtin:
            yield f"https://id.gs1.org/01/{licensee.gtin}/10/{batch.batch_no}/21/{serial}"
        else:
            yield code_url(base_url, sign_code(keys=keys, batch_id=batch.id, serial=serial))


def _place(base_url: str, area: Area) -> dict:
    return {"id": f"{base_url}/areas/{area.code}"}


def _event(kind: str, at: datetime, **fields) -> dict:
    return {"type": kind, "eventTime": _instant(at), "eventTimeZoneOffset": "+08:00", **fields}


def batch_document(
    *,
    batch: Batch,
    product: Product,
    licensee: Licensee,
    origin: Area,
    issues: list[LabelIssue],
    keys: CodeKeys,
    base_url: str,
    now: datetime,
) -> dict:
    """The EPCIS document of one batch."""
    lot = _class_id(batch=batch, licensee=licensee, base_url=base_url)
    quantity = batch.quantity * (0.5 if batch.unit == "jin" else 1)
    harvest = datetime.combine(batch.harvested_on, time(12), tzinfo=CHINA)
    ilmd = {
        "cbvmda:lotNumber": batch.batch_no,
        "cbvmda:countryOfOrigin": "CN",
        "cbvmda:harvestStartDate": batch.harvested_on.isoformat(),
        "gi:product": product.code,
        "gi:productName": product.name,
        "gi:origin": origin.code,
        "gi:originName": origin.name,
        "gi:licenseeUSCC": licensee.uscc,
    }
    if product.shelf_life_days:
        ilmd["cbvmda:bestBeforeDate"] = (batch.harvested_on + timedelta(days=product.shelf_life_days)).isoformat()
    events = [
        _event(
            "ObjectEvent",
            harvest,
            action="ADD",
            bizStep="creating_class_instance",
            disposition="active",
            quantityList=[{"epcClass": lot, "quantity": quantity, "uom": UNITS[batch.unit]}],
            readPoint=_place(base_url, origin),
            bizLocation=_place(base_url, origin),
            ilmd=ilmd,
        )
    ]
    for issue in issues:
        events.append(
            _event(
                "ObjectEvent",
                issue.issued_at,
                action="ADD",
                bizStep="commissioning",
                disposition="active",
                epcList=list(_unit_ids(batch=batch, licensee=licensee, issue=issue, keys=keys, base_url=base_url)),
                readPoint=_place(base_url, origin),
            )
        )
    if batch.status == "recalled" and batch.recalled_at:
        events.append(
            _event(
                "ObjectEvent",
                batch.recalled_at,
                action="OBSERVE",
                bizStep="holding",
                disposition="recalled",
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
