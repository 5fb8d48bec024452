"""Data in and out for the registry office: staff exports (CSV, XLSX) and the admins' bulk licensee import."""

import hashlib
import tempfile

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, SubmitField

from .. import staging
from ..access import page_user, roles_required
from ..db import get_session
from ..domain import N_, audit, exports, imports, licensee_files, registry
from ..i18n import local_name, page_params
from ..models import STAFF
from .paging import day_range_args

bp = Blueprint("transfer", __name__, url_prefix="/transfer")

PREVIEW_ROWS = 100
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(FlaskForm):
    # Not required: Import without a file takes the file a clean dry run checked and kept.
    file = FileField(_l("CSV or Excel (.xlsx) file"))
    # The SHA-256 of the file a clean dry run checked, so the import takes that file and no other.
    checked = HiddenField()
    dry_run = SubmitField(_l("Check the file"))
    run_import = SubmitField(_l("Import"))


@bp.get("/")
@roles_required(*STAFF)
def index():
    return render_template("transfer/index.html", today=registry.registry_today())


# ---- exports -----------------------------------------------------------------------------


PERIODS = ("reports", "scans")  # the exports that take a period (?from=&to=)


def _begin_export(table: str, suffix: str) -> tuple:
    """Read the period's from/to of the reports and scans exports (refused if malformed) and log the export,
    before a response starts streaming; the log matters: exports carry licensees' contact persons and the
    scan history."""
    period = day_range_args(strict=True)
    if request.method == "HEAD":  # a download manager's look before it downloads: nothing is handed over
        return period
    session = get_session()
    audit.record(
        session=session,
        actor=page_user(),
        action="export." + table,
        entity_type="export",
        entity_id=table,
        after={"format": suffix, "from": period[0], "to": period[1]} if table in PERIODS else {"format": suffix},
    )
    session.commit()
    return period


def _export(table: str, period: tuple) -> exports.Export:
    session = get_session()
    if table == "reports":
        return exports.reports(session=session, start=period[0], end=period[1])
    if table == "scans":
        return exports.scans(session=session, start=period[0], end=period[1])
    return exports.licensees(session=session)


def _headers(table: str, suffix: str, period: tuple) -> dict:
    """The file named after the days it holds (up to today without an end), so that two months' exports taken
    the same day are two files: one saved over the other, and Excel opens no two workbooks of one name."""
    first, last = period if table in PERIODS else (None, None)  # the licensees are the register as it is today
    days = ([first] if first else []) + [last or registry.registry_today()]
    name = "-".join([table, *(f"{day:%Y%m%d}" for day in days)]) + f".{suffix}"
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}


@bp.get("/<any(reports, scans, licensees):table>.csv")
@roles_required(*STAFF)
def export_csv(table: str):
    period = _begin_export(table, "csv")

    def chunks():
        # The query runs while the response streams: the session must be that context's, which closes after it.
        yield from exports.csv_chunks(_export(table, period))

    return Response(stream_with_context(chunks()), mimetype="text/csv", headers=_headers(table, "csv", period))


@bp.get("/<any(reports, scans, licensees):table>.xlsx")
@roles_required(*STAFF)
def export_xlsx(table: str):
    period = _begin_export(table, "xlsx")
    if request.method == "HEAD":  # written whole before its first byte: not for a look at its headers
        return Response(mimetype=XLSX_MIMETYPE, headers=_headers(table, "xlsx", period))
    workbook = tempfile.TemporaryFile()  # on disk, not in memory: a scan export may be large
    exports.write_xlsx(_export(table, period), workbook)
    workbook.seek(0)
    response = send_file(workbook, mimetype=XLSX_MIMETYPE, max_age=0)
    response.headers.update(_headers(table, "xlsx", period))
    return response


# ---- the licensee import -----------------------------------------------------------------


def _staging() -> dict:
    return {"directory": current_app.config["IMPORT_STAGING_DIR"], "owner": page_user().id}


def _lifetime() -> float:
    return staging.lifetime(current_app.config)


def _upload(form: ImportForm) -> tuple[str, bytes]:
    """The chosen file's name and content; without one, the file a clean dry run checked and kept."""
    if form.file.data:
        upload = form.file.data
        return upload.filename or "", upload.stream.read(licensee_files.MAX_BYTES + 1)
    if form.checked.data:
        kept = staging.take(**_staging(), digest=form.checked.data, max_age_seconds=_lifetime())
        if kept is None:
            raise licensee_files.ImportRefused(
                "checked_file_gone", N_("The checked file is no longer kept; choose it again.")
            )
        return kept
    raise licensee_files.ImportRefused("no_file", N_("Choose a file."))


def _write(form: ImportForm, rows: list[licensee_files.Row], digest: str, name: str) -> None:
    if form.checked.data and form.checked.data != digest:
        raise licensee_files.ImportRefused(
            "not_the_checked_file", N_("This is not the file that was checked; check it again.")
        )
    session = get_session()
    try:
        count = imports.import_rows(session=session, rows=rows, actor=page_user(), source=name)
        session.commit()
    except Exception:
        session.rollback()
        raise
    flash(_("Licensees imported: %(count)s.", count=count), "success")


def _dry_run(form: ImportForm, name: str, content: bytes, rows: list[licensee_files.Row]) -> list[imports.RowProblem]:
    """Every row's problems; a clean file is kept so that Import takes it without the file chosen again."""
    problems = imports.check_rows(session=get_session(), rows=rows)
    kept = "" if problems else staging.keep(**_staging(), name=name, content=content)
    form.checked.data = kept
    return problems


@bp.route("/licensees/import", methods=["GET", "POST"])
@roles_required("admin")
def import_licensees():
    """A dry run lists every row's problems; Import writes every row in one transaction, or nothing."""
    form, table, problems, name = ImportForm(), licensee_files.Table(rows=[]), [], ""
    if form.validate_on_submit():
        staging.prune(current_app.config["IMPORT_STAGING_DIR"], _lifetime())
        kept = form.checked.data
        try:
            name, content = _upload(form)
            table, digest = (
                licensee_files.read_table(filename=name, content=content),
                hashlib.sha256(content).hexdigest(),
            )
            if form.run_import.data:
                _write(form, table.rows, digest, name)
                staging.discard(**_staging(), digest=kept)
                return redirect(url_for("admin.licensees"), 303)
            problems = _dry_run(form, name, content, table.rows)
        except licensee_files.ImportRefused as refusal:
            form.file.errors = list(form.file.errors) + [_(refusal.message, **page_params(refusal.params))]
            problems, form.checked.data = refusal.problems, ""
        if kept and kept != form.checked.data:  # refused or replaced: its names and phones are not kept
            staging.discard(**_staging(), digest=kept)
    by_line = {}
    for problem in problems:
        by_line.setdefault(problem.line, []).append(problem)
    # Every row with a problem; a clean file shows only its first rows, as a sample of what it holds.
    rows = table.rows
    shown = [row for row in rows if row.line in by_line] or rows[:PREVIEW_ROWS]
    status = 422 if form.errors or problems else 200
    session = get_session()
    page = render_template(
        "transfer/import.html",
        form=form,
        name=name,
        rows=rows,
        header_line=table.header_line,
        notes=table.notes,
        remarks=table.remarks,
        shown=shown,
        by_line=by_line,
        read=imports.readings(session=session, rows=shown),
        counties={county.code: local_name(county) for county in registry.counties(session=session)},
    )
    return page, status
