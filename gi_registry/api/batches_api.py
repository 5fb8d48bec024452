"""Batches and their labels: cooperatives register and issue; staff read; a cooperative sees only its own."""

from flask import jsonify, request
from sqlalchemy.exc import IntegrityError

from .. import downloads
from ..access import api_roles, api_user
from ..db import get_session
from ..domain import DomainError, batches, registry
from ..extensions import code_keys
from ..models import BATCH_READERS, Batch, Licensee, Product
from . import api
from .schemas import (
    BatchCorrect,
    BatchCreate,
    BatchPublic,
    LabelPublic,
    LabelsCreate,
    LabelsIssued,
    Recall,
    choice_query,
    idempotency_key,
    page_of,
    page_query,
    parse_body,
    product_query,
    sheet_query,
)


def batch_public(batch: Batch, *, scan_count: int | None = None, product: Product | None = None) -> dict:
    session = get_session()
    # A list passes the product: the session keeps no object the caller does not hold, so session.get would
    # read the same product again for every batch of a page.
    product = product or session.get(Product, batch.product_id)
    if scan_count is None:
        scan_count = batches.scan_counts(session=session, batch_ids=[batch.id]).get(batch.id, 0)
    return BatchPublic(
        **batch.model_dump(include=set(BatchPublic.model_fields)),
        product_code=product.code,
        label_quota=batches.label_quota(batch=batch, product=product),
        scan_count=scan_count,
        batch_url=downloads.batch_url(batch),
    ).model_dump(mode="json")


def _own_batch(batch_id: int) -> Batch:
    return batches.get_batch_for(session=get_session(), batch_id=batch_id, user=api_user())


@api.post("/batches")
@api_roles("cooperative")
def create_batch():
    """With an Idempotency-Key, a request sent again (a retry after a lost answer) answers with the batch the
    first one made, marked Idempotent-Replayed, instead of registering a second batch."""
    body = parse_body(BatchCreate)
    session = get_session()
    licensee = session.get(Licensee, api_user().licensee_id)
    key = idempotency_key()
    keyed = key and batches.KeyedRequest.of(licensee=licensee, key=key, request=body.model_dump(mode="json"))
    if keyed and (done := batches.registered_by_key(session=session, licensee=licensee, keyed=keyed)):
        return _replayed(done)
    try:
        batch = batches.register_batch(
            session=session,
            licensee=licensee,
            actor=api_user(),
            data=batches.BatchInput(**body.model_dump()),
            form_token=keyed.token if keyed else None,
            request_digest=keyed.digest if keyed else None,
        )
        session.commit()
    except IntegrityError:  # the same request, sent twice at once: the other one made the batch
        session.rollback()
        if keyed and (done := batches.registered_by_key(session=session, licensee=licensee, keyed=keyed)):
            return _replayed(done)
        raise
    return batch_public(batch, scan_count=0), 201


def _replayed(batch: Batch):
    return batch_public(batch), 201, {"Idempotent-Replayed": "true"}


@api.get("/batches")
@api_roles(*BATCH_READERS)
def list_batches():
    page, per_page = page_query()
    where = batches.BatchFilter(
        product_code=product_query(session=get_session()),
        status=choice_query("status", batches.BATCH_STATES),
        q=request.args.get("q", ""),
    )
    found, total = batches.search_batches(
        session=get_session(), user=api_user(), where=where, page=page, per_page=per_page
    )
    counts = batches.scan_counts(session=get_session(), batch_ids=[b.id for b in found])
    products = {product.id: product for product in registry.list_products(session=get_session())}
    items = [batch_public(b, scan_count=counts.get(b.id, 0), product=products[b.product_id]) for b in found]
    return jsonify(page_of(items, total=total, page=page, per_page=per_page))


@api.get("/batches/<id:batch_id>")
@api_roles(*BATCH_READERS)
def get_batch(batch_id: int):
    return batch_public(_own_batch(batch_id))


@api.patch("/batches/<id:batch_id>")
@api_roles("cooperative")
def correct_batch(batch_id: int):
    batch = _own_batch(batch_id)
    body = parse_body(BatchCorrect)
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    session = get_session()
    data = batches.BatchDetails.of(batch, **changes)
    batches.correct_batch(session=session, batch=batch, data=data, reason=body.reason, actor=api_user())
    session.commit()
    return batch_public(batch)


@api.post("/batches/<id:batch_id>/labels")
@api_roles("cooperative")
def issue_labels(batch_id: int):
    batch = _own_batch(batch_id)
    body = parse_body(LabelsCreate)
    session = get_session()
    issue = batches.issue_labels(
        session=session, batch=batch, count=body.count, keys=code_keys(), actor=api_user(), seen=body.labels_issued
    )
    session.commit()
    return LabelsIssued(
        first_serial=issue.first_serial, last_serial=issue.last_serial, count=issue.last_serial - issue.first_serial + 1
    ).model_dump(), 201


@api.get("/batches/<id:batch_id>/labels")
@api_roles(*BATCH_READERS)
def list_labels(batch_id: int):
    batch = _own_batch(batch_id)
    kind, grid = request.args.get("format", "json"), request.args.get("grid", "a4-65")
    batches.check_labels_downloadable(batch, reader=api_user(), sheet=kind == "pdf")
    # Checked for every format, as the description declares the parameters for all.
    downloads.check_grid(grid)
    sheet = sheet_query()
    page, per_page = page_query(max_per_page=1000)
    if kind == "csv":
        return downloads.labels_csv(batch)
    if kind == "pdf":
        product = get_session().get(Product, batch.product_id)
        return downloads.sheet_pdf(batch, product, grid=grid, **sheet)
    if kind != "json":
        raise DomainError("invalid_format", "format must be json, csv or pdf", fields={"format": "json, csv, pdf"})
    first = (page - 1) * per_page + 1
    items = downloads.labels_of(batch, first, first + per_page - 1)
    return jsonify(
        page_of(
            [LabelPublic(**vars(x)).model_dump() for x in items],
            total=batch.labels_issued,
            page=page,
            per_page=per_page,
        )
    )


@api.get("/batches/<id:batch_id>/qr.png")
@api_roles(*BATCH_READERS)
def batch_qr_png(batch_id: int):
    return downloads.qr_png(_own_batch(batch_id))


@api.get("/batches/<id:batch_id>/qr.svg")
@api_roles(*BATCH_READERS)
def batch_qr_svg(batch_id: int):
    return downloads.qr_svg(_own_batch(batch_id))


@api.get("/batches/<id:batch_id>/epcis")
@api_roles(*BATCH_READERS)
def batch_epcis(batch_id: int):
    return downloads.epcis(_own_batch(batch_id))


@api.post("/batches/<id:batch_id>/recall")
@api_roles("cooperative", "regulator")
def recall(batch_id: int):
    batch = _own_batch(batch_id)
    body = parse_body(Recall)
    session = get_session()
    batches.recall_batch(session=session, batch=batch, reason=body.reason, actor=api_user())
    session.commit()
    return {"id": batch.id, "status": batch.status}
