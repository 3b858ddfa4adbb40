"""Field types and validators shared by the forms, with every message written here.

Input is normalised at the edge, once: text is trimmed and every digit becomes ASCII
before any validator runs; number fields also drop spaces and dashes.
"""

import datetime as dt
import re
from typing import ClassVar

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms import Field, RadioField, SelectMultipleField, StringField, widgets
from wtforms.validators import StopValidation, ValidationError

from . import identifiers

# ---------------------------------------------------------------- fields


def first_text(valuelist) -> str:
    """The first value sent for a text field; anything else (a file sent under a text
    field's name) reads as nothing typed."""
    return valuelist[0] if valuelist and isinstance(valuelist[0], str) else ""


class TextField(StringField):
    """Free text: trimmed, digits to ASCII, control and bidi-override characters removed."""

    def __init__(self, label=None, validators=None, max_length=200, **kwargs):
        render_kw = {"dir": "auto", "maxlength": max_length, **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.max_length = max_length

    def process_formdata(self, valuelist):
        self.data = identifiers.clean_text(first_text(valuelist))

    def pre_validate(self, form):
        if len(self.data or "") > self.max_length:
            raise StopValidation(
                _l(
                    "Use %(num)d characters or fewer in “%(field)s”.",
                    num=self.max_length,
                    field=self.label.text,
                )
            )


class LongTextField(TextField):
    widget = widgets.TextArea()

    def __init__(self, label=None, validators=None, max_length=4000, **kwargs):
        super().__init__(label, validators, max_length=max_length, **kwargs)


class NumberTextField(StringField):
    """A number typed in any digit script, spaces and dashes ignored; shown left-to-right."""

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {
            "dir": "ltr",
            "inputmode": "numeric",
            "autocomplete": "off",
            "spellcheck": "false",
            **kwargs.pop("render_kw", {}),
        }
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    raw: str | None = None

    def process_formdata(self, valuelist):
        self.raw = first_text(valuelist)
        self.data = identifiers.clean_number(self.raw)

    def _value(self):
        """What the person typed when it is wrong ("a few" stays "a few"); a mobile as people
        write it (051 234 5678), not as it is stored (+966512345678)."""
        if self.errors and self.raw is not None:
            return self.raw
        if isinstance(self.data, str) and self.data.startswith("+9665"):
            return identifiers.display_mobile(self.data)
        return super()._value()


class IntegerTextField(NumberTextField):
    def __init__(self, label=None, validators=None, minimum=0, maximum=10**9, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def pre_validate(self, form):
        if self.data in ("", None):
            return
        if not re.fullmatch(r"[0-9]{1,10}", str(self.data)):
            raise StopValidation(
                _l("Enter a whole number in “%(field)s”, like 3.", field=self.label.text)
            )
        value = int(self.data)
        if not self.minimum <= value <= self.maximum:
            raise StopValidation(
                _l(
                    "Enter a number from %(min)d to %(max)d in “%(field)s”.",
                    min=self.minimum,
                    max=self.maximum,
                    field=self.label.text,
                )
            )
        self.data = value


class DateTextField(StringField):
    """A date as YYYY-MM-DD (the browser's date picker sends that), any digit script."""

    def __init__(self, label=None, validators=None, **kwargs):
        render_kw = {"type": "date", "dir": "ltr", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)

    def process_formdata(self, valuelist):
        self.data = identifiers.clean_text(first_text(valuelist))

    def _value(self):
        return self.data.isoformat() if isinstance(self.data, dt.date) else (self.data or "")

    def pre_validate(self, form):
        if not self.data:
            return
        match = re.fullmatch(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})", str(self.data))
        try:
            self.data = dt.date(*map(int, match.groups())) if match else None
        except ValueError:
            self.data = None
        if self.data is None:
            raise StopValidation(
                _l("Enter a real date in “%(field)s”, like 2015-03-27.", field=self.label.text)
            )


class ChoiceField(RadioField):
    """Radio buttons; an empty answer is left to Required, a forged one gets our own message."""

    def pre_validate(self, form):
        if self.data not in (None, "") and self.data not in {code for code, _ in self.choices}:
            raise StopValidation(
                _l("Choose from the options given for “%(field)s”.", field=self.label.text)
            )


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form):
        chosen = set(self.data or [])
        if not chosen <= {code for code, _ in self.choices}:
            raise StopValidation(
                _l("Choose from the options given for “%(field)s”.", field=self.label.text)
            )


# ---------------------------------------------------------------- validators


class Required:
    """Required, with a message that says what to do, in the page's language."""

    field_flags: ClassVar[dict] = {"required": True}

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field: Field):
        if field.data in (None, "", [], False):
            raise StopValidation(self.message)


def full_name(minimum_parts: int):
    def check(form, field):
        parts = re.findall(r"[^\s0-9]+", field.data or "")
        if len(parts) < minimum_parts:
            if minimum_parts >= 4:
                raise ValidationError(_l("Enter the full four-part name, as on the ID."))
            raise ValidationError(_l("Enter the first and last name."))

    return check


def national_id(form, field):
    if not identifiers.national_id_shape(field.data):
        raise ValidationError(
            _l("The national ID or iqama number must be 10 digits and start with 1 or 2.")
        )
    if not identifiers.luhn_valid(field.data):
        raise ValidationError(
            _l("This national ID or iqama number is not valid. Check each digit and try again.")
        )


def saudi_mobile(form, field):
    if not field.data:
        return
    normalised = identifiers.normalise_mobile(field.data)
    if normalised is None:
        raise ValidationError(_l("Enter a Saudi mobile number, like 05X XXX XXXX."))
    field.data = normalised


def email(form, field):
    if not field.data:
        return
    try:
        field.data = validate_email(field.data, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise ValidationError(_l("Enter an e-mail address like name@example.com.")) from error


def in_the_past(form, field):
    if isinstance(field.data, dt.date) and field.data >= dt.date.today():
        raise ValidationError(
            _l("Enter a date in the past in “%(field)s”.", field=field.label.text)
        )


def age_between(low: int, high: int, message):
    def check(form, field):
        if not isinstance(field.data, dt.date):
            return
        today = dt.date.today()
        age = (
            today.year
            - field.data.year
            - ((today.month, today.day) < (field.data.month, field.data.day))
        )
        if not low <= age <= high:
            raise ValidationError(message)

    return check


def reference_format(form, field):
    if not field.data:
        return
    parsed = identifiers.parse_reference(field.data)
    if parsed is None:
        raise ValidationError(_l("A reference number has 8 letters and digits, like K7M-4QX-9T."))
    field.data = parsed
