"""Login and logout for the staff pages."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..access import LoginUser, safe_next
from ..db import get_session
from ..domain import DomainError, accounts
from ..domain.accounts import authenticate
from ..extensions import login_limit
from ..models import User
from .forms import LoginForm, PasswordForm, refused

bp = Blueprint("auth", __name__)

# Each role starts where its work is: the register, the report queue, the cooperative's batches.
HOME_BY_ROLE = {"admin": "admin.index", "regulator": "regulator.queue", "cooperative": "coop.index"}


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login():
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        user = authenticate(session=session, email=form.email.data, password=form.password.data)
        session.commit()
        if user is not None:
            _fresh_session()
            login_user(LoginUser(user))
            target = safe_next(request.args.get("next")) or url_for(HOME_BY_ROLE[user.role])
            return redirect(target)
        flash(_("Wrong e-mail or password."), "error")
    return render_template("auth/login.html", form=form)


def _fresh_session() -> None:
    """Nothing from before the login carries over (its CSRF token above all), but the language chosen."""
    lang = flask_session.get("lang")
    flask_session.clear()
    if lang:
        flask_session["lang"] = lang


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Not only this cookie: a copy of it, or the same account's login elsewhere, ends too.
        session = get_session()
        accounts.end_sessions(session=session, user=session.get(User, current_user.id), tokens=False)
        session.commit()
    logout_user()
    return redirect(url_for("public.home"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@login_limit  # the current password is a guess like a login's, and shares the address's budget of guesses
def change_password():
    """Every account changes its own password here (seed-demo's and an admin's reset ones especially)."""
    form = PasswordForm()
    if form.validate_on_submit():
        session = get_session()
        user = session.get(User, current_user.id)
        try:
            accounts.change_own_password(session=session, user=user, current=form.current.data, new=form.new.data)
        except DomainError as error:
            session.rollback()
            refused(form, error)
            return render_template("auth/password.html", form=form), error.status
        session.commit()
        login_user(LoginUser(user))  # this browser stays logged in under the new epoch; the others end
        flash(_("Your password was changed. Other logins of this account have ended."), "success")
        return redirect(url_for(HOME_BY_ROLE[user.role]))
    return render_template("auth/password.html", form=form), 422 if form.is_submitted() else 200
