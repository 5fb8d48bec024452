"""Login and logout for the staff pages."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from ..db import get_session
from ..domain.accounts import authenticate
from ..extensions import login_limit
from .access import LoginUser, safe_next
from .forms import LoginForm

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {"admin": "admin.index", "regulator": "admin.index", "cooperative": "coop.index"}


@bp.route("/login", methods=["GET", "POST"])
@login_limit
def login():
    form = LoginForm()
    if form.validate_on_submit():
        session = get_session()
        user = authenticate(session=session, email=form.email.data, password=form.password.data)
        session.commit()
        if user is not None:
            login_user(LoginUser(user))
            target = safe_next(request.args.get("next")) or url_for(HOME_BY_ROLE[user.role])
            return redirect(target)
        flash(_("Wrong e-mail or password."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("public.home"))
