"""Unbound extension objects; create_app binds them."""

import ipaddress

from flask import request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect


class SessionLoginManager(LoginManager):
    """Flask-Login, with its "strong" session protection for signed-in sessions only.

    Flask-Login takes any session that is not empty and was not made at login as stolen: an anonymous
    visitor's, which holds a form's CSRF token or a chosen language, was emptied of nothing, marked, and
    its cookie sent anew on every request (a remember cookie deleted with it each time)."""

    def _session_protection_failed(self) -> bool:
        return "_user_id" in session and super()._session_protection_failed()


login_manager = SessionLoginManager()
csrf = CSRFProtect()
babel = Babel()


def client_network(address: str) -> str:
    """Whom an address stands for: itself, or for IPv6 its /64. One phone or home is given a whole /64
    and its privacy addresses change within it at will, so a budget or a repeat-scan rule per full IPv6
    address would hold no one; an IPv4 address mapped into IPv6 is that IPv4 address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network((ip, 64), strict=False))
    return str(ip)


def client_key() -> str:
    """The request's client for rate limits, report budgets and the address hash of its scans."""
    return client_network(request.remote_addr or "")


limiter = Limiter(key_func=client_key, default_limits=[])


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
