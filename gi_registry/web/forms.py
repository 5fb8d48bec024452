"""Flask-WTF forms for the admin and auth pages; the domain does the rule checks."""

import re
import secrets
import unicodedata
from decimal import Decimal

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..domain import DomainError, registry, reports
from ..domain.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ..domain.uscc import normalise
from ..i18n import KIND_LABELS, ROLE_LABELS, page_params, refusal_text, status_label


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes: unlike a multiple select, one plain click cannot drop all the others.

    `at_least_one` instead of DataRequired, whose flag would mark every single box `required`."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, validators=None, *, at_least_one=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.at_least_one = at_least_one

    def pre_validate(self, form) -> None:
        try:
            super().pre_validate(form)
        except ValidationError:  # WTForms' own Chinese for this message is unfinished (fuzzy): say it here
            raise ValidationError(_l("Choose only among the options shown.")) from None
        if self.at_least_one and not self.data:
            raise ValidationError(self.at_least_one)


class TextArea(TextAreaField):
    """A text box whose line breaks count one character each, as the browser's maxlength counted them
    while the user typed: sent, each is CRLF, and a text that fitted the box was refused as too long."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data:
            self.data = self.data.replace("\r\n", "\n")


class FiniteDecimalField(DecimalField):
    """A decimal that is a number: "NaN", "Infinity" and "sNaN" parse as decimals but are no quantity,
    and a signalling NaN even breaks the range check. Only what was sent is checked: a form sent without
    the field keeps the object's value, a float."""

    def process_formdata(self, valuelist):
        texts = [_as_decimal_text(value) for value in valuelist]
        if any("_" in text for text in texts):  # Python reads "1_000"; people never write it so
            raise ValueError(self.gettext("Not a valid decimal value."))
        super().process_formdata(texts)
        if valuelist and self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


# 1,000 and 12,500.5 as people write amounts; not 1,5, which is ambiguous.
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def _as_decimal_text(value: str) -> str:
    """A decimal as a person typed it, thousands separators dropped (full-width ones too, as a Chinese
    keyboard types them)."""
    value = unicodedata.normalize("NFKC", value).strip()
    return value.replace(",", "") if _GROUPED.fullmatch(value) else value


def parsed(_form, field) -> None:
    """Stop at a value that did not parse: it has its own complaint ("not a valid decimal"), and a range
    check after it would only add a second one about a number nobody typed."""
    if field.process_errors:
        raise StopValidation()


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


class ProductForm(FlaskForm):
    code = StringField(
        _l("Code (slug)"),
        validators=[
            DataRequired(),
            Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", message=_l("lower-case letters, digits and hyphens")),
            Length(max=64),
        ],
    )
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=64)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=128)])
    kind = SelectField(_l("Kind"), choices=list(KIND_LABELS.items()))
    status = SelectField(_l("Status"), choices=[("active", _l("active")), ("withdrawn", _l("withdrawn"))])
    registration_no = StringField(_l("Registration number"), validators=[Optional(), Length(max=64)])
    registered_on = DateField(_l("Registered on"), validators=[Optional()])
    standard = StringField(_l("Standard"), validators=[Optional(), Length(max=128)])
    shelf_life_days = IntegerField(_l("Shelf life (days)"), validators=[Optional(), NumberRange(min=1, max=3650)])
    kg_per_label = FiniteDecimalField(
        _l("Kilograms per unit label"),
        default=0.5,
        places=3,
        # Decimal bounds, as the batch quantity's: the float 0.001 is a hair above 0.001 and refused it.
        validators=[InputRequired(), NumberRange(min=Decimal("0.001"), max=Decimal(100000))],
    )
    batch_prefix = StringField(
        _l("Batch number prefix"),
        default="GI",
        validators=[DataRequired(), Regexp(registry.BATCH_PREFIX, message=_l("1 to 6 capital letters"))],
    )
    area_codes = CheckboxesField(_l("Protected production area"), at_least_one=_l("Choose at least one area."))
    description = TextArea(_l("Description"), validators=[Optional(), Length(max=2000)])
    seen = HiddenField()  # the product as the form showed it (registry.version_of): a colleague's save since is kept


def uscc_field(label, validators) -> StringField:
    """A USCC as typed or pasted. Certificates print it in groups ("9351 2021 MA6A Y0L0 18"): the browser takes
    it whole, the filter drops the spaces and lifts lower case, and the domain judges the 18 characters left
    (uscc.uscc_problem) in its own words, not WTForms' generic ones."""
    return StringField(
        label,
        filters=[lambda value: normalise(value) if value else value],
        validators=validators,
        render_kw={"maxlength": 30},  # 18 characters and their spaces, with room for a doubled one
    )


class LicenseeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    uscc = uscc_field(_l("Unified social credit code"), [DataRequired()])
    county_code = SelectField(_l("County"))
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), Length(max=64)])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=32)])
    gtin = StringField(_l("GTIN (optional)"), validators=[Optional(), Length(max=14)])
    seen = HiddenField()  # the licensee as the form showed it (registry.version_of)


class LicenceForm(FlaskForm):
    product_code = SelectField(_l("Product"))
    valid_from = DateField(_l("Valid from"), validators=[DataRequired()])
    valid_to = DateField(_l("Valid to"), validators=[DataRequired()])
    reason = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class LicenceActionForm(FlaskForm):
    reason = TextArea(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
    seen = HiddenField()  # the licence as the page showed it (registry.version_of): a colleague's since is kept


def say_licence_changed(form: LicenceActionForm, licence, *, offered: bool) -> None:
    """A licence action refused as the licence changed after its page was drawn: say how it stands now, keep
    the reason (in its box where the action is still offered, else in the message), and take the licence as
    it is now, so an action sent again is a deliberate one."""
    now = status_label(registry.licence_status(licence))
    flash(
        _(
            "The licence was changed meanwhile (now: %(status)s); nothing was done. Its history says what changed.",
            status=now,
        ),
        "error",
    )
    if not offered:
        flash(_("Your reason, not saved: %(reason)s", reason=form.reason.data), "error")
    form.seen.data = registry.version_of(licence)


class BatchDetailsForm(FlaskForm):
    """What a cooperative says of a batch, registering it or correcting it."""

    quantity = FiniteDecimalField(
        _l("Quantity"),
        places=None,  # shown as registered ("120.5"), not padded to three places
        validators=[
            InputRequired(),
            parsed,
            # Decimal bounds: the float 0.001 is a hair above 0.001, and refused the very minimum it names.
            NumberRange(
                min=Decimal("0.001"), max=Decimal(10**9), message=_l("at least 0.001 and at most 1,000,000,000")
            ),
        ],
    )
    unit = SelectField(_l("Unit"), choices=[("kg", _l("kg")), ("t", _l("tonnes")), ("jin", _l("jin (0.5 kg)"))])
    harvested_on = DateField(_l("Harvest or production date"), validators=[InputRequired()])
    origin_code = SelectField(_l("Origin (inside the protected area)"))
    grade = StringField(_l("Grade"), validators=[Optional(), Length(max=32)])
    inspection_cert = StringField(_l("Inspection certificate number"), validators=[Optional(), Length(max=64)])
    notes = TextArea(_l("Notes"), validators=[Optional(), Length(max=1000)])


class BatchForm(BatchDetailsForm):
    product_code = SelectField(_l("Product"))
    # A one-time token per form drawn (web/coop.py batch_new): sent twice, it makes one batch.
    once = HiddenField(default=lambda: secrets.token_urlsafe(16))


class BatchCorrectionForm(BatchDetailsForm):
    seen = HiddenField()  # the details the form showed (web/batch_forms.py as_shown)
    reason = TextArea(
        _l("Reason for the correction"),
        validators=[DataRequired(_l("Say why the batch is corrected: the audit log keeps it.")), Length(max=1000)],
    )


class LabelIssueForm(FlaskForm):
    # The quota left is the registry's to check (and to say); the form only keeps one issue to a sane size.
    count = IntegerField(
        _l("Number of unit labels"),
        validators=[
            InputRequired(),
            parsed,
            NumberRange(min=1, max=1_000_000, message=_l("from 1 to 1,000,000 at a time, within the labels left")),
        ],
    )
    seen = HiddenField()  # the labels issued as the page showed them (batches.issue_labels' `seen`)


class CopyWarningForm(FlaskForm):
    reason = TextArea(_l("Why the warning is unfounded"), validators=[DataRequired(), Length(max=1000)])


class RecallForm(FlaskForm):
    reason = TextArea(_l("Reason for the recall"), validators=[DataRequired(), Length(max=1000)])


# The domain's field names that a form calls otherwise: the password page asks for the `new` password
# beside the `current` one, which the domain's `password` would not tell apart.
_FIELD_ALIASES = {"county": "county_code", "licensee": "licensee_uscc", "password": "new"}


def refused(form: FlaskForm, error: DomainError) -> None:
    """Show a domain refusal on the form: per-field reasons where a field matches, else a banner."""
    params = page_params(error.params)
    for name, why in error.fields.items():
        field = _field_for(form, name)
        if field is not None:
            field.errors = list(field.errors) + [_(why, **params)]
    flash(refusal_text(error), "error")


def changed_meanwhile(form: FlaskForm, *, now: dict, sent: dict, version: str) -> list[dict]:
    """A record saved by someone else after its form was drawn: each field where it now differs from what the
    form sent, with both values, for the page to show above the form, which keeps what its user typed. The
    form then takes the record as it is now, so a second save is a deliberate one."""
    changes = [
        {
            "field": form[name].label.text,
            "now": _as_shown(form[name], value),
            "yours": _as_shown(form[name], sent[name]),
        }
        for name, value in now.items()
        if name in form and _comparable(value) != _comparable(sent[name])
    ]
    form.seen.data = version
    return changes


def _comparable(value):
    if isinstance(value, list | tuple):  # the areas: their order is the form's, not a change
        return sorted(value)
    return value if value not in ("", None) else None


def _as_shown(field, value) -> str:
    """A value as the field offers it: a choice by its label, a list of them joined."""
    labels = dict(field.choices) if getattr(field, "choices", None) else {}
    values = value if isinstance(value, list | tuple) else [value]
    shown = [str(labels.get(item, item)) for item in values if item not in ("", None)]
    return ", ".join(shown) or "—"


def _field_for(form: FlaskForm, name: str):
    """The form's field for a domain field name: its own name first (a form with a `password` field
    keeps it), then the name the form gives it."""
    for candidate in (name, _FIELD_ALIASES.get(name)):
        if candidate in form:
            return form[candidate]
    return None


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
    )
    repeat = PasswordField(
        _l("New password again"), validators=[DataRequired(), EqualTo("new", message=_l("the two do not match"))]
    )


class AccountForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=list(ROLE_LABELS.items()))
    licensee_uscc = uscc_field(_l("Licensee's unified social credit code (cooperative accounts)"), [Optional()])


class AccountActionForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class ReportForm(FlaskForm):
    code = StringField(
        _l("The label's batch number and No., or the scanned link (if any)"), validators=[Optional(), Length(max=300)]
    )
    description = TextArea(
        _l("What looks wrong?"),
        validators=[
            DataRequired(),
            Length(
                min=reports.DESCRIPTION_MIN,
                max=reports.DESCRIPTION_MAX,
                message=_l("Please write at least %(min)d and at most %(max)d characters."),
            ),
        ],
    )
    place = StringField(_l("Where did you buy or see it?"), validators=[Optional(), Length(max=200)])
    contact = StringField(
        _l("Phone or e-mail (optional, only for the investigator)"), validators=[Optional(), Length(max=200)]
    )
    photos = MultipleFileField(_l("Photos (up to 3)"))


class ReportStepForm(FlaskForm):
    status = SelectField(_l("New status"))
    seen_status = HiddenField()  # the case's status when the page was drawn: a step refused tells a race apart
    note = TextArea(_l("Note"), validators=[DataRequired(), Length(max=reports.NOTE_MAX)])


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Assigned to"), coerce=int)
    seen = HiddenField()  # the assignee's id (0: nobody) when the page was drawn: a colleague's since is kept


class CaseProductForm(FlaskForm):
    product = SelectField(_l("Product"), coerce=int)
