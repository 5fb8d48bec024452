"""The dashboard for regulators and admins: scans, verdicts, warnings and the report backlog, as printable charts."""

from flask import Blueprint, flash, render_template
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..access import roles_required
from ..db import get_session
from ..domain import registry, reports, stats
from ..i18n import report_count_label
from ..models import STAFF
from . import charts
from .paging import date_arg

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

VERDICT_LABELS = {
    "genuine": _l("Genuine"),
    "warning": _l("Warning"),
    "revoked": _l("Revoked or recalled"),  # the verdict of a revoked licence's labels and a recalled batch's
    "invalid": _l("Invalid"),
}
# Drawn at the size they take in the page on a laptop (app.css: main is 1100px wide), so their text is 13px there.
WIDE, HALF = 1000, 500
AGE_LABELS = {"0-2": _l("0–2 days"), "3-7": _l("3–7 days"), "8-30": _l("8–30 days"), ">30": _l("over 30 days")}


@bp.get("/")
@roles_required(*STAFF)
def index():
    today = registry.registry_today()
    first, last = date_arg("from"), date_arg("to")
    period = stats.date_range(first=first, last=last, today=today)
    if first and first > (last or today):
        flash(_("The start came after the end: the two were swapped."), "warning")
    if first and period.first > min(first, last or today):
        flash(_("A period is at most two years: this one now starts on %(first)s.", first=period.first), "warning")
    figures = stats.figures(session=get_session(), period=period)
    return render_template(
        "dashboard/index.html", figures=figures, period=period, charts=_charts(figures), verdict_labels=VERDICT_LABELS
    )


def _name(count: stats.Count) -> str:
    """A product's or area's name in the page's language."""
    if str(get_locale()) == "en":
        return count.name_en or count.name or count.key
    return count.name or count.key


def _report_product(count: stats.Count) -> str:
    return _("Product not known") if count.key == reports.NO_PRODUCT else _name(count)


def _charts(figures: stats.Figures) -> dict[str, Markup]:
    empty = _("No data")
    return {
        "per_day": charts.line_chart(
            [(d.day, d.count) for d in figures.per_day],
            title=_("Scans per day (China time)"),
            width=WIDE,
            height=220,
            empty=empty,
        ),
        "verdicts": charts.stacked_bar(
            [
                (str(VERDICT_LABELS.get(v.key, v.key)), v.count, charts.VERDICT_COLOURS.get(v.key, charts.MUTED))
                for v in figures.verdicts
            ],
            title=_("Scans by verdict"),
            width=WIDE,
            empty=empty,
        ),
        "per_product": charts.bar_chart(
            [(_name(c), c.count) for c in figures.per_product], title=_("Scans per product"), width=HALF, empty=empty
        ),
        "per_county": charts.bar_chart(
            [(_name(c), c.count) for c in figures.per_county], title=_("Scans per county"), width=HALF, empty=empty
        ),
        "reports_by_status": charts.bar_chart(
            [(report_count_label(c.key), c.count) for c in figures.reports_by_status],
            title=_("Reports filed in the period, by status"),
            width=HALF,
            empty=empty,
        ),
        "reports_by_product": charts.bar_chart(
            [(_report_product(c), c.count) for c in figures.reports_by_product],
            title=_("Reports filed in the period, by product"),
            width=HALF,
            empty=empty,
        ),
        "report_ages": charts.bar_chart(
            [(str(AGE_LABELS[c.key]), c.count) for c in figures.open_reports_by_age],
            title=_("Open reports by time since filing"),
            colour=charts.VERDICT_COLOURS["warning"],
            width=HALF,
            empty=empty,
        ),
    }
