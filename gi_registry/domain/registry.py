"""Products, areas, licensees, licences and the rules that bind them."""

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from ..models import PRODUCT_KINDS, Area, AuditEvent, Batch, Licence, Licensee, Product, ProductArea, User, utcnow
from . import N_, Conflict, DomainError, NotFound, ascii_digits, audit
from .locks import hold_rows
from .uscc import normalise, uscc_problem

# The words of a label's GI mark area: each kind's official Chinese name (labels are printed in Chinese).
KIND_MARKS = {
    "gi_product": "地理标志产品",
    "gi_certification_mark": "地理标志证明商标",
    "gi_collective_mark": "地理标志集体商标",
    "public_brand": "区域公用品牌",
}

# The licence life cycle (CONTRACT.md): which action moves a licence from which state (licence_status) to
# which stored state. An expired licence is no longer in force, so there is nothing to suspend; it may still
# be revoked, which takes down the labels of its batches still on sale.
TRANSITIONS = {
    "suspend": ({"active", "pending"}, "suspended"),
    "reinstate": ({"suspended"}, "active"),
    "revoke": ({"active", "pending", "suspended", "expired"}, "revoked"),
}


CHINA = timezone(timedelta(hours=8))

# No licence or harvest in the registry is older: an earlier date is a typo (0026 for 2026), not history.
EARLIEST_DAY = date(2000, 1, 1)
# The days a page's or the API's date filter may name. Filters add and subtract days and months; the
# calendar's own ends would overflow, and no record is near them.
FILTER_FIRST_DAY, FILTER_LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
LONGEST_TERM_YEARS = 30


def version_of(record: Product | Licensee | Licence) -> str:
    """What identifies a record as a page showed it: every save and change of state moves its updated_at, so
    a licence suspended, reinstated and suspended again is not the suspended licence a page showed before."""
    return record.updated_at.isoformat()


def _unchanged_since(session: Session, record: Product | Licensee, seen: str) -> bool:
    """Whether a record is still the version its form showed, checked while holding its row until commit: a
    colleague's save committed after the record was read is caught too, and one made meanwhile waits."""
    model = type(record)
    held = hold_rows(session, model.updated_at, model.id == record.id, model.updated_at == record.updated_at)
    return held == 1 and seen == version_of(record)


def too_early(day: date) -> str | None:
    """Why a licence or harvest date cannot be right, or None."""
    return N_("before 2000-01-01: check the year") if day < EARLIEST_DAY else None


def licence_term_problems(*, valid_from: date, valid_to: date) -> dict:
    """Per-field reasons a licence term is implausible; the form, the API and the import share them."""
    fields = {
        name: why for name, day in (("valid_from", valid_from), ("valid_to", valid_to)) if (why := too_early(day))
    }
    if fields:  # a mistyped year: the term it gives means nothing
        return fields
    if valid_to < valid_from:
        fields["valid_to"] = N_("the end precedes the start")
    elif valid_to > _years_after(valid_from, LONGEST_TERM_YEARS):
        fields["valid_to"] = N_("a licence runs at most 30 years")
    return fields


def _years_after(day: date, years: int) -> date:
    if day.year + years > MAXYEAR:
        return date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, in a year that has none
        return day.replace(year=day.year + years, day=28)


def registry_today() -> date:
    """Today in China, where the licences run: on a UTC server, 00:00–08:00 is already tomorrow here."""
    return datetime.now(CHINA).date()


def china_day(moment: datetime) -> date:
    """The calendar day in China of a stored (aware, UTC) instant."""
    return moment.astimezone(CHINA).date()


def china_midnight(day: date) -> datetime:
    """The first instant of a day in China, as an aware UTC datetime: the bound of a filter over whole days."""
    return datetime.combine(day, time.min, tzinfo=CHINA).astimezone(UTC)


def licence_status(licence: Licence, *, today: date | None = None) -> str:
    """The state a licence has today: its stored state, or `expired`/`pending` from its dates."""
    today = today or registry_today()
    if licence.state != "active":
        return licence.state
    if today > licence.valid_to:
        return "expired"
    if today < licence.valid_from:
        return "pending"
    return "active"


# ---- areas and products ------------------------------------------------------------------


def list_areas(*, session: Session) -> list[Area]:
    return list(session.exec(select(Area).order_by(Area.code)))


def counties(*, session: Session) -> list[Area]:
    return list(session.exec(select(Area).where(Area.level == "county").order_by(Area.code)))


def find_product(*, session: Session, code: str) -> Product | None:
    """The product registered under a code (its slug), or None."""
    return session.exec(select(Product).where(Product.code == code)).first()


def list_products(*, session: Session, include_withdrawn: bool = True) -> list[Product]:
    query = select(Product).order_by(Product.id)
    if not include_withdrawn:
        query = query.where(Product.status == "active")
    return list(session.exec(query))


def production_area(*, session: Session, product: Product) -> list[Area]:
    query = (
        select(Area)
        .join(ProductArea, ProductArea.area_code == Area.code)
        .where(ProductArea.product_id == product.id)
        .order_by(Area.code)
    )
    return list(session.exec(query))


def origin_choices(*, session: Session, product: Product) -> list[Area]:
    """The areas a batch may come from: the protected areas and every township under them."""
    roots = production_area(session=session, product=product)
    found = {area.code: area for area in roots}
    frontier = [area.code for area in roots]
    while frontier:
        children = list(session.exec(select(Area).where(col(Area.parent_code).in_(frontier))))
        frontier = [child.code for child in children if child.code not in found]
        found.update({child.code: child for child in children})
    return sorted(found.values(), key=lambda area: area.code)


@dataclass
class ProductInput:
    code: str
    name: str
    name_en: str
    kind: str
    area_codes: list[str]
    registration_no: str = ""
    registered_on: date | None = None
    standard: str = ""
    shelf_life_days: int | None = None
    kg_per_label: float = 0.5
    batch_prefix: str = "GI"
    description: str = ""
    status: str = "active"


# A product's batch-number prefix; \Z, not $, which would let a trailing line break through.
BATCH_PREFIX = r"^[A-Z]{1,6}\Z"


def _check_product(*, session: Session, data: ProductInput, existing: Product | None) -> None:
    fields = {}
    clash = find_product(session=session, code=data.code)
    if clash is not None and clash is not existing:
        fields["code"] = N_("another product already uses this code")
    if existing is not None and data.code != existing.code:
        # Integrators, exports and printed GS1 links name a product by its code: it never changes.
        fields["code"] = N_("the code of a registered product cannot change")
    if data.kind not in PRODUCT_KINDS:
        fields["kind"] = N_("unknown kind")
    if not data.area_codes:
        fields["area_codes"] = N_("choose at least one area")
    unknown = [code for code in data.area_codes if session.get(Area, code) is None]
    if unknown:
        fields["area_codes"] = N_("unknown area code")
    if data.kg_per_label <= 0:
        fields["kg_per_label"] = N_("must be positive")
    if not re.match(BATCH_PREFIX, data.batch_prefix):  # it starts every batch number and file name
        fields["batch_prefix"] = N_("1 to 6 capital letters")
    # Two products on one prefix would share one batch-number sequence and give readers batch numbers
    # that do not say which product they are.
    shared = session.exec(select(Product).where(Product.batch_prefix == data.batch_prefix)).first()
    if shared is not None and shared is not existing:
        fields["batch_prefix"] = N_("another product already uses this prefix")
    if fields:
        raise DomainError("invalid_product", N_("the product cannot be saved"), fields=fields)


def save_product(
    *, session: Session, data: ProductInput, actor: User | None, product: Product | None = None, seen: str | None = None
) -> Product:
    """Create a product, or update the given one, with its production area.

    seen: the product's version_of as its form showed it; saved otherwise meanwhile, nothing is saved (None: no
    check), so a form drawn before a colleague's save cannot drop the area they added."""
    if product is not None and seen is not None and not _unchanged_since(session, product, seen):
        raise Conflict("product_changed", N_("the product was changed meanwhile"))
    _check_product(session=session, data=data, existing=product)
    before = _product_snapshot(session, product) if product else None
    product = product or Product(code=data.code, name=data.name, name_en=data.name_en, kind=data.kind)
    for name, value in vars(data).items():
        if name != "area_codes":
            setattr(product, name, value)
    product.updated_at = utcnow()
    session.add(product)
    session.flush()
    for link in session.exec(select(ProductArea).where(ProductArea.product_id == product.id)):
        session.delete(link)
    session.flush()
    for code in dict.fromkeys(data.area_codes):
        session.add(ProductArea(product_id=product.id, area_code=code))
    session.flush()
    action = "product.update" if before else "product.create"
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity_type="product",
        entity_id=product.id,
        before=before,
        after=_product_snapshot(session, product),
    )
    return product


def _product_snapshot(session: Session, product: Product) -> dict:
    values = product.model_dump(exclude={"created_at", "updated_at"})
    values["area_codes"] = [area.code for area in production_area(session=session, product=product)]
    return values


# ---- licensees ---------------------------------------------------------------------------


@dataclass
class LicenseeInput:
    name: str
    uscc: str
    county_code: str
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    gtin: str | None = None


# The licensee columns' lengths (models.Licensee), checked before the database would refuse them.
LICENSEE_LIMITS = {"name": 128, "address": 200, "contact_name": 64, "contact_phone": 32}


# A phone number as offices write them: "0832-1234567", "+86 138 0000 0000", "(028) 8888 6666 转 12",
# two of them "/" or ";" apart. Words ("call Li") are not a number to ring.
_PHONE = re.compile(r"[\d\s+()\-/.,;、]+(?:(?:转|分机|ext\.?|x)\s*\d{1,6})?", re.IGNORECASE)


def phone_problem(value: str) -> str | None:
    """Why a contact phone is none, or None; an empty one is fine (it is optional). Read as a Chinese
    keyboard types it too: full-width brackets, dashes and commas are the ASCII ones (NFKC)."""
    typed = unicodedata.normalize("NFKC", value or "").strip()
    if typed and not (_PHONE.fullmatch(typed) and sum(c.isdigit() for c in typed) >= 5):
        return N_("digits of a phone number (spaces, +, - and brackets may be kept)")
    return None


def _check_licensee(*, session: Session, data: LicenseeInput, existing: Licensee | None) -> None:
    fields = {}
    if not data.name.strip():
        fields["name"] = N_("required")
    # Checked when it is typed: a number stored before the rule must not block edits of other fields.
    changed = existing is None or (existing.contact_phone or "") != (data.contact_phone or "")
    if changed and (problem := phone_problem(data.contact_phone or "")):
        fields["contact_phone"] = problem
    # The columns' limits, checked here so every way in (form, API, import) refuses alike.
    for name, limit in LICENSEE_LIMITS.items():
        if len(getattr(data, name) or "") > limit:
            fields[name] = N_("too long")
    problem = uscc_problem(data.uscc)
    if problem:
        fields["uscc"] = problem
    else:
        clash = session.exec(select(Licensee).where(Licensee.uscc == data.uscc)).first()
        if clash is not None and clash is not existing:
            raise Conflict(
                "duplicate_licensee",
                N_("a licensee with this USCC is already registered"),
                fields={"uscc": N_("already registered")},
            )
    county = session.get(Area, data.county_code)
    if county is None or county.level != "county":
        fields["county"] = N_("unknown county code")
    if data.gtin and not gtin_valid(data.gtin):
        shaped = _gtin_shaped(data.gtin)
        fields["gtin"] = N_("the check digit does not match") if shaped else N_("a GTIN has 8, 12, 13 or 14 digits")
    if fields:
        raise DomainError("invalid_licensee", N_("the licensee cannot be saved"), fields=fields)
    # A GS1 Digital Link names the licensee by its GTIN: two licensees on one would share their batches' links.
    clash = session.exec(select(Licensee).where(Licensee.gtin == data.gtin)).first() if data.gtin else None
    if clash is not None and clash is not existing:
        raise Conflict(
            "duplicate_gtin",
            N_("another licensee already uses this GTIN"),
            fields={"gtin": N_("already registered")},
        )
    if existing is not None and data.gtin != existing.gtin and _has_labels(session, existing):
        # Printed GS1 links name the GTIN, and EPCIS documents already taken in name the labels by it: a new
        # one would make the printed links unverifiable and the same events name other objects.
        raise Conflict(
            "gtin_in_use",
            N_("the GTIN cannot change once labels are issued: printed labels carry it"),
            fields={"gtin": N_("fixed: labels carry it")},
        )


def _has_labels(session: Session, licensee: Licensee) -> bool:
    query = select(Batch.id).where(Batch.licensee_id == licensee.id, Batch.labels_issued > 0).limit(1)
    return session.exec(query).first() is not None


GTIN_LENGTHS = (8, 12, 13, 14)


def _gtin_shaped(value: str) -> bool:
    return ascii_digits(value) and len(value) in GTIN_LENGTHS


def gtin_valid(value: str) -> bool:
    if not _gtin_shaped(value):
        return False
    digits = [int(d) for d in value.zfill(14)]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits[:13]))
    return (10 - total % 10) % 10 == digits[13]


def save_licensee(
    *,
    session: Session,
    data: LicenseeInput,
    actor: User | None,
    licensee: Licensee | None = None,
    seen: str | None = None,
) -> Licensee:
    """Register a licensee, or update the given one; seen: as for save_product."""
    if licensee is not None and seen is not None and not _unchanged_since(session, licensee, seen):
        raise Conflict("licensee_changed", N_("the licensee was changed meanwhile"))
    gtin = (data.gtin or "").strip()
    # GS1 Digital Link and EPCIS name a GTIN by its 14 digits; a GTIN-8/12/13 is the same number zero-padded.
    # Only a valid one is padded: "123" must be refused, not become 00000000000123.
    gtin = gtin.zfill(14) if gtin_valid(gtin) else gtin or None
    data = replace(data, uscc=normalise(data.uscc), name=data.name.strip(), gtin=gtin)
    _check_licensee(session=session, data=data, existing=licensee)
    before = licensee.model_dump(exclude={"created_at", "updated_at"}) if licensee else None
    licensee = licensee or Licensee(name=data.name, uscc=data.uscc, county_code=data.county_code)
    for name, value in vars(data).items():
        setattr(licensee, name, value)
    licensee.updated_at = utcnow()
    session.add(licensee)
    session.flush()
    audit_licensee(session=session, licensee=licensee, actor=actor, before=before)
    return licensee


def audit_licensee(
    *, session: Session, licensee: Licensee, actor: User | None, before: dict | None, reason: str = ""
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="licensee.update" if before else "licensee.create",
        entity_type="licensee",
        entity_id=licensee.id,
        reason=reason,
        before=before,
        after=licensee.model_dump(exclude={"created_at", "updated_at"}),
    )


def list_licensees(*, session: Session) -> list[Licensee]:
    return list(session.exec(select(Licensee).order_by(Licensee.name, Licensee.id)))


def get_licensee(*, session: Session, licensee_id: int) -> Licensee:
    licensee = session.get(Licensee, licensee_id)
    if licensee is None:
        raise NotFound("licensee")
    return licensee


FULL_WIDTH_BRACKETS = str.maketrans("()", "（）")


def search_licensees(*, session: Session, q: str = "", product_code: str = "", page: int = 1, per_page: int = 20):
    """The public directory: (licensees on this page, total)."""
    query = select(Licensee)
    if q.strip():  # autoescape: a typed % or _ is a character, not a wildcard
        term = unicodedata.normalize("NFKC", q).strip()  # full-width digits and letters as ASCII
        # Chinese names are written with full-width brackets; a query may bring either kind.
        names = {q.strip(), term, term.translate(FULL_WIDTH_BRACKETS)}
        by_name = [col(Licensee.name).icontains(name, autoescape=True) for name in names]
        # A code pasted in groups, as certificates print it, finds the code stored without its spaces.
        by_uscc = col(Licensee.uscc).icontains(normalise(term), autoescape=True)
        query = query.where(or_(*by_name, by_uscc))
    if product_code:
        query = query.where(
            col(Licensee.id).in_(
                select(Licence.licensee_id)
                .join(Product, Product.id == Licence.product_id)
                .where(Product.code == product_code)
            )
        )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Licensee.name, Licensee.id).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


# ---- licences ----------------------------------------------------------------------------


def licences_of(*, session: Session, licensee: Licensee) -> list[tuple[Licence, Product]]:
    return licences_of_each(session=session, licensees=[licensee])[licensee.id]


def licences_of_each(*, session: Session, licensees: list[Licensee]) -> dict[int, list[tuple[Licence, Product]]]:
    """licences_of for a page of licensees, by licensee id, in one query rather than one per licensee."""
    found: dict[int, list[tuple[Licence, Product]]] = {licensee.id: [] for licensee in licensees}
    if found:
        query = (
            select(Licence, Product)
            .join(Product, Product.id == Licence.product_id)
            .where(col(Licence.licensee_id).in_(list(found)))
            .order_by(Licence.id)
        )
        for licence, product in session.exec(query):
            found[licence.licensee_id].append((licence, product))
    return found


def get_licence(*, session: Session, licence_id: int) -> Licence:
    licence = session.get(Licence, licence_id)
    if licence is None:
        raise NotFound("licence")
    return licence


def _licence_snapshot(licence: Licence) -> dict:
    return licence.model_dump(exclude={"created_at", "updated_at"})


def grant_licence(
    *,
    session: Session,
    licensee: Licensee,
    product_code: str,
    valid_from: date,
    valid_to: date,
    actor: User | None,
    reason: str = "",
) -> Licence:
    fields = {}
    product = find_product(session=session, code=product_code)
    if product is None:
        fields["product_code"] = N_("unknown product")
    elif product.status != "active":
        fields["product_code"] = N_("the product is withdrawn")
    fields.update(licence_term_problems(valid_from=valid_from, valid_to=valid_to))
    if "valid_to" not in fields and valid_to < registry_today():
        # A grant is for days to come; a bulk import (imports.py) may still bring in the register's past.
        fields["valid_to"] = N_("the term has already ended: a licence is granted for days to come")
    if fields:
        raise DomainError("invalid_licence", N_("the licence cannot be granted"), fields=fields)
    # Two grants at once would each find no overlap in what the other has not committed yet: the licensee's
    # row, held until commit, makes the second wait and then see the first.
    hold_rows(session, Licensee.updated_at, Licensee.id == licensee.id)
    overlapping = session.exec(
        select(Licence).where(
            Licence.licensee_id == licensee.id,
            Licence.product_id == product.id,
            Licence.state != "revoked",
            Licence.valid_from <= valid_to,
            Licence.valid_to >= valid_from,
        )
    ).first()
    if overlapping is not None:
        raise Conflict(
            "licence_overlaps",
            N_("the licensee already holds a licence for this product in that term"),
            fields={"valid_from": N_("overlaps an existing licence for this product")},
        )
    licence = Licence(licensee_id=licensee.id, product_id=product.id, valid_from=valid_from, valid_to=valid_to)
    session.add(licence)
    session.flush()
    audit_grant(session=session, licence=licence, actor=actor, reason=reason)
    return licence


def audit_grant(*, session: Session, licence: Licence, actor: User | None, reason: str) -> None:
    audit.record(
        session=session,
        actor=actor,
        action="licence.grant",
        entity_type="licence",
        entity_id=licence.id,
        reason=reason,
        after=_licence_snapshot(licence),
    )


def allowed_actions(licence: Licence) -> list[str]:
    """The actions the licence's state allows today, in the order the pages offer them."""
    status = licence_status(licence)
    return [action for action, (states, _target) in TRANSITIONS.items() if status in states]


# The action that put a licence in a state its licensee needs explained.
_STATE_ACTIONS = {"suspended": "licence.suspend", "revoked": "licence.revoke"}


def state_change(*, session: Session, licence: Licence) -> AuditEvent | None:
    """Why and when a suspended or revoked licence came to be so (its audit event); None otherwise."""
    action = _STATE_ACTIONS.get(licence.state)
    if action is None:
        return None
    return audit.last_event(session=session, entity_type="licence", entity_id=licence.id, action=action)


def change_licence_state(
    *, session: Session, licence: Licence, action: str, reason: str, actor: User | None, seen: str | None = None
) -> Licence:
    """Suspend, reinstate or revoke a licence; a change its state forbids is a conflict.

    seen: the version_of the acting page showed; changed meanwhile, nothing is done (None: no check),
    so a click on a page drawn before a colleague's change cannot undo it."""
    if action not in TRANSITIONS:
        raise DomainError("unknown_action", f"unknown licence action {action!r}")
    if not reason.strip():
        raise DomainError("reason_required", N_("a reason is required"), fields={"reason": N_("required")})
    if seen is not None and seen != version_of(licence):
        raise Conflict("licence_changed", N_("the licence was changed meanwhile"))
    target = TRANSITIONS[action][1]
    if action not in allowed_actions(licence):
        raise Conflict("transition_forbidden", N_("the licence's state does not allow this change"))
    before = _licence_snapshot(licence)
    # Conditional on the licence as just read (its state and version): of two officers acting at once, the
    # second gets the conflict, even where the first's change left the state as the second saw it.
    moved = session.exec(
        update(Licence)
        .where(Licence.id == licence.id, Licence.state == licence.state, Licence.updated_at == licence.updated_at)
        .values(state=target, updated_at=utcnow())
    )
    if moved.rowcount != 1 and seen is not None:
        raise Conflict("licence_changed", N_("the licence was changed meanwhile"))
    if moved.rowcount != 1:
        raise Conflict("transition_forbidden", N_("the licence's state does not allow this change"))
    session.refresh(licence)
    audit.record(
        session=session,
        actor=actor,
        action=f"licence.{action}",
        entity_type="licence",
        entity_id=licence.id,
        reason=reason.strip(),
        before=before,
        after=_licence_snapshot(licence),
    )
    return licence


def governing_licence(*, session: Session, licence: Licence, today: date) -> Licence:
    """The licence that governs a batch's labels today: the one it was made under or, once that has run out,
    its renewal (the licensee's licence for the product that covers today, an active one first). A renewal
    keeps old labels good; a suspended or revoked renewal takes them down with it."""
    if licence_status(licence, today=today) != "expired":
        return licence
    renewal = session.exec(
        select(Licence)
        .where(
            Licence.licensee_id == licence.licensee_id,
            Licence.product_id == licence.product_id,
            Licence.valid_from <= today,
            Licence.valid_to >= today,
        )
        .order_by(Licence.state != "active", col(Licence.id).desc())
    ).first()
    return renewal or licence


def active_licence(*, session: Session, licensee_id: int, product_id: int, on: date) -> Licence | None:
    """The licence that allows this licensee to use this product's mark on that day, if any."""
    candidates = session.exec(
        select(Licence).where(
            Licence.licensee_id == licensee_id,
            Licence.product_id == product_id,
            Licence.state == "active",
            Licence.valid_from <= on,
            Licence.valid_to >= on,
        )
    )
    return candidates.first()
