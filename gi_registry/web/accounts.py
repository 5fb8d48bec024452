"""The admins' account pages: who may log in, in which role, and for which cooperative."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..access import page_user, roles_required
from ..db import get_session
from ..domain import DomainError, NotFound, accounts
from ..i18n import refusal_text
from ..models import ROLES, Licensee, User
from .forms import AccountActionForm, AccountForm, refused
from .paging import Pagination, page_args

bp = Blueprint("accounts", __name__, url_prefix="/admin/accounts")


def _account(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        raise NotFound("user")
    return user


@bp.get("/")
@roles_required("admin")
def index():
    page, per_page = page_args()
    q, role = request.args.get("q", ""), request.args.get("role", "")
    found, total = accounts.search_users(session=get_session(), q=q, role=role, page=page, per_page=per_page)
    return render_template(
        "admin/accounts.html",
        users=found,
        q=q,
        role=role,
        roles=ROLES,
        licensees=_licensees(found),
        pagination=Pagination(page, per_page, total),
    )


def _licensees(users: list[User]) -> dict[int, Licensee]:
    ids = {user.licensee_id for user in users if user.licensee_id}
    session = get_session()
    return {licensee_id: session.get(Licensee, licensee_id) for licensee_id in ids}


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def create():
    form = AccountForm()
    if form.validate_on_submit():
        session = get_session()
        password = accounts.new_password()
        try:
            user = accounts.create_user(
                session=session,
                email=form.email.data,
                password=password,
                role=form.role.data,
                licensee_uscc=form.licensee_uscc.data or None,
                actor=page_user(),
            )
        except DomainError as error:
            session.rollback()
            refused(form, error)
            return render_template("admin/account_form.html", form=form), error.status
        session.commit()
        return _show(user, password=password)
    return render_template("admin/account_form.html", form=form), 422 if form.is_submitted() else 200


def _show(user: User, *, password: str | None = None, status: int = 200):
    """The account's page; a new password is shown on this one answer only, never stored or flashed."""
    licensee = get_session().get(Licensee, user.licensee_id) if user.licensee_id else None
    page = render_template(
        "admin/account.html", user=user, licensee=licensee, password=password, form=AccountActionForm()
    )
    return page, status, {"Cache-Control": "no-store"}


@bp.get("/<id:user_id>")
@roles_required("admin")
def show(user_id: int):
    return _show(_account(user_id))


@bp.post("/<id:user_id>/<any(deactivate, activate):action>")
@roles_required("admin")
def set_active(user_id: int, action: str):
    user, form = _account(user_id), AccountActionForm()
    if not form.validate_on_submit():
        return _show(user, status=422)
    session = get_session()
    try:
        accounts.set_active(
            session=session, user=user, active=action == "activate", reason=form.reason.data or "", actor=page_user()
        )
    except DomainError as error:
        session.rollback()
        flash(refusal_text(error), "error")
        return _show(user, status=error.status)
    session.commit()
    done = _("Account activated.") if action == "activate" else _("Account deactivated; its logins have ended.")
    flash(done, "success")
    return redirect(url_for("accounts.show", user_id=user.id))


@bp.post("/<id:user_id>/reset-password")
@roles_required("admin")
def reset_password(user_id: int):
    user, form = _account(user_id), AccountActionForm()
    if user.id == page_user().id:  # a reset ends every login of the account, the one that would read it too
        flash(_("Your own password is changed here, with the current one."), "info")
        return redirect(url_for("auth.change_password"))
    if not form.validate_on_submit():
        return _show(user, status=422)
    session = get_session()
    password = accounts.new_password()
    accounts.set_password(session=session, user=user, password=password, actor=page_user())
    session.commit()
    return _show(user, password=password)
