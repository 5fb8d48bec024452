"""Page numbers from the query string, bounded."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from math import ceil

from flask import current_app, has_request_context, request
from flask_babel import gettext as _

from ..domain import N_, DomainError, registry

MAX_PAGE = 10**9  # as the API's: the offset must fit the database's integers
FIRST_DAY, LAST_DAY = registry.FILTER_FIRST_DAY, registry.FILTER_LAST_DAY


def page_args(max_per_page: int = 200) -> tuple[int, int]:
    page = request.args.get("page", 1, type=int) or 1
    per_page = request.args.get("per_page", current_app.config["PER_PAGE"], type=int) or current_app.config["PER_PAGE"]
    return min(max(page, 1), MAX_PAGE), min(max(per_page, 1), max_per_page)


def id_arg(name: str) -> int | None:
    """A record id from the query string, or None when it is missing or could be no row's (the id columns
    are 32-bit: a larger number would overflow PostgreSQL's integer rather than match nothing)."""
    value = request.args.get(name, None, type=int)
    return value if value is not None and 1 <= value < 2**31 else None


def date_arg(name: str, *, strict: bool = False) -> date | None:
    """A YYYY-MM-DD query argument, or None when it is missing, malformed or out of any record's reach.

    strict: a malformed date is refused (400) rather than ignored, where ignoring it would hand over
    something else than was asked for (an export of every scan instead of one month's)."""
    value = request.args.get(name, "")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None and value and strict:
        raise DomainError("invalid_date", N_("Write dates as YYYY-MM-DD."), status=400, fields={name: value[:20]})
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        if strict:
            raise DomainError(
                "invalid_date",
                N_("Choose dates from %(first)s to %(last)s."),
                status=400,
                fields={name: value[:20]},
                params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
            )
        day = None
    if day is None and value:  # the page is drawn without it, and says so
        note(
            _(
                "“%(value)s” is not a date this page can use (write YYYY-MM-DD): the page is shown without it.",
                value=value[:20],
            )
        )
    return day


def day_range_args(*, strict: bool = False) -> tuple[date | None, date | None]:
    """The from/to filters. A start after the end is taken for the two the wrong way round (a list or an
    export that silently came back empty would say nothing), and the page says so."""
    first, last = date_arg("from", strict=strict), date_arg("to", strict=strict)
    if first and last and first > last:
        note(_("The start came after the end: the two were swapped."))
        return last, first
    return first, last


def china_day_range() -> tuple[datetime | None, datetime | None]:
    """The from/to filters as instants: the start of the first day in China, the end of the last."""
    first, last = day_range_args()
    return (
        registry.china_midnight(first) if first else None,
        registry.china_midnight(last + timedelta(days=1)) if last else None,
    )


def choice_arg(name: str, allowed) -> str:
    """A filter that takes one of `allowed`: a value it does not know (an old or edited link; a product
    not this cooperative's) is dropped, and the page says so, rather than list nothing under "All"."""
    value = request.args.get(name, "")
    if value and value not in allowed:
        note(_("“%(value)s” is not one of this filter's choices: the page is shown without it.", value=value[:40]))
        return ""
    return value


def note(message: str) -> None:
    """A word on what the page did with a filter it could not use as given (filter_notes shows it)."""
    request.environ.setdefault("gi.filter_notes", []).append(message)


def filter_notes() -> list[str]:
    """What the page did with filters it could not use as given (base.html shows them). Kept on the
    request's own environ, as g belongs to the app context, which an outer one (a test's, a command's)
    can share across requests."""
    return request.environ.get("gi.filter_notes", []) if has_request_context() else []


@dataclass
class Pagination:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.per_page), 1)
