"""Unbound extension objects; create_app binds them."""

import hashlib
from collections.abc import Mapping

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def code_keys():
    """The app's label-code signing keys (bound in create_app from GI_CODE_KEY)."""
    from flask import current_app

    return current_app.extensions["code_keys"]


def copy_rules():
    """The copy-detection thresholds from the settings."""
    from flask import current_app

    from .domain.verification import CopyRules

    config = current_app.config
    return CopyRules(
        max_serial_scans=config["GI_COPY_MAX_SCANS"],
        far_km=config["GI_COPY_FAR_KM"],
        far_hours=config["GI_COPY_FAR_HOURS"],
        batch_scans_per_label=config["GI_COPY_BATCH_SCANS_PER_LABEL"],
    )


def _setting(name: str):
    from flask import current_app

    return lambda: current_app.config[name]


def _login_account() -> str:
    """The account a login names (the form's or the API's e-mail), hashed: the limiter's storage keeps no
    e-mail, and an empty or odd one still gives a key (the limiter skips a limit whose key is empty)."""
    from flask import request

    body = request.get_json(silent=True) if request.is_json else request.form
    email = body.get("email", "") if isinstance(body, Mapping) else ""
    return hashlib.sha256(str(email).strip().lower().encode()).hexdigest()[:32]


def _login_refused(response) -> bool:
    """A login that failed: the form shown again (a success redirects) or the API's 401."""
    return response.status_code in (200, 401)


def _login_limits(view):
    """Two budgets: attempts per address, and failed logins per account from any address, so guessing one
    account's password from many addresses is slowed too. Only failures count against the account, so its
    owner who types the password right is not stopped by someone else's attempts below that limit."""
    per_address = limiter.shared_limit(_setting("LOGIN_RATE_LIMIT"), scope="login", methods=["POST"])
    per_account = limiter.shared_limit(
        _setting("ACCOUNT_LOGIN_RATE_LIMIT"),
        scope="login-account",
        key_func=_login_account,
        methods=["POST"],
        deduct_when=_login_refused,
    )
    return per_address(per_account(view))


# One budget per purpose, shared by every way in: the form and the API, the page and the GS1 link.
login_limit = _login_limits
verify_limit = limiter.shared_limit(_setting("VERIFY_RATE_LIMIT"), scope="verify")
# Every report submission, refused or filed; the budget of reports filed is counted in budgets.py.
report_attempt_limit = limiter.shared_limit(
    _setting("REPORT_ATTEMPT_RATE_LIMIT"), scope="report-attempt", methods=["POST"]
)
