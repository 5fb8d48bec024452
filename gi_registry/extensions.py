"""Unbound extension objects; create_app binds them."""

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


# One budget per purpose, shared by every way in: the form and the API, the page and the GS1 link.
login_limit = limiter.shared_limit(_setting("LOGIN_RATE_LIMIT"), scope="login", methods=["POST"])
verify_limit = limiter.shared_limit(_setting("VERIFY_RATE_LIMIT"), scope="verify")
# Every report submission, refused or filed; the budget of reports filed is counted in budgets.py.
report_attempt_limit = limiter.shared_limit(
    _setting("REPORT_ATTEMPT_RATE_LIMIT"), scope="report-attempt", methods=["POST"]
)
