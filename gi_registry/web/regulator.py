"""The regulator's desk: the report queue, the case page, and the actions a case can lead to."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask import session as browser_session
from flask_babel import gettext as _
from sqlmodel import select

from ..access import page_user, roles_required
from ..db import get_session
from ..domain import DomainError, NotFound, ascii_digits, audit, batches, registry, reports
from ..extensions import copy_rules
from ..i18n import REPORT_STATUS_LABELS, licence_action_done, licence_action_title, local_name
from ..models import REPORT_STATES, STAFF, Area, Batch, Licensee, Product, ReportPhoto, User, utcnow
from .forms import (
    AssignForm,
    CaseProductForm,
    CopyWarningForm,
    LicenceActionForm,
    RecallForm,
    ReportStepForm,
    refused,
    say_licence_changed,
)
from .paging import Pagination, china_day_range, choice_arg, page_args

bp = Blueprint("regulator", __name__, url_prefix="/regulator")
QUEUE_FILTERS = ("q", "product", "county", "from", "to", "mine")
# What a case page's way back to the queue keeps: the list as the officer left it, however many steps
# and actions on the case came between.
QUEUE_VIEW = (*QUEUE_FILTERS, "status", "page", "per_page")


@bp.get("/reports")
@roles_required(*STAFF)
def queue():
    session = get_session()
    page, per_page = page_args()
    now, deadlines = utcnow(), current_app.config["REPORT_DEADLINES"]
    # The desk's work by default: a bare visit lists the open cases. A search (a tracking number, a
    # product, dates …) looks at every case unless it names a status; "All" (status=) is every one too.
    searching = any(request.args.get(name) for name in QUEUE_FILTERS)
    status = request.args.get("status", "" if searching else reports.OPEN)
    if status and status not in reports.FILTER_STATES:  # an old or edited link
        unknown = _("“%(value)s” is no status this list knows: cases of every status are shown.", value=status[:20])
        flash(unknown, "warning")
        status = ""
    filed_from, filed_to = china_day_range()
    products, counties = registry.list_products(session=session), registry.counties(session=session)
    where = reports.ReportFilter(
        status=status,
        product_code=choice_arg("product", {p.code for p in products} | {reports.NO_PRODUCT}),
        county_code=choice_arg("county", {c.code for c in counties}),
        filed_from=filed_from,
        filed_to=filed_to,
        tracking_no=request.args.get("q", "")[:24],
        assigned_to=page_user().id if request.args.get("mine") == "1" else None,
        deadlines=deadlines,
        now=now,
    )
    rows, total = reports.search_reports(session=session, where=where, page=page, per_page=per_page)
    browser_session["queue_view"] = _queue_view(where)
    return render_template(
        "regulator/queue.html",
        rows=rows,
        where=where,
        pagination=Pagination(page, per_page, total),
        statuses=REPORT_STATUS_LABELS,
        products=products,
        counties=counties,
        users={u.id: u.email for u in session.exec(select(User))},  # an assignee whose role changed since too
        args=request.args,
        waiting=lambda r: reports.waiting_days(r, now=now),
        overdue=lambda r: reports.is_overdue(r, now=now, deadlines=deadlines),
    )


def _queue_view(where: reports.ReportFilter) -> dict:
    """The queue's arguments as it used them, for the way back: a filter it dropped (an unknown status or
    product) is not kept to be warned about again, and nothing is longer than a filter needs (the session
    cookie that keeps them holds 4 KB)."""
    used = {"status": where.status, "product": where.product_code, "county": where.county_code, "q": where.tracking_no}
    kept = {name: used.get(name, request.args[name]) for name in QUEUE_VIEW if name in request.args}
    return {name: value[:24] for name, value in kept.items() if value or name == "status"}


def _case_forms(report) -> tuple[ReportStepForm, AssignForm]:
    step = ReportStepForm(prefix="step", seen_status=report.status)
    step.status.choices = _step_choices(reports.NEXT[report.status])
    # seen is text, as a sent form's is: a form sent without it (an older page, a script) takes this one.
    assign = AssignForm(prefix="assign", assignee=report.assigned_to or 0, seen=str(report.assigned_to or 0))
    desk = get_session().exec(select(User).where(User.role == "regulator", User.is_active).order_by(User.email))
    assign.assignee.choices = [(0, _("nobody"))] + [(u.id, u.email) for u in desk]
    return step, assign


def _product_form(report, products) -> CaseProductForm:
    form = CaseProductForm(prefix="product", product=report.product_id or 0)
    form.product.choices = [(0, _("not known"))] + [(p.id, local_name(p)) for p in products]
    return form


def _step_choices(states) -> list[tuple[str, str]]:
    # The workflow's own order, so the usual next step comes first and dismissal is never the default.
    return [(s, str(REPORT_STATUS_LABELS[s])) for s in REPORT_STATES if s in states]


def _actions_since(session, report, batch, licence) -> list:
    """What was done about the case besides its steps: assignment, and the batch's and licence's changes
    since it was filed (from the case or elsewhere), as the audit log holds them."""
    subjects = [("report", report.id)] + ([("batch", batch.id), ("licence", licence.id)] if batch else [])
    events = audit.about(session=session, subjects=subjects, since=report.created_at)
    # The steps are the case history already.
    shown = ("report.assign", "report.product")
    return [event for event in events if event.entity_type != "report" or event.action in shown]


def _render_case(
    report,
    *,
    step=None,
    assign=None,
    product_form=None,
    recall=None,
    copy=None,
    licence_sent=None,
    licence_sent_action="",
    status: int = 200,
):
    """The case page; a form given is a refused one, shown again in its box with what was typed."""
    session = get_session()
    default_step, default_assign = _case_forms(report)
    batch = session.get(Batch, report.batch_id) if report.batch_id else None
    licence = batches.governing_licence(session=session, batch=batch) if batch else None
    products = registry.list_products(session=session)
    history = reports.code_history(session=session, report=report)
    now = utcnow()
    return render_template(
        "regulator/case.html",
        report=report,
        queue_url=url_for("regulator.queue", **browser_session.get("queue_view", {})),
        step_form=step or default_step,
        assign_form=assign or default_assign,
        product_form=product_form or _product_form(report, products),
        recall_form=recall or RecallForm(formdata=None, prefix="recall"),
        copy_form=copy or CopyWarningForm(formdata=None, prefix="copy"),
        copy_signs=reports.copy_signs_of(session=session, report=report, rules=copy_rules()),
        # Each licence action's box: the refused one's (licence_sent) keeps what was typed.
        licence_form=LicenceActionForm(
            formdata=None, prefix="licence", seen=registry.version_of(licence) if licence else ""
        ),
        licence_sent=licence_sent,
        licence_sent_action=licence_sent_action,
        photos=reports.photos_of(session=session, report=report),
        events=reports.events_of(session=session, report=report),
        actions=_actions_since(session, report, batch, licence),
        history=history,
        # A copied label's checks run to thousands: the page lists the latest and says of how many.
        history_total=reports.count_code_scans(session=session, report=report)
        if len(history) >= reports.HISTORY_LIMIT
        else len(history),
        batch=batch,
        licence=licence,
        licence_status=registry.licence_status(licence) if licence else None,
        product=reports.concerned_product(session=session, report=report, batch=batch),
        product_names={p.code: local_name(p) for p in products},
        licensee=session.get(Licensee, batch.licensee_id) if batch else None,
        origin=session.get(Area, batch.origin_code) if batch else None,
        users={u.id: u.email for u in session.exec(select(User))},
        waiting=reports.waiting_days(report, now=now),
        overdue=reports.is_overdue(report, now=now, deadlines=current_app.config["REPORT_DEADLINES"]),
        licence_actions=registry.allowed_actions(licence) if licence else [],
    ), status


@bp.get("/reports/<id:report_id>")
@roles_required(*STAFF)
def case(report_id: int):
    return _render_case(reports.get_report(session=get_session(), report_id=report_id))


@bp.post("/reports/<id:report_id>/step")
@roles_required("regulator")
def step(report_id: int):
    session = get_session()
    report = reports.get_report(session=session, report_id=report_id)
    form, _assign = _case_forms(report)
    # Any status passes the form: a step the case has moved past since the page was drawn (another officer
    # took one) is the workflow's conflict, said as such, not the form's "not a valid choice".
    form.status.choices = _step_choices(REPORT_STATES)
    if form.validate_on_submit():
        try:
            reports.transition(
                session=session, report=report, to_status=form.status.data, note=form.note.data, actor=page_user()
            )
            session.commit()
            now = str(REPORT_STATUS_LABELS[report.status])
            flash(_("The case's status is now “%(status)s”.", status=now), "success")
            return redirect(url_for("regulator.case", report_id=report.id))
        except DomainError as error:
            session.rollback()  # the case is read again: as it is now, after whoever moved it
            _say_step_refused(form, error, report)
            status = error.status
    else:
        status = 422
        if report.status == "closed":  # the page has no step box now to show the form's problem at
            _say_case_closed(form)
    form.status.choices = _step_choices(reports.NEXT[report.status])  # the steps the case allows now
    return _render_case(report, step=form, status=status)


def _say_step_refused(form: ReportStepForm, error: DomainError, report) -> None:
    if error.code != "transition_forbidden" or form.seen_status.data in ("", report.status):
        refused(form, error)  # a step the case never allowed
        return
    now = str(REPORT_STATUS_LABELS[report.status])
    if report.status == "closed":
        _say_case_closed(form)
    else:  # the note typed stays in the form below
        flash(_("The step was not taken: the case is now “%(status)s”. Choose its next step.", status=now), "error")


def _say_case_closed(form: ReportStepForm) -> None:
    """A closed case's page has no step box to keep the note in: it is given back in the message."""
    if (form.note.data or "").strip():
        flash(_("The case was closed meanwhile; your note was not saved: %(note)s", note=form.note.data), "error")
    else:
        flash(_("The case was closed meanwhile: no step is left to take."), "error")


@bp.post("/reports/<id:report_id>/assign")
@roles_required("regulator")
def assign(report_id: int):
    session = get_session()
    report = reports.get_report(session=session, report_id=report_id)
    _step, form = _case_forms(report)
    status = 422
    if form.validate_on_submit():
        assignee = session.get(User, form.assignee.data) if form.assignee.data else None
        seen = int(form.seen.data) if ascii_digits(form.seen.data or "") else None
        try:
            reports.assign(session=session, report=report, assignee=assignee, actor=page_user(), seen=seen)
            session.commit()
            if assignee is None:
                flash(_("Nobody is assigned to the case now."), "success")
            else:
                flash(_("The case is assigned to %(who)s.", who=assignee.email), "success")
            return redirect(url_for("regulator.case", report_id=report.id))
        except DomainError as error:
            session.rollback()  # the case is read again: as it is now, after whoever assigned it
            _say_assign_refused(form, error, report)
            status = error.status
    return _render_case(report, assign=form, status=status)


def _say_assign_refused(form: AssignForm, error: DomainError, report) -> None:
    if error.code != "assigned_meanwhile":
        refused(form, error)
        return
    now = get_session().get(User, report.assigned_to).email if report.assigned_to else _("nobody")
    message = _(
        "The case was assigned meanwhile (now: %(who)s); your assignment was not saved. Assign again to change it.",
        who=now,
    )
    flash(message, "error")
    form.seen.data = str(report.assigned_to or 0)  # the choice stays; sent again, it is a deliberate one


@bp.post("/reports/<id:report_id>/product")
@roles_required("regulator")
def name_product(report_id: int):
    """Name the product a case filed without a registry code concerns, for the queue's product filter."""
    session = get_session()
    report = reports.get_report(session=session, report_id=report_id)
    form = _product_form(report, registry.list_products(session=session))
    if form.validate_on_submit():
        product = session.get(Product, form.product.data) if form.product.data else None
        try:
            reports.name_product(session=session, report=report, product=product, actor=page_user())
            session.commit()
            flash(_("The case's product is noted."), "success")
            return redirect(url_for("regulator.case", report_id=report.id))
        except DomainError as error:
            session.rollback()
            refused(form, error)
            return _render_case(report, product_form=form, status=error.status)
    return _render_case(report, product_form=form, status=422)


def _case_batch(report) -> Batch:
    batch = get_session().get(Batch, report.batch_id) if report.batch_id else None
    if batch is None:
        raise NotFound("batch")
    return batch


def _act_on_case(report_id: int, form, act, *, done: str, title: str, box: dict, offered):
    """Run one case action that needs a reason: done, flash it and go back to the case. Refused, nothing is
    written and the case is shown again, the reason typed kept in the action's box (`box`: the _render_case
    keywords that put the form there), or given back in the banner where the case, as the refusal leaves it,
    no longer offers the action (`offered`: the batch recalled meanwhile, say)."""
    session = get_session()
    report = reports.get_report(session=session, report_id=report_id)
    batch = _case_batch(report)  # a case naming no batch of the registry offers none of these actions
    if not form.validate_on_submit():
        _say_reason_refused(form, title)
        return _render_case(report, status=422, **box)
    try:
        act(session, batch, form.reason.data)
        session.commit()
    except DomainError as error:
        session.rollback()  # the case is read again: as it is now, after whoever changed it
        _say_action_refused(report, form, error, offered=offered(report))
        return _render_case(report, status=error.status, **box)
    flash(done, "success")
    return redirect(url_for("regulator.case", report_id=report_id))


def _say_reason_refused(form, title: str) -> None:
    # Said at the box too; but the case page has several reason boxes, below the fold on a phone: the
    # banner at the top names the one meant.
    if (form.reason.data or "").strip() and form.reason.errors:  # one too long, say
        flash(_("%(step)s: %(problem)s", step=title, problem=form.reason.errors[0]), "error")
    else:
        flash(_("%(step)s: a reason is required.", step=title), "error")


def _say_action_refused(report, form, error: DomainError, *, offered: bool) -> None:
    if error.code == "licence_changed":  # how the licence stands now; the reason given back if need be
        licence = batches.governing_licence(session=get_session(), batch=_case_batch(report))
        say_licence_changed(form, licence, offered=offered)
        return
    refused(form, error)
    if not offered:  # no box left to keep it in
        flash(_("Your reason, not saved: %(reason)s", reason=form.reason.data), "error")


@bp.post("/reports/<id:report_id>/recall")
@roles_required("regulator")
def recall(report_id: int):
    """Recall the batch the reported code belongs to; consumers see it at their next scan."""

    def act(session, batch, reason):
        batches.recall_batch(session=session, batch=batch, reason=reason, actor=page_user())

    form = RecallForm(prefix="recall")
    return _act_on_case(
        report_id,
        form,
        act,
        done=_("The batch is recalled; every scan of its labels now says so."),
        title=_("Recall the batch"),
        box={"recall": form},
        offered=lambda report: _case_batch(report).status == "active",
    )


@bp.post("/reports/<id:report_id>/copy-warning")
@roles_required("regulator")
def lift_copy_warning(report_id: int):
    """Lift the reported label's copy warning, found unfounded; its later scans count again."""
    report = reports.get_report(session=get_session(), report_id=report_id)

    def act(session, _batch, reason):
        reports.lift_copy_warning(session=session, report=report, reason=reason, actor=page_user(), rules=copy_rules())

    form = CopyWarningForm(prefix="copy")
    return _act_on_case(
        report_id,
        form,
        act,
        done=_("The copy warning is lifted: the label's scans so far no longer count towards it."),
        title=_("Lift the copy warning"),
        box={"copy": form},
        offered=lambda report: bool(reports.copy_signs_of(session=get_session(), report=report, rules=copy_rules())),
    )


@bp.post("/reports/<id:report_id>/licence/<any(suspend, reinstate, revoke):action>")
@roles_required("regulator")
def licence_action(report_id: int, action: str):
    """Suspend, reinstate or revoke the licence behind the reported batch."""
    form = LicenceActionForm(prefix="licence")

    def act(session, batch, reason):
        licence = batches.governing_licence(session=session, batch=batch)
        registry.change_licence_state(
            session=session,
            licence=licence,
            action=action,
            reason=reason,
            actor=page_user(),
            seen=form.seen.data or None,
        )

    def offered(report) -> bool:
        licence = batches.governing_licence(session=get_session(), batch=_case_batch(report))
        return action in registry.allowed_actions(licence)

    return _act_on_case(
        report_id,
        form,
        act,
        done=licence_action_done(action),
        title=licence_action_title(action),
        box={"licence_sent": form, "licence_sent_action": action},
        offered=offered,
    )


@bp.get("/photos/<name>")
@roles_required(*STAFF)
def photo(name: str):
    """Report photos are served only to staff, and only names the database knows."""
    if get_session().exec(select(ReportPhoto).where(ReportPhoto.filename == name)).first() is None:
        raise NotFound("photo")
    response = send_from_directory(current_app.config["GI_UPLOAD_DIR"], name, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    return response
