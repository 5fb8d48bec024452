"""The counterfeit-report budget, counted by hand at the moment a report is filed.

A limiter decorator counts a request before it runs, or (deduct_when) after it answers. Neither fits:
counted before, a form sent back to be corrected uses up the budget; counted after, reports sent at once
all pass the check before any of them is counted. So the budget is checked as a submission arrives (to
spare the work on one that cannot be filed) and spent, atomically in the limiter's storage, just before
the report's commit. Every submission, refused or not, also counts against the attempts budget
(extensions.report_attempt_limit).
"""

import time
from functools import wraps

from flask import current_app, request
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from .extensions import client_key, limiter

SCOPE = "report-filed"


def _budget():
    return [(item, SCOPE, client_key()) for item in parse_many(current_app.config["REPORT_RATE_LIMIT"])]


def _exhausted(item, keys) -> TooManyRequests:
    reset = limiter.limiter.get_window_stats(item, *keys).reset_time
    return TooManyRequests(retry_after=max(int(reset - time.time()), 1))


def _within_budget(way: str) -> None:
    """Refuse (429) past any of the budget's limits, by the limiter's `test` (look only) or `hit` (spend)."""
    if not limiter.enabled:  # a disabled limiter has no strategy to ask
        return
    count = getattr(limiter.limiter, way)
    for item, *keys in _budget():
        try:
            within = count(item, *keys)
        except Exception:  # the storage (Redis) is down: a report is let through, as the limiter does
            current_app.logger.exception("the report budget could not be counted; the report is let through")
            return
        if not within:
            raise _exhausted(item, keys)


def report_budget_checked(view):
    """Refuse (429) a report from an address whose budget is spent, before any work is done on it."""

    @wraps(view)
    def checked(*args, **kwargs):
        if request.method == "POST":
            _within_budget("test")
        return view(*args, **kwargs)

    return checked


def report_wait() -> int:
    """Seconds until this address may file another report; 0 if it may now."""
    try:
        _within_budget("test")
    except TooManyRequests as spent:
        return spent.retry_after
    return 0


def spend_report_budget() -> None:
    """Count one filed report; past the budget, 429, and the caller's transaction is rolled back."""
    _within_budget("hit")
