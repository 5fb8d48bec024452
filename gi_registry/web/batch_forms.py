"""What the cooperative's batch forms show and take: origins, a batch's details, and a correction that
meets another made after its form was opened."""

import json
from decimal import Decimal

from flask_babel import gettext as _

from ..db import get_session
from ..domain import batches, registry
from ..i18n import field_label, local_name, quantity, unit_label
from ..models import Area, Batch, Product
from .forms import BatchCorrectionForm, BatchDetailsForm


def area_label(area: Area) -> str:
    label = f"{local_name(area)} ({area.code})"
    return label if area.level != "township" else f"　{label}"


TEXTS = ("grade", "notes", "inspection_cert")


def details(form: BatchDetailsForm) -> dict:
    """The batch details the form shows, as the registry takes them (a browser ends a textarea's lines in
    CRLF; the API's clients do not)."""
    given = {name: form[name].data for name in batches.DETAILS if name in form}
    given["quantity"] = float(given["quantity"])
    return given | {name: (given[name] or "").replace("\r\n", "\n").strip() for name in TEXTS}


def name_date_problem(form: BatchDetailsForm) -> None:
    """A form refused on its own fields never reaches the registry's checks; the harvest date's, which
    needs no other field, is named beside them, so one submission names every problem it can."""
    day = form.harvested_on.data if "harvested_on" in form else None
    if day and not form.harvested_on.errors:
        if why := batches.harvest_date_problem(day, today=registry.registry_today()):
            form.harvested_on.errors = [*form.harvested_on.errors, _(why)]


# ---- correcting a batch ------------------------------------------------------------------


def correction_form(batch: Batch, product: Product) -> BatchCorrectionForm:
    """The batch's details to correct; once labels are issued, without those that are then fixed."""
    form = BatchCorrectionForm(obj=batch)
    if not form.is_submitted():
        _fill(form, "quantity", batch)
        form.seen.data = as_shown(batch)
    areas = registry.origin_choices(session=get_session(), product=product)
    # An area narrowed since keeps the batch's own origin choosable, so other corrections still go through.
    if batch.origin_code not in {area.code for area in areas}:
        areas = [get_session().get(Area, batch.origin_code), *areas]
    form.origin_code.choices = [(area.code, area_label(area)) for area in areas]
    if batch.labels_issued:
        for name in batches.FIXED_ONCE_LABELLED:
            delattr(form, name)
    return form


def as_shown(batch: Batch) -> str:
    """The details the form shows, carried in it: a save can then tell what changed since."""
    return json.dumps(_details_of(batch), ensure_ascii=False, sort_keys=True)


def _details_of(batch: Batch) -> dict:
    return _jsonable(batches.BatchDetails.of(batch).__dict__)


def _jsonable(values: dict) -> dict:
    return {name: value.isoformat() if hasattr(value, "isoformat") else value for name, value in values.items()}


# Read together: 1,200 is a correction of the quantity only in the unit its user had in mind.
TOGETHER = {"quantity": ("quantity", "unit"), "unit": ("quantity", "unit")}


def meanwhile(form: BatchCorrectionForm, batch: Batch) -> list[dict] | None:
    """None where the batch still says what the form showed. Otherwise each detail changed since, the form
    taking the new value where its user left the detail alone, and keeping the user's where both changed it;
    the form then shows the batch as it is now, and a second save is a deliberate one."""
    shown = _shown(form.seen.data)
    now = _details_of(batch)
    if shown == now:
        return None
    readable = shown is not None  # else a form from before this check, or edited: all it sent is the user's
    sent = _jsonable(details(form))
    changes = []
    for name in batches.DETAILS:
        if (name in form and sent[name] == now[name]) or (readable and shown[name] == now[name]):
            continue  # the form says what the batch says now, or the change is the user's own, for saving
        if not readable and name not in form:
            continue
        change = {"field": field_label(name, "batch"), "now": _text(name, now[name], now["unit"])}
        if readable:
            change["was"] = _text(name, shown[name], shown["unit"])
        if name not in form:  # fixed since, as labels were issued meanwhile
            change["fixed"] = True
        elif readable and not _touched(name, form, sent, shown):  # left alone here: take the other change
            for part in TOGETHER.get(name, (name,)):
                if part in form:
                    _fill(form, part, batch)
        else:
            change["yours"] = _text(name, sent[name], sent.get("unit", now["unit"]))
        changes.append(change)
    form.seen.data = as_shown(batch)
    return changes


def _touched(name: str, form, sent: dict, shown: dict) -> bool:
    return any(sent[part] != shown[part] for part in TOGETHER.get(name, (name,)) if part in form)


def _shown(seen: str | None) -> dict | None:
    """The details the form showed, or None where what it carries is not such a record."""
    try:
        shown = json.loads(seen or "")
    except ValueError:
        return None
    if not isinstance(shown, dict) or set(shown) != set(batches.DETAILS):
        return None
    number = isinstance(shown["quantity"], int | float) and not isinstance(shown["quantity"], bool)
    texts = all(isinstance(shown[name], str) for name in batches.DETAILS if name != "quantity")
    return shown if number and texts else None


def _fill(form: BatchCorrectionForm, name: str, batch: Batch) -> None:
    """Put the batch's detail in the form: a quantity as 100, not 100.0, and never rounded."""
    value = getattr(batch, name)
    form[name].data = Decimal(repr(value).removesuffix(".0")) if name == "quantity" else value
    form[name].raw_data = None  # so the field shows the value, not what was sent


def _text(name: str, value, unit: str) -> str:
    """A detail as people read it; a quantity with its version's unit."""
    if value in ("", None):
        return "—"
    if name == "quantity":
        return f"{quantity(value)} {unit_label(unit)}"
    if name == "unit":
        return unit_label(value)
    if name == "origin_code":
        area = get_session().get(Area, value)
        return f"{local_name(area)} ({value})" if area else value
    return str(value)
