"""The cooperative's portal: its licences, its batches, labels and downloads; staff may read every batch."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from .. import downloads
from ..access import page_user, roles_required
from ..db import get_session
from ..domain import N_, DomainError, ascii_digits, audit, batches, labels, registry
from ..extensions import code_keys
from ..i18n import actor_label, field_label, joined, local_name, office_label, refusal_text, status_label
from ..models import BATCH_READERS, STAFF, Area, Batch, Licensee, Product
from . import batch_forms
from .audit_names import audit_names
from .forms import BatchCorrectionForm, BatchForm, LabelIssueForm, RecallForm, refused
from .paging import Pagination, choice_arg, day_range_args, id_arg, page_args

bp = Blueprint("coop", __name__, url_prefix="/coop")


def _my_licensee() -> Licensee:
    return get_session().get(Licensee, page_user().licensee_id)


def _batch(batch_id: int) -> Batch:
    return batches.get_batch_for(session=get_session(), batch_id=batch_id, user=page_user())


@bp.get("/")
@roles_required("cooperative")
def index():
    session = get_session()
    licensee = _my_licensee()
    recent, total = batches.search_batches(
        session=session, user=page_user(), where=batches.BatchFilter(), page=1, per_page=5
    )
    licences = registry.licences_of(session=session, licensee=licensee)
    return render_template(
        "coop/index.html",
        licensee=licensee,
        recent=recent,
        total=total,
        licences=licences,
        status_of=registry.licence_status,
        # A suspended or revoked licence says why, so the cooperative knows what to put right.
        why={licence.id: registry.state_change(session=session, licence=licence) for licence, _product in licences},
    )


@bp.get("/batches")
@roles_required(*BATCH_READERS)
def batch_list():
    session = get_session()
    page, per_page = page_args()
    harvested_from, harvested_to = day_range_args()
    products = registry.list_products(session=session)
    choices = _filter_choices(products)
    where = batches.BatchFilter(
        product_code=choice_arg("product", {p.code for p in choices["product_choices"]}),
        status=choice_arg("status", batches.BATCH_STATES),
        harvested_from=harvested_from,
        harvested_to=harvested_to,
        q=request.args.get("q", ""),
        licensee_id=id_arg("licensee") if page_user().role in STAFF else None,
    )
    found, total = batches.search_batches(session=session, user=page_user(), where=where, page=page, per_page=per_page)
    return render_template(
        "coop/batches.html",
        batches=found,
        where=where,
        pagination=Pagination(page, per_page, total),
        counts=batches.scan_counts(session=session, batch_ids=[b.id for b in found]),
        products={p.id: p for p in products},
        **choices,
    )


def _filter_choices(products: list[Product]) -> dict:
    """A cooperative filters by the products it is licensed for; staff by any product and by licensee."""
    session = get_session()
    if page_user().role in STAFF:
        return {
            "product_choices": products,
            "licensees": {x.id: x for x in registry.list_licensees(session=session)},
        }
    licensed = registry.licences_of(session=session, licensee=_my_licensee())
    return {"product_choices": list({product.id: product for _, product in licensed}.values()), "licensees": None}


def _batch_form() -> BatchForm:
    """The form with only the products this cooperative is licensed for, and their origins grouped."""
    session = get_session()
    form = BatchForm()
    # Offered: the products licensed today. Taken back too: the one the form was sent with, if its licence
    # was suspended since the form was drawn, so that the refusal says so rather than "not a valid choice".
    # A product withdrawn from the register takes no batch either: not offered, unless sent (to say so).
    sent = form.product_code.data if form.is_submitted() else None
    offered = [product for product in _licensed_today(sent) if product.status == "active" or product.code == sent]
    licensed = {product.id: product for product in offered}
    form.product_code.choices = [(p.code, local_name(p)) for p in licensed.values()]
    # One group per product, in the same order: static/batch_form.js shows the chosen product's group.
    form.origin_code.choices = {
        local_name(product): [
            (a.code, batch_forms.area_label(a)) for a in registry.origin_choices(session=session, product=product)
        ]
        for product in licensed.values()
    }
    return form


def _licensed_today(sent: str | None = None) -> list[Product]:
    """The products of the cooperative's licences in force today, and the `sent` one whatever its licence."""
    licences = registry.licences_of(session=get_session(), licensee=_my_licensee())
    return [
        product for licence, product in licences if product.code == sent or registry.licence_status(licence) == "active"
    ]


@bp.route("/batches/new", methods=["GET", "POST"])
@roles_required("cooperative")
def batch_new():
    session = get_session()
    form = _batch_form()
    once = _form_token(form)
    if form.validate_on_submit():
        data = batches.BatchInput(product_code=form.product_code.data, **batch_forms.details(form))
        licensee = _my_licensee()
        if done := batches.registered_by_form(session=session, licensee=licensee, form_token=once):
            return _registered_already(done)
        try:
            batch = batches.register_batch(
                session=session, licensee=licensee, data=data, actor=page_user(), form_token=once
            )
            session.commit()
            flash(_("Batch %(no)s registered.", no=batch.batch_no), "success")
            return redirect(url_for("coop.batch_detail", batch_id=batch.id))
        except IntegrityError:  # the same form, sent twice at once: the other request made the batch
            session.rollback()
            if done := batches.registered_by_form(session=session, licensee=licensee, form_token=once):
                return _registered_already(done)
            raise
        except DomainError as error:
            session.rollback()
            refused(form, error)
    elif form.is_submitted():
        batch_forms.name_date_problem(form)
    status = 422 if form.is_submitted() else 200
    # Nothing to offer though a licence is in force: its products were withdrawn, which the page says.
    withdrawn = not form.product_code.choices and bool(_licensed_today())
    page = render_template(
        "coop/batch_form.html", form=form, withdrawn=withdrawn, today=registry.registry_today().isoformat()
    )
    return page, status


def _form_token(form: BatchForm) -> str | None:
    """The form's one-time token, if it is one this app could have made (else no guard, not an error)."""
    token = form.once.data or ""
    return token if 16 <= len(token) <= 32 and token.replace("-", "").replace("_", "").isalnum() else None


def _registered_already(batch: Batch):
    flash(_("Batch %(no)s was registered by this form already: no second batch was made.", no=batch.batch_no), "info")
    return redirect(url_for("coop.batch_detail", batch_id=batch.id))


@bp.get("/batches/<id:batch_id>")
@roles_required(*BATCH_READERS)
def batch_detail(batch_id: int):
    return _render_detail(_batch(batch_id), LabelIssueForm(), RecallForm())


def _render_detail(batch: Batch, issue_form: LabelIssueForm, recall_form: RecallForm, status: int = 200):
    session = get_session()
    issue_form.seen.data = batch.labels_issued  # as this page shows them, whatever a refused form had said
    product = session.get(Product, batch.product_id)
    return render_template(
        "coop/batch.html",
        batch=batch,
        product=product,
        issue_form=issue_form,
        recall_form=recall_form,
        licensee=session.get(Licensee, batch.licensee_id),
        origin=session.get(Area, batch.origin_code),
        quota=batches.label_quota(batch=batch, product=product),
        left=batches.labels_left(batch=batch, product=product),
        grids=labels.GRIDS,
        scan_count=batches.scan_counts(session=session, batch_ids=[batch.id]).get(batch.id, 0),
        licence_status=batches.licence_status(session=session, batch=batch),
        batch_url=downloads.batch_url(batch),
        **_history(batch),
    ), status


def _history(batch: Batch) -> dict:
    """The batch's events for its page: who did what, and what a correction changed.

    A cooperative reads its own staff by e-mail and the registry's by role: the officials' addresses are
    not its business."""
    session, viewer = get_session(), page_user()
    events = batches.history(session=session, batch=batch)
    actors = audit.actors(session=session, events=events)

    def who(event) -> str:
        actor = actors.get(event.actor_id)
        own = actor is not None and actor.role == "cooperative" and actor.licensee_id == batch.licensee_id
        if actor is None or own or viewer.role in STAFF:
            return actor_label(event.actor, event.action)
        return office_label(actor.role)

    return {"history": events, "who": who, "changes": audit.changes, "names": audit_names(session, events)}


@bp.route("/batches/<id:batch_id>/correct", methods=["GET", "POST"])
@roles_required("cooperative")
def batch_correct(batch_id: int):
    """Correct a mistyped batch, with a reason for the audit log; its product and number never change."""
    session = get_session()
    batch = _batch(batch_id)
    if batch.status != "active":
        flash(_("A recalled batch cannot be corrected."), "error")
        return redirect(url_for("coop.batch_detail", batch_id=batch.id))
    if (licence := batches.licence_status(session=session, batch=batch)) != "active":
        flash(
            _("The batch cannot be corrected while the licence is %(status)s.", status=status_label(licence)), "error"
        )
        return redirect(url_for("coop.batch_detail", batch_id=batch.id))
    product = session.get(Product, batch.product_id)
    form, conflict = batch_forms.correction_form(batch, product), None
    if form.validate_on_submit():
        # A form opened before another change would undo it: show the batch as it is now instead.
        conflict = batch_forms.meanwhile(form, batch)
        if conflict is None and _saved_correction(form, batch):
            return redirect(url_for("coop.batch_detail", batch_id=batch.id))
    elif form.is_submitted():
        batch_forms.name_date_problem(form)
    status = 409 if conflict is not None else 422 if form.is_submitted() else 200
    page = render_template(
        "coop/batch_correct.html",
        form=form,
        batch=batch,
        product=product,
        origin=session.get(Area, batch.origin_code),
        today=registry.registry_today().isoformat(),
        meanwhile=conflict,
        least=batches.as_typed(batches.least_quantity(labels=batch.labels_issued, unit=batch.unit, product=product)),
    )
    return page, status


def _saved_correction(form: BatchCorrectionForm, batch: Batch) -> bool:
    """Save the correction and say what changed; or put the registry's refusal on the form."""
    session = get_session()
    try:
        changed = batches.correct_batch(
            session=session,
            batch=batch,
            data=batches.BatchDetails.of(batch, **batch_forms.details(form)),
            reason=form.reason.data,
            actor=page_user(),
        )
        session.commit()
    except DomainError as error:
        session.rollback()
        session.refresh(batch)
        refused(form, error)
        return False
    if changed:
        fields = joined([field_label(name, "batch") for name in changed])
        flash(_("Batch %(no)s corrected: %(fields)s.", no=batch.batch_no, fields=fields), "success")
    else:
        flash(_("Nothing was changed."), "info")
    return True


@bp.post("/batches/<id:batch_id>/labels")
@roles_required("cooperative")
def batch_issue(batch_id: int):
    session = get_session()
    batch = _batch(batch_id)
    form = LabelIssueForm()
    if form.validate_on_submit():
        try:
            issue = batches.issue_labels(
                session=session,
                batch=batch,
                count=form.count.data,
                keys=code_keys(),
                actor=page_user(),
                seen=_seen_issued(form),
            )
            session.commit()
            flash(
                _("Labels %(first)s to %(last)s issued.", first=issue.first_serial, last=issue.last_serial), "success"
            )
            return redirect(url_for("coop.batch_detail", batch_id=batch.id))
        except DomainError as error:
            session.rollback()
            session.refresh(batch)
            refused(form, error)
            return _render_detail(batch, form, RecallForm(), status=409 if error.status == 409 else 422)
    return _render_detail(batch, form, RecallForm(), status=422)


def _seen_issued(form: LabelIssueForm) -> int | None:
    """The labels issued as the form's page showed them; None from a form without it (an older page)."""
    value = (form.seen.data or "").strip()
    return int(value) if ascii_digits(value) and len(value) < 10 else None


@bp.post("/batches/<id:batch_id>/recall")
@roles_required("cooperative", "regulator")
def batch_recall(batch_id: int):
    session = get_session()
    batch = _batch(batch_id)
    form = RecallForm()
    if form.validate_on_submit():
        try:
            batches.recall_batch(session=session, batch=batch, reason=form.reason.data, actor=page_user())
            session.commit()
            flash(_("The batch is recalled; every scan of its labels now says so."), "success")
            return redirect(url_for("coop.batch_detail", batch_id=batch.id))
        except DomainError as error:
            session.rollback()
            session.refresh(batch)
            refused(form, error)
    else:  # the recall form sits at the foot of the page: say at its top that nothing happened
        flash(_("The batch was not recalled: see the reason below."), "error")
    return _render_detail(batch, LabelIssueForm(), form, status=422)


@bp.get("/batches/<id:batch_id>/qr.<any(png, svg):kind>")
@roles_required(*BATCH_READERS)
def batch_qr(batch_id: int, kind: str):
    batch = _batch(batch_id)
    return downloads.qr_png(batch) if kind == "png" else downloads.qr_svg(batch)


@bp.get("/batches/<id:batch_id>/epcis.jsonld")
@roles_required(*BATCH_READERS)
def batch_epcis(batch_id: int):
    return downloads.epcis(_batch(batch_id))


@bp.get("/batches/<id:batch_id>/labels.csv")
@roles_required(*BATCH_READERS)
def batch_labels_csv(batch_id: int):
    batch = _batch(batch_id)
    try:
        batches.check_labels_downloadable(batch, reader=page_user(), sheet=False)
    except DomainError as error:
        return _back_to_batch(batch, error)
    return downloads.labels_csv(batch)


# The label sheet's choices, kept when a refused sheet returns to the batch page; nothing else is passed on.
SHEET_CHOICES = ("grid", "first", "last", "batch_code")


@bp.get("/batches/<id:batch_id>/labels.pdf")
@roles_required(*BATCH_READERS)
def batch_labels_pdf(batch_id: int):
    batch = _batch(batch_id)
    grid = request.args.get("grid", "a4-65")
    try:
        first, last = _serial_arg("first") or 1, _serial_arg("last")
        batches.check_labels_downloadable(batch, reader=page_user(), sheet=True)
        return downloads.sheet_pdf(
            batch,
            get_session().get(Product, batch.product_id),
            grid=grid,
            first=first,
            last=last,
            include_batch_code=request.args.get("batch_code") == "1",
        )
    except DomainError as error:
        choices = {name: request.args[name] for name in SHEET_CHOICES if name in request.args}
        return _back_to_batch(batch, error, choices)


def _serial_arg(name: str) -> int | None:
    """A serial of the sheet's range; one that is no number is refused, not read as the whole batch."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    digits = raw.removeprefix("-")
    if not ascii_digits(digits):
        raise DomainError("invalid_range", N_("serials are whole numbers"), fields={name: N_("a whole number")})
    digits = digits.lstrip("0")
    if raw.startswith("-") or not digits:  # not a range the wrong way round: no label is numbered 0
        raise DomainError("invalid_range", N_("label numbers start at 1"), fields={name: N_("1 or more")})
    if len(digits) > 9:  # past any batch's labels (and read before int(), which refuses 4,300 digits)
        raise DomainError("invalid_range", N_("no label has so high a number"), fields={name: N_("too high")})
    return int(digits)


def _back_to_batch(batch: Batch, error: DomainError, choices: dict | None = None):
    """Back to the batch, where the sheet's choices are, with the reason a download was refused."""
    flash(refusal_text(error), "error")
    return redirect(url_for("coop.batch_detail", batch_id=batch.id, **(choices or {})), 303)
