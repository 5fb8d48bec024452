"""The registry office's pages: products, licensees, licences and their life cycle."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from ..access import page_user, roles_required
from ..db import get_session
from ..domain import DomainError, audit, batches, registry
from ..i18n import ACTION_LABELS, licence_action_done, licence_action_title, local_name, refusal_text
from ..models import REPORT_STATES, STAFF, Product
from .audit_names import audit_names
from .forms import (
    LicenceActionForm,
    LicenceForm,
    LicenseeForm,
    ProductForm,
    changed_meanwhile,
    refused,
    say_licence_changed,
)
from .paging import Pagination, china_day_range, note, page_args

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles_required(*STAFF)
def index():
    session = get_session()
    return render_template("admin/index.html", products=registry.list_products(session=session))


# ---- products ----------------------------------------------------------------------------


def _product_form(product: Product | None) -> ProductForm:
    session = get_session()
    form = ProductForm(obj=product)
    if product is not None:
        form.code.render_kw = {"readonly": True}  # the domain refuses a change; the form does not invite one
    form.area_codes.choices = [(a.code, f"{a.code} {local_name(a)}") for a in registry.list_areas(session=session)]
    if product is not None and not form.is_submitted():
        form.area_codes.data = [a.code for a in registry.production_area(session=session, product=product)]
        form.seen.data = registry.version_of(product)
    return form


def _product_now(product: Product) -> dict:
    """The product's fields as its form takes them, as they are saved now."""
    areas = registry.production_area(session=get_session(), product=product)
    fields = {name: getattr(product, name, None) for name in registry.ProductInput.__dataclass_fields__}
    return fields | {"area_codes": [area.code for area in areas]}


def _product_input(form: ProductForm) -> registry.ProductInput:
    fields = {name: form[name].data for name in registry.ProductInput.__dataclass_fields__}
    fields["kg_per_label"] = float(form.kg_per_label.data)
    for name in ("registration_no", "standard", "description"):
        fields[name] = fields[name] or ""
    return registry.ProductInput(**fields)


@bp.get("/products")
@roles_required("admin")
def products():
    return render_template("admin/products.html", products=registry.list_products(session=get_session()))


@bp.route("/products/new", methods=["GET", "POST"])
@bp.route("/products/<id:product_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def product_form(product_id: int | None = None):
    session = get_session()
    product = session.get(Product, product_id) if product_id else None
    if product_id and product is None:
        return render_template("error.html", status=404, message=_("Page not found.")), 404
    form = _product_form(product)
    meanwhile = None
    if form.validate_on_submit():
        try:
            before = batches.outside_area(session=session, product=product) if product else 0
            saved = registry.save_product(
                session=session,
                data=_product_input(form),
                actor=page_user(),
                product=product,
                seen=form.seen.data or None,
            )
            session.commit()
            flash(_("Product %(name)s saved.", name=local_name(saved)), "success")
            _warn_of_batches_left_outside(saved, before)
            return redirect(url_for("admin.products"))
        except DomainError as error:
            session.rollback()  # the product is read again: as a colleague saved it
            if error.code != "product_changed":
                refused(form, error)
            else:
                now, sent = _product_now(product), vars(_product_input(form))
                meanwhile = changed_meanwhile(form, now=now, sent=sent, version=registry.version_of(product))
    status = 409 if meanwhile is not None else 422 if form.is_submitted() else 200
    page = render_template("admin/product_form.html", form=form, product=product, meanwhile=meanwhile)
    return page, status


def _warn_of_batches_left_outside(product: Product, before: int) -> None:
    """Said when this change left batches outside the area, not on every later edit of the product."""
    outside = batches.outside_area(session=get_session(), product=product)
    if outside > before:
        warning = ngettext(
            "%(num)s active batch comes from a place now outside the protected area; its labels still "
            "scan as genuine. A regulator can recall it.",
            "%(num)s active batches come from places now outside the protected area; their labels "
            "still scan as genuine. A regulator can recall them.",
            outside,
        )
        flash(warning, "warning")


# ---- licensees ---------------------------------------------------------------------------


def _licensee_form(licensee=None) -> LicenseeForm:
    form = LicenseeForm(obj=licensee)
    form.county_code.choices = [(a.code, local_name(a)) for a in registry.counties(session=get_session())]
    if licensee is not None and not form.is_submitted():
        form.seen.data = registry.version_of(licensee)
    return form


def _counties() -> dict:
    """The counties by code, for pages that name a licensee's county."""
    return {a.code: a for a in registry.counties(session=get_session())}


@bp.get("/licensees")
@roles_required(*STAFF)
def licensees():
    session = get_session()
    page, per_page = page_args()
    q = request.args.get("q", "")
    found, total = registry.search_licensees(session=session, q=q, page=page, per_page=per_page)
    return render_template(
        "admin/licensees.html",
        licensees=found,
        q=q,
        pagination=Pagination(page, per_page, total),
        counties=_counties(),
    )


@bp.route("/licensees/new", methods=["GET", "POST"])
@bp.route("/licensees/<id:licensee_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def licensee_form(licensee_id: int | None = None):
    session = get_session()
    licensee = registry.get_licensee(session=session, licensee_id=licensee_id) if licensee_id else None
    form = _licensee_form(licensee)
    meanwhile = None
    fields = registry.LicenseeInput.__dataclass_fields__
    if form.validate_on_submit():
        data = registry.LicenseeInput(**{name: form[name].data or "" for name in fields})
        try:
            licensee = registry.save_licensee(
                session=session, data=data, actor=page_user(), licensee=licensee, seen=form.seen.data or None
            )
            session.commit()
            flash(_("Licensee %(name)s saved.", name=licensee.name), "success")
            return redirect(url_for("admin.licensee", licensee_id=licensee.id))
        except DomainError as error:
            session.rollback()  # the licensee is read again: as a colleague saved it
            if error.code != "licensee_changed":
                refused(form, error)
            else:
                now = {name: getattr(licensee, name) for name in fields}
                meanwhile = changed_meanwhile(form, now=now, sent=vars(data), version=registry.version_of(licensee))
    status = 409 if meanwhile is not None else 422 if form.is_submitted() else 200
    page = render_template("admin/licensee_form.html", form=form, licensee=licensee, meanwhile=meanwhile)
    return page, status


@bp.route("/licensees/<id:licensee_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def licensee(licensee_id: int):
    """A licensee with its licences; admins grant a new licence here."""
    session = get_session()
    licensee = registry.get_licensee(session=session, licensee_id=licensee_id)
    form = LicenceForm()
    form.product_code.choices = [
        (p.code, local_name(p)) for p in registry.list_products(session=session, include_withdrawn=False)
    ]
    status = 200
    if request.method == "POST":
        if page_user().role != "admin":
            return render_template("error.html", status=403, message=_("You are not allowed to see this page.")), 403
        if form.validate_on_submit():
            try:
                registry.grant_licence(
                    session=session,
                    licensee=licensee,
                    product_code=form.product_code.data,
                    valid_from=form.valid_from.data,
                    valid_to=form.valid_to.data,
                    actor=page_user(),
                    reason=form.reason.data or "",
                )
                session.commit()
                flash(_("Licence granted."), "success")
                return redirect(url_for("admin.licensee", licensee_id=licensee.id))
            except DomainError as error:
                session.rollback()
                refused(form, error)
        status = 422
    licences = registry.licences_of(session=session, licensee=licensee)
    return render_template(
        "admin/licensee.html",
        licensee=licensee,
        licences=licences,
        form=form,
        status_of=registry.licence_status,
        counties=_counties(),
    ), status


# ---- licences ----------------------------------------------------------------------------


@bp.get("/licences/<id:licence_id>")
@roles_required(*STAFF)
def licence(licence_id: int):
    return _licence_page(registry.get_licence(session=get_session(), licence_id=licence_id))


def _licence_page(licence, *, sent: LicenceActionForm | None = None, action: str = "", status: int = 200):
    """The licence with its actions; `sent`, a refused action's form, shown again in that action's box."""
    session = get_session()
    return render_template(
        "admin/licence.html",
        licence=licence,
        form=LicenceActionForm(formdata=None, seen=registry.version_of(licence)),
        sent=sent,
        sent_action=action,
        licensee=registry.get_licensee(session=session, licensee_id=licence.licensee_id),
        product=session.get(Product, licence.product_id),
        status=registry.licence_status(licence),
        history=audit.history(session=session, entity_type="licence", entity_id=licence.id),
        actions=registry.allowed_actions(licence),
    ), status


@bp.post("/licences/<id:licence_id>/<any(suspend, reinstate, revoke):action>")
@roles_required(*STAFF)
def licence_action(licence_id: int, action: str):
    session = get_session()
    licence = registry.get_licence(session=session, licence_id=licence_id)
    form = LicenceActionForm()
    if not form.validate_on_submit():  # no reason, or one too long (a script's: the box's maxlength stops a browser)
        if action not in registry.allowed_actions(licence):  # no box to say it at
            problem = next(iter(form.errors.values()))[0]
            flash(_("%(step)s: %(problem)s", step=licence_action_title(action), problem=problem), "error")
        return _licence_page(licence, sent=form, action=action, status=422)  # said at the box, what was typed kept
    try:
        registry.change_licence_state(
            session=session,
            licence=licence,
            action=action,
            reason=form.reason.data,
            actor=page_user(),
            seen=form.seen.data or None,  # a page from before the check, or an API-minded script: unchecked
        )
        session.commit()
        flash(licence_action_done(action), "success")
    except DomainError as error:
        session.rollback()  # the licence is read again: as it is now, after whoever changed it
        if error.code == "licence_changed":
            say_licence_changed(form, licence, offered=action in registry.allowed_actions(licence))
            return _licence_page(licence, sent=form, action=action, status=error.status)
        flash(refusal_text(error), "error")  # a second click: the licence page says which state
        return redirect(url_for("admin.licence", licence_id=licence_id), 303)
    return redirect(url_for("admin.licence", licence_id=licence_id))


# ---- the audit log -----------------------------------------------------------------------


# Where an audited object is shown, for a link from its events; products and accounts open for admins only.
_ENTITY_PAGES = {
    "licence": ("admin.licence", "licence_id"),
    "licensee": ("admin.licensee", "licensee_id"),
    "batch": ("coop.batch_detail", "batch_id"),
    "report": ("regulator.case", "report_id"),
    "product": ("admin.product_form", "product_id"),
    "user": ("accounts.show", "user_id"),
}


def _entity_link(event) -> str | None:
    page = _ENTITY_PAGES.get(event.entity_type)
    if page is None or not event.entity_id.isdigit():
        return None
    endpoint, arg = page
    if event.entity_type in ("product", "user") and page_user().role != "admin":
        return None
    return url_for(endpoint, **{arg: int(event.entity_id)})


def _actor_filter(actor: str, action: str) -> tuple[str, str]:
    """The "By" filter as the log reads: the words it shows for events without an account (i18n.actor_label)
    stand for the actor the log stores, `system`; a consumer is the one who files reports."""
    words = actor.strip().casefold()
    if words in {"consumer", str(_("consumer")).casefold()}:
        if action and not "report.file".startswith(action):
            note(_("A consumer's only events are reports filed: the action filter was set to those."))
        return "system", "report.file"
    if words in {"system", str(_("system")).casefold()}:
        return "system", action
    return actor, action


@bp.get("/audit")
@roles_required(*STAFF)
def audit_log():
    session = get_session()
    page, per_page = page_args()
    filters = {
        name: request.args.get(name, "") for name in ("entity_type", "entity_id", "action", "actor", "from", "to")
    }
    since, before = china_day_range()
    actor, action = _actor_filter(filters["actor"], filters["action"])
    events, total = audit.search(
        session=session,
        page=page,
        per_page=per_page,
        entity_type=filters["entity_type"],
        entity_id=filters["entity_id"].strip().lstrip("#"),
        action=action,
        actor=actor,
        since=since,
        before=before,
    )
    problems = audit.verify_chain(session=session) if request.args.get("verify") == "1" else None
    return render_template(
        "admin/audit.html",
        entity_link=_entity_link,
        changes=audit.changes,
        names=audit_names(session, events),
        actions=sorted(ACTION_LABELS) + [f"report.{status}" for status in REPORT_STATES if status != "new"],
        events=events,
        filters=filters,
        problems=problems,
        head=audit.chain_head(session=session) if problems == [] else None,
        pagination=Pagination(page, per_page, total),
    )
