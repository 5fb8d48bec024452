"""Batches: registration under the GI rules, label issuing, recall, and who may see which batch."""

import hashlib
import json
import math
from dataclasses import dataclass, replace
from datetime import date
from urllib.parse import quote

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from ..models import (
    BATCH_UNITS,
    STAFF,
    AuditEvent,
    Batch,
    BatchSequence,
    LabelIssue,
    Licence,
    Licensee,
    Product,
    Scan,
    User,
    utcnow,
)
from . import N_, Conflict, DomainError, NotFound, as_printed, ascii_digits, audit, registry
from .codes import CodeKeys, code_url, parse_code, sign_code

BATCH_STATES = ("active", "recalled")


@dataclass(kw_only=True)
class BatchDetails:
    """What a cooperative says of a batch; corrected, these replace what it said at registration."""

    quantity: float
    unit: str
    harvested_on: date
    origin_code: str
    grade: str = ""
    notes: str = ""
    inspection_cert: str = ""

    @classmethod
    def of(cls, batch: Batch, **changes) -> "BatchDetails":
        """The batch's details as they stand, with some changed."""
        return cls(**{name: getattr(batch, name) for name in DETAILS} | changes)


@dataclass(kw_only=True)
class BatchInput(BatchDetails):
    product_code: str


DETAILS = ("quantity", "unit", "harvested_on", "origin_code", "grade", "notes", "inspection_cert")
# What consumers read on the scan page and what the labels were issued under: fixed once labels are out.
FIXED_ONCE_LABELLED = ("harvested_on", "origin_code", "unit")


# labels_issued is a 32-bit integer column: a batch's quota stays far below its 2,147,483,647.
MAX_LABELS_PER_BATCH = 10_000_000


def label_quota(*, batch: Batch, product: Product) -> int:
    """How many unit labels a batch may carry: one per `kg_per_label` of its weight."""
    return quota_for(batch.quantity, batch.unit, product)


def quota_for(quantity: float, unit: str, product: Product) -> int:
    return math.floor(quantity * BATCH_UNITS[unit] / product.kg_per_label + 1e-9)


def as_typed(quantity: float) -> str:
    """A quantity as a form takes it back: up to three decimals, no thousands separator."""
    return f"{quantity:.3f}".rstrip("0").rstrip(".")


def least_quantity(*, labels: int, unit: str, product: Product) -> float:
    """The smallest quantity in `unit` (to the gram, rounded up) whose quota covers `labels` labels."""
    return math.ceil(labels * product.kg_per_label / BATCH_UNITS[unit] * 1000 - 1e-6) / 1000


def labels_left(*, batch: Batch, product: Product) -> int:
    """How many more unit labels the batch may get; never below 0, though a product's `kg_per_label`
    raised after labels were issued leaves the batch past its (recomputed) quota."""
    return max(label_quota(batch=batch, product=product) - batch.labels_issued, 0)


def _check_fields(data: BatchInput, *, product: Product | None, today: date) -> dict:
    fields = {}
    if product is None:
        fields["product_code"] = N_("unknown product")
    elif product.status != "active":
        fields["product_code"] = N_("the product is withdrawn")
    if data.unit not in BATCH_UNITS:
        fields["unit"] = N_("unknown unit")
    if why := _quantity_problem(data, product):
        fields["quantity"] = why
    if why := harvest_date_problem(data.harvested_on, today=today):
        fields["harvested_on"] = why
    return fields


def harvest_date_problem(day: date, *, today: date) -> str | None:
    """Why a harvest or production date cannot be a batch's: the form asks at once, beside its other checks."""
    if day > today:
        return N_("the harvest date is in the future")
    return registry.too_early(day)


def _quantity_problem(data: BatchInput, product: Product | None) -> str | None:
    """Why the quantity cannot be registered: not a positive number, or a label quota of none or too many."""
    number = isinstance(data.quantity, int | float) and not isinstance(data.quantity, bool)
    if not (number and math.isfinite(data.quantity) and data.quantity > 0):
        return N_("must be a positive number")
    if data.quantity > 1e9:
        return N_("too large")
    if product is None or data.unit not in BATCH_UNITS:
        return None
    quota = quota_for(data.quantity, data.unit, product)
    if quota < 1:
        return N_("too little for a single label")
    if quota > MAX_LABELS_PER_BATCH:
        return N_("too large: a batch carries at most 10,000,000 labels")
    return None


NOT_LICENSED = N_("no licence in force for it on the harvest date and today")
OUTSIDE_AREA = N_("outside the protected area")


def _licence_in_force(session: Session, licensee: Licensee, product: Product, harvested_on: date, today: date):
    """The licence active on the harvest date, if the mark is still licensed today (under it or a renewal)."""
    licence = registry.active_licence(session=session, licensee_id=licensee.id, product_id=product.id, on=harvested_on)
    if licence is None:
        return None
    still = registry.active_licence(session=session, licensee_id=licensee.id, product_id=product.id, on=today)
    return licence if still is not None else None


def _unlicensed(
    session: Session, licensee: Licensee, product: Product, harvested_on: date, fields: dict
) -> DomainError:
    """The refusal of a batch no licence allows, naming what is wrong: the harvest date outside every licence,
    or a licence that covered it but is suspended, revoked or run out now. Told only "the harvest date", a
    clerk whose licence lapsed while the form was open checks a date that is right."""
    mine = (Licence.licensee_id == licensee.id, Licence.product_id == product.id)
    covering = session.exec(
        select(Licence.state).where(*mine, Licence.valid_from <= harvested_on, Licence.valid_to >= harvested_on)
    ).all()
    if "active" in covering:
        why = N_("no licence for this product is in force today")
    elif covering:
        why = N_("the licence for this product on the harvest date is suspended or revoked")
    else:
        why = N_("no active licence for this product on the harvest date")
    return DomainError("licence_inactive", why, fields=fields, status=403)


def register_batch(
    *,
    session: Session,
    licensee: Licensee,
    data: BatchInput,
    actor: User | None,
    today: date | None = None,
    form_token: str | None = None,
    request_digest: str | None = None,
) -> Batch:
    """Register a batch if the licensee may use the mark and the origin lies in the protected area.

    `form_token`: the registration form's one-time token, or an API request's idempotency key (KeyedRequest,
    with the `request_digest` of the request), kept with the batch; the database refuses it a second time
    (IntegrityError), so a form sent twice (a double tap, a resend) cannot make two batches.
    registered_by_form and registered_by_key find the batch it made."""
    today = today or registry.registry_today()
    product = registry.find_product(session=session, code=data.product_code)
    fields = _check_fields(data, product=product, today=today)
    licence = _licence_in_force(session, licensee, product, data.harvested_on, today) if product else None
    unlicensed = product is not None and licence is None
    allowed = {area.code for area in registry.origin_choices(session=session, product=product)} if product else set()
    outside = product is not None and data.origin_code not in allowed
    # Every problem named at once, so none comes to light only after the others are fixed.
    problems = dict(fields)
    if unlicensed and "harvested_on" not in fields:  # a date mistyped says nothing of the licence yet
        problems.setdefault("product_code", NOT_LICENSED)
    if outside:
        problems.setdefault("origin_code", OUTSIDE_AREA)
    if fields:  # the form's own fields are wrong
        raise DomainError("invalid_batch", N_("the batch cannot be registered"), fields=problems)
    if unlicensed:
        raise _unlicensed(session, licensee, product, data.harvested_on, problems)
    if outside:
        raise DomainError(
            "origin_outside_area", N_("the origin lies outside the product's protected area"), fields=problems
        )
    batch = Batch(
        batch_no="",
        licensee_id=licensee.id,
        product_id=product.id,
        licence_id=licence.id,
        quantity=float(data.quantity),
        unit=data.unit,
        harvested_on=data.harvested_on,
        origin_code=data.origin_code,
        grade=data.grade.strip(),
        notes=data.notes.strip(),
        inspection_cert=data.inspection_cert.strip(),
        form_token=form_token,
        request_digest=request_digest,
    )
    _insert_numbered(session=session, batch=batch, product=product)
    audit.record(
        session=session,
        actor=actor,
        action="batch.register",
        entity_type="batch",
        entity_id=batch.id,
        after=batch_snapshot(batch),
    )
    return batch


def correct_batch(
    *,
    session: Session,
    batch: Batch,
    data: BatchDetails,
    reason: str,
    actor: User | None,
    today: date | None = None,
) -> list[str]:
    """Correct a mistyped batch under the rules it was registered under; returns the fields changed.

    Once labels are issued its harvest date, origin and unit stay (recall it and register it again if they
    are wrong), and its quantity keeps room for the labels issued."""
    today = today or registry.registry_today()
    data = replace(
        data, grade=data.grade.strip(), notes=data.notes.strip(), inspection_cert=data.inspection_cert.strip()
    )
    changed = [name for name in DETAILS if getattr(data, name) != getattr(batch, name)]
    if not reason.strip():
        raise DomainError("reason_required", N_("a reason is required"), fields={"reason": N_("required")})
    if batch.status != "active":
        raise Conflict("batch_recalled", N_("a recalled batch cannot be corrected"))
    if not changed:
        return []
    product = session.get(Product, batch.product_id)
    licence_id = _check_correction(session, batch, product, data, changed, today)
    before = batch_snapshot(batch)
    values = {name: getattr(data, name) for name in changed}
    # Conditional on the batch as checked: a label issue, a recall or another correction in between (two
    # corrections each valid alone may not be together) refuses this one rather than merge with it.
    as_read = [getattr(Batch, name) == getattr(batch, name) for name in (*DETAILS, "labels_issued")]
    guard = [Batch.id == batch.id, Batch.status == "active", *as_read]
    moved = session.exec(update(Batch).where(*guard).values(**values, licence_id=licence_id, updated_at=utcnow()))
    if moved.rowcount != 1:
        session.refresh(batch)
        raise Conflict("batch_changed", N_("the batch changed meanwhile; look at it again"))
    _record_change(session, batch, "batch.correct", actor=actor, reason=reason, before=before)
    return changed


def _check_correction(session, batch, product, data, changed, today) -> int:
    """The licence the corrected batch stands under, or the refusal naming every problem at once."""
    # As for label issues: a suspended licensee could otherwise raise its quotas while it may not use the mark.
    # (A new harvest date is checked against the licences below.)
    if "harvested_on" not in changed and licence_status(session=session, batch=batch, today=today) != "active":
        raise _unlicensed(session, session.get(Licensee, batch.licensee_id), product, batch.harvested_on, {})
    fixed = {name: N_("fixed once labels are issued") for name in changed if name in FIXED_ONCE_LABELLED}
    if batch.labels_issued and fixed:
        why = N_("labels are issued: the harvest date, origin and unit can no longer change")
        raise Conflict("labels_issued", why, fields=fixed)
    fields, params = {}, {}
    if {"quantity", "unit"} & set(changed):  # unchanged, it stands: a product rule changed since is no reason
        if data.unit not in BATCH_UNITS:
            fields["unit"] = N_("unknown unit")
        elif why := _quantity_problem(data, product):
            fields["quantity"] = why
        elif quota_for(data.quantity, data.unit, product) < batch.labels_issued:
            fields["quantity"] = N_("at least %(minimum)s %(unit)s for the %(issued)s labels already issued")
            least = least_quantity(labels=batch.labels_issued, unit=data.unit, product=product)
            params |= {"minimum": as_typed(least), "unit": data.unit, "issued": batch.labels_issued}
    if "harvested_on" in changed:
        if why := harvest_date_problem(data.harvested_on, today=today):
            fields["harvested_on"] = why
        elif data.harvested_on.year != batch.harvested_on.year:  # the batch number names the year
            fields["harvested_on"] = N_("the batch number names the year %(year)s")
            params["year"] = batch.harvested_on.year
    if fields:
        why = N_("the correction was not saved: see each detail's reason")
        raise DomainError("invalid_correction", why, fields=fields, params=params)
    licence_id = batch.licence_id
    if "harvested_on" in changed:
        licensee = session.get(Licensee, batch.licensee_id)
        licence = _licence_in_force(session, licensee, product, data.harvested_on, today)
        if licence is None:
            raise _unlicensed(session, licensee, product, data.harvested_on, {"harvested_on": NOT_LICENSED})
        licence_id = licence.id
    allowed = {area.code for area in registry.origin_choices(session=session, product=product)}
    if "origin_code" in changed and data.origin_code not in allowed:
        raise DomainError(
            "origin_outside_area",
            N_("the origin lies outside the product's protected area"),
            fields={"origin_code": OUTSIDE_AREA},
        )
    return licence_id


def _insert_numbered(*, session: Session, batch: Batch, product: Product) -> None:
    """Give the batch the next readable number of its product and year, e.g. AY-2026-000123."""
    prefix = f"{product.batch_prefix}-{batch.harvested_on.year}-"
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    bump = (
        insert(BatchSequence)
        .values(prefix=prefix, last=1)
        .on_conflict_do_update(index_elements=["prefix"], set_={"last": BatchSequence.last + 1})
        .returning(BatchSequence.last)
    )
    number = session.execute(bump).scalar_one()
    batch.batch_no = f"{prefix}{number:06d}"
    session.add(batch)
    session.flush()


def batch_snapshot(batch: Batch) -> dict:
    return batch.model_dump(exclude={"created_at", "updated_at", "form_token", "request_digest"})


def issue_labels(
    *, session: Session, batch: Batch, count: int, keys: CodeKeys, actor: User | None, seen: int | None = None
) -> LabelIssue:
    """Extend the batch's issued serial range by `count`: one row, however large the count.

    `seen`: the labels issued as the asker last saw them. Given, the issue happens only if none were
    issued since (409 `labels_issued_meanwhile`): a form sent twice (a double tap, a resend on a slow
    line) must not issue twice, as issued labels cannot be taken back."""
    if batch.status != "active":
        raise Conflict("batch_recalled", N_("a recalled batch cannot get labels"))
    if licence_status(session=session, batch=batch) != "active":
        raise DomainError("licence_inactive", N_("no active licence for this product today"), status=403)
    if not isinstance(count, int) or count < 1:
        raise DomainError(
            "invalid_count", N_("the number of labels must be at least 1"), fields={"count": N_("must be at least 1")}
        )
    product = session.get(Product, batch.product_id)
    if product.status != "active":
        raise Conflict("product_withdrawn", N_("the product is withdrawn"))
    quota = label_quota(batch=batch, product=product)
    # One conditional UPDATE: two cooperative staff issuing at once can never overrun the quota.
    guard = update(Batch).where(Batch.id == batch.id, Batch.status == "active", Batch.labels_issued + count <= quota)
    # The quota's quantity, not a corrected one's.
    guard = guard.where(Batch.quantity == batch.quantity, Batch.unit == batch.unit)
    if seen is not None:
        guard = guard.where(Batch.labels_issued == seen)
    moved = session.exec(guard.values(labels_issued=Batch.labels_issued + count, updated_at=utcnow()))
    if moved.rowcount != 1:
        session.refresh(batch)
        if seen is not None and batch.labels_issued < seen:  # no race: the asker's count was never right
            raise Conflict(
                "labels_issued_mismatch",
                N_("the batch has %(issued)s labels issued, not %(seen)s, so none were issued this time"),
                params={"issued": batch.labels_issued, "seen": seen},
            )
        if seen is not None and batch.labels_issued != seen:
            raise Conflict(
                "labels_issued_meanwhile",
                N_("labels were issued meanwhile (%(issued)s in all now), so none were issued this time"),
                params={"issued": batch.labels_issued},
            )
        raise DomainError(
            "label_quota_exceeded",
            N_("the batch's label quota would be exceeded"),
            fields={"count": N_("at most %(left)s more")},
            params={"left": labels_left(batch=batch, product=product)},
        )
    session.refresh(batch)
    issue = LabelIssue(
        batch_id=batch.id,
        first_serial=batch.labels_issued - count + 1,
        last_serial=batch.labels_issued,
        key_id=keys.current,
        issued_by=actor.id if actor else None,
    )
    session.add(issue)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="batch.labels",
        entity_type="batch",
        entity_id=batch.id,
        after={"first_serial": issue.first_serial, "last_serial": issue.last_serial},
    )
    return issue


def check_labels_downloadable(batch: Batch, *, reader: User, sheet: bool) -> None:
    """Refuse a recalled batch's labels where they could reach a printer again: the print sheet to anyone,
    the code lists to its cooperative. Staff keep the lists, which a recall's investigation needs, and the
    batch's own QR stays for everyone: it is one code, which scans as recalled."""
    if batch.status != "active" and (sheet or reader.role not in STAFF):
        raise Conflict("batch_recalled", N_("the batch is recalled: its labels can no longer be downloaded"))


def outside_area(*, session: Session, product: Product) -> int:
    """Active batches of the product registered from a place its protected area does not include (an area
    narrowed after them). Their labels still scan as they did; the office decides what to do."""
    inside = [area.code for area in registry.origin_choices(session=session, product=product)]
    outside = select(func.count()).where(
        Batch.product_id == product.id, Batch.status == "active", col(Batch.origin_code).not_in(inside)
    )
    return session.exec(outside).one()


def governing_licence(*, session: Session, batch: Batch, today: date | None = None) -> Licence:
    """The licence the batch's labels stand under today, as a scan judges them: the batch's own or, once
    that has run out, its renewal. A licence granted after the batch's was revoked is no renewal."""
    licence = session.get(Licence, batch.licence_id)
    return registry.governing_licence(session=session, licence=licence, today=today or registry.registry_today())


def licence_status(*, session: Session, batch: Batch, today: date | None = None) -> str:
    """The state today of the governing licence: labels issued under a revoked one would only ever scan as
    revoked."""
    today = today or registry.registry_today()
    return registry.licence_status(governing_licence(session=session, batch=batch, today=today), today=today)


def recall_batch(*, session: Session, batch: Batch, reason: str, actor: User | None) -> Batch:
    if not reason.strip():
        raise DomainError("reason_required", N_("a reason is required"), fields={"reason": N_("required")})
    if batch.status == "recalled":
        raise Conflict("already_recalled", N_("the batch is already recalled"))
    before = batch_snapshot(batch)
    now = utcnow()
    # Conditional on the batch still being active: a cooperative and a regulator recalling at once record one recall.
    moved = session.exec(
        update(Batch)
        .where(Batch.id == batch.id, Batch.status == "active")
        .values(status="recalled", recall_reason=reason.strip(), recalled_at=now, updated_at=now)
    )
    if moved.rowcount != 1:
        raise Conflict("already_recalled", N_("the batch is already recalled"))
    _record_change(session, batch, "batch.recall", actor=actor, reason=reason, before=before)
    return batch


def _record_change(session: Session, batch: Batch, action: str, *, actor, reason: str, before: dict) -> None:
    """Log a change written as a conditional UPDATE: the batch read back, then before and after."""
    session.refresh(batch)
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="batch",
        entity_id=batch.id,
        reason=reason.strip(),
        before=before,
        after=batch_snapshot(batch),
    )


# ---- reading -----------------------------------------------------------------------------


def visible_batches(user: User):
    """The batches query a user may read: a cooperative only its own; staff all."""
    query = select(Batch)
    if user.role == "cooperative":
        query = query.where(Batch.licensee_id == (user.licensee_id or -1))
    return query


def get_batch_for(*, session: Session, batch_id: int, user: User) -> Batch:
    """A batch the user may see; another cooperative's batch is simply not found."""
    batch = session.exec(visible_batches(user).where(Batch.id == batch_id)).first()
    if batch is None:
        raise NotFound("batch")
    return batch


@dataclass
class BatchFilter:
    product_code: str = ""
    status: str = ""
    harvested_from: date | None = None
    harvested_to: date | None = None
    q: str = ""
    licensee_id: int | None = None


def search_batches(*, session: Session, user: User, where: BatchFilter, page: int, per_page: int):
    """(batches on this page, total), newest first."""
    query = visible_batches(user)
    if where.product_code:
        query = query.join(Product, Product.id == Batch.product_id).where(Product.code == where.product_code)
    if where.status:
        query = query.where(Batch.status == where.status)
    if where.licensee_id:
        query = query.where(Batch.licensee_id == where.licensee_id)
    if where.harvested_from:
        query = query.where(Batch.harvested_on >= where.harvested_from)
    if where.harvested_to:
        query = query.where(Batch.harvested_on <= where.harvested_to)
    # As a Chinese keyboard may type the number (ＡＹ－２０２６, AY—2026); autoescape: a typed % or _ is a
    # character, not a wildcard.
    if term := as_printed(where.q).strip():
        query = query.where(col(Batch.batch_no).icontains(term, autoescape=True))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(Batch.id).desc()).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def scan_counts(*, session: Session, batch_ids: list[int]) -> dict[int, int]:
    if not batch_ids:
        return {}
    rows = session.exec(
        select(Scan.batch_id, func.count()).where(col(Scan.batch_id).in_(batch_ids)).group_by(Scan.batch_id)
    )
    return dict(rows.all())


@dataclass(frozen=True)
class IssuedLabel:
    serial: int
    code: str
    url: str
    gs1_url: str | None = None  # where the licensee has a GTIN


# The GS1 application identifier "digital signature", carried as a data attribute (?8030=…) of a Digital Link.
GS1_SIGNATURE_AI = "8030"


def label_for(*, batch: Batch, serial: int, keys: CodeKeys, base_url: str, gtin: str | None = None) -> IssuedLabel:
    code = sign_code(keys=keys, batch_id=batch.id, serial=serial)
    gs1_url = gs1_link(base_url=base_url, gtin=gtin, batch=batch, serial=serial, code=code) if gtin else None
    return IssuedLabel(serial=serial, code=code, url=code_url(base_url, code), gs1_url=gs1_url)


def issued_labels(
    *, batch: Batch, keys: CodeKeys, base_url: str, first: int = 1, last: int | None = None, gtin: str | None = None
):
    """The batch's unit labels from `first` to `last` (default: all issued), made on the fly."""
    last = batch.labels_issued if last is None else min(last, batch.labels_issued)
    for serial in range(max(first, 1), last + 1):
        yield label_for(batch=batch, serial=serial, keys=keys, base_url=base_url, gtin=gtin)


def gs1_link(*, base_url: str, gtin: str, batch: Batch, serial: int, code: str) -> str:
    """A label as a GS1 Digital Link, for packers who print their own: GTIN, lot and serial in the path and
    the label's signed code as the link's digital signature; the batch code's link is the lot alone."""
    lot = f"{base_url.rstrip('/')}/01/{gtin}/10/{quote(batch.batch_no, safe='')}"
    return f"{lot}/21/{serial}?{GS1_SIGNATURE_AI}={code}" if serial else lot


def resolve_gs1(
    *, session: Session, gtin: str, lot: str, serial: int, signature: str, keys: CodeKeys
) -> tuple[Batch | None, str | None]:
    """The batch a GS1 Digital Link names, and the code it stands for (None: the link proves nothing).

    The lot alone stands for the batch code, public anyway like the batch QR on a crate. A serial stands
    for its label only with that label's signed code as the link's signature: GTIN, lot and serial are
    printed in plain sight and serials run 1, 2, 3 …, so anyone could write the link of a label never made."""
    batch = find_by_gtin_lot(session=session, gtin=gtin, lot=lot)
    if batch is None:
        return None, None
    if serial == 0:
        return batch, sign_code(keys=keys, batch_id=batch.id, serial=0)
    parsed = parse_code(signature, keys=keys)
    signed = parsed is not None and (parsed.batch_id, parsed.serial) == (batch.id, serial)
    return batch, signature if signed else None


def registered_by_form(*, session: Session, licensee: Licensee, form_token: str | None) -> Batch | None:
    """The licensee's batch a registration form with this token made, if one did."""
    if not form_token:
        return None
    query = select(Batch).where(Batch.form_token == form_token, Batch.licensee_id == licensee.id)
    return session.exec(query).first()


@dataclass(frozen=True)
class KeyedRequest:
    """An API registration sent with an idempotency key. `token` names the key, with the licensee so that
    two licensees' keys never meet, and is kept as the batch's form_token under its unique index: the key
    makes one batch, however many requests bring it at once. `digest` names the request, kept beside it,
    so the key sent again with another request is told apart (registered_by_key) rather than replayed."""

    token: str
    digest: str

    @classmethod
    def of(cls, *, licensee: Licensee, key: str, request: dict) -> "KeyedRequest":
        sent = json.dumps(request, sort_keys=True, default=str)
        return cls(_hex(f"{licensee.id}:{key}", 32), _hex(sent, 16))


def _hex(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def registered_by_key(*, session: Session, licensee: Licensee, keyed: KeyedRequest) -> Batch | None:
    """The licensee's batch its idempotency key registered, if it did; DomainError 422 if it did so for a
    different request: the key was spent on another batch."""
    query = select(Batch).where(Batch.licensee_id == licensee.id, Batch.form_token == keyed.token)
    batch = session.exec(query).first()
    if batch is not None and batch.request_digest != keyed.digest:
        why = N_("this Idempotency-Key registered batch %(no)s with a different request")
        raise DomainError("idempotency_key_reused", why, params={"no": batch.batch_no})
    return batch


def find_by_gtin_lot(*, session: Session, gtin: str, lot: str) -> Batch | None:
    """The batch a GS1 Digital Link names: the licensee's GTIN and the batch number as the lot."""
    if not ascii_digits(gtin) or len(gtin) > 14:
        return None
    query = (
        select(Batch)
        .join(Licensee, Licensee.id == Batch.licensee_id)
        .where(Licensee.gtin == gtin.zfill(14), Batch.batch_no == lot)
    )
    return session.exec(query).first()


def history(*, session: Session, batch: Batch, action: str = "") -> list[AuditEvent]:
    """The batch's events in the audit log (those of one action, if named), oldest first."""
    query = select(AuditEvent).where(AuditEvent.entity_type == "batch", AuditEvent.entity_id == str(batch.id))
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.exec(query.order_by(AuditEvent.id)))


def label_issues(*, session: Session, batch: Batch) -> list[LabelIssue]:
    return list(session.exec(select(LabelIssue).where(LabelIssue.batch_id == batch.id).order_by(LabelIssue.id)))
