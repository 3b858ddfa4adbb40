"""One WTForms class per form; field names equal column names (DESIGN.md contract)."""

import re
import secrets

from flask import g
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, FieldList, FileField, Form, FormField, HiddenField
from wtforms.validators import Optional, ValidationError

from . import choices, registry
from .fields import (
    ChoiceField,
    DateTextField,
    IntegerTextField,
    LongTextField,
    MultiCheckboxField,
    NumberTextField,
    Required,
    TextField,
    age_between,
    email,
    first_text,
    full_name,
    in_the_past,
    national_id,
    reference_format,
    saudi_mobile,
)

MAX_ORPHANS = 15


class SafeForm(FlaskForm):
    """Form data as WTForms expects it: string keys only (a multipart part without a name is
    filed under None, which FieldList cannot take)."""

    class Meta:
        def wrap_formdata(self, form, formdata):
            data = super().wrap_formdata(form, formdata)
            if data is None:
                return None
            return MultiDict([(k, v) for k, v in data.items(multi=True) if isinstance(k, str)])


class KeyField(HiddenField):
    """The one-time form key: text only, at most 64 characters."""

    def process_formdata(self, valuelist):
        self.data = first_text(valuelist)[:64]


class PublicForm(SafeForm):
    """Every public form: a one-time key (double submit = one record) and a honeypot."""

    form_key = KeyField()
    # Hidden from people (CSS and aria-hidden); bots fill it in.
    website = TextField(
        _l("Leave this field empty"), render_kw={"autocomplete": "off", "tabindex": "-1"}
    )

    def ensure_key(self):
        if not self.form_key.data:
            self.form_key.data = secrets.token_urlsafe(24)

    @property
    def is_bot(self) -> bool:
        return bool(self.website.data)


# ------------------------------------------------------------ support request


class OrphanForm(Form):
    name = TextField(
        _l("Child's full name"), [Required(_l("Enter the child's full name.")), full_name(3)]
    )
    birth_date = DateTextField(
        _l("Date of birth"),
        [
            Required(_l("Enter the child's date of birth.")),
            in_the_past,
            age_between(0, 17, _l("Orphans supported must be under 18.")),
        ],
    )
    gender = ChoiceField(
        _l("Gender"), [Required(_l("Choose the child's gender."))], choices=choices.GENDER
    )
    school_stage = ChoiceField(
        _l("School stage"),
        [Required(_l("Choose the child's school stage."))],
        choices=choices.SCHOOL_STAGE,
    )


class DocumentsForm(Form):
    id_card = FileField(_l("Applicant's national ID or iqama"))
    death_certificate = FileField(_l("Father's death certificate"))
    family_record = FileField(_l("Family record"))
    income_proof = FileField(_l("Proof of income"))  # marked "(optional)" where it is asked
    lease = FileField(_l("Lease contract (if you rent)"))


class AssistanceRequestForm(PublicForm):
    # The applicant
    full_name = TextField(
        _l("Full name (four parts)"),
        [Required(_l("Enter your full four-part name.")), full_name(4)],
        description=_l("As written on your national ID or iqama."),
        render_kw={"autocomplete": "name"},
    )
    national_id = NumberTextField(
        _l("National ID or iqama number"),
        [Required(_l("Enter your national ID or iqama number.")), national_id],
        description=_l("10 digits, starting with 1 or 2."),
    )
    birth_date = DateTextField(
        _l("Date of birth"),
        [
            Required(_l("Enter your date of birth.")),
            in_the_past,
            age_between(15, 120, _l("Check the year of your date of birth.")),
        ],
    )
    nationality = ChoiceField(
        _l("Nationality"), [Required(_l("Choose your nationality."))], choices=choices.NATIONALITY
    )
    mobile = NumberTextField(
        _l("Mobile number"),
        [Required(_l("Enter your mobile number.")), saudi_mobile],
        description=_l(
            "A Saudi mobile, like 05X XXX XXXX. You will need it to check your request."
        ),
        render_kw={"autocomplete": "tel"},
    )
    email = TextField(
        _l("E-mail (optional)"),
        [Optional(), email],
        description=_l("We send a confirmation here if you give one."),
        render_kw={"dir": "ltr", "autocomplete": "email", "inputmode": "email"},
    )
    # The family
    city = TextField(_l("City"), [Required(_l("Enter your city."))], max_length=80)
    district = TextField(_l("District"), [Required(_l("Enter your district."))], max_length=80)
    marital_status = ChoiceField(
        _l("Your marital status"),
        [Required(_l("Choose your marital status."))],
        choices=choices.MARITAL_STATUS,
    )
    relation_to_orphans = ChoiceField(
        _l("Your relation to the orphans"),
        [Required(_l("Choose your relation to the orphans."))],
        choices=choices.RELATION_TO_ORPHANS,
    )
    family_size = IntegerTextField(
        _l("Number of people in the family"),
        [Required(_l("Enter the number of people in the family."))],
        minimum=1,
        maximum=30,
        description=_l("Everyone living with you, you included."),
    )
    orphans = FieldList(FormField(OrphanForm), min_entries=1, max_entries=MAX_ORPHANS)
    # Income and housing
    monthly_income = IntegerTextField(
        _l("Total monthly income of the family (riyals)"),
        [Required(_l("Enter the family's monthly income, or 0."))],
        minimum=0,
        maximum=1_000_000,
    )
    income_sources = MultiCheckboxField(
        _l("Sources of income"),
        [Required(_l("Choose at least one source of income, or “No income”."))],
        choices=choices.INCOME_SOURCES,
    )
    housing = ChoiceField(
        _l("Housing"), [Required(_l("Choose your housing."))], choices=choices.HOUSING
    )
    # The support wanted
    support_type = MultiCheckboxField(
        _l("What support do you need?"),
        [Required(_l("Choose at least one kind of support."))],
        choices=choices.SUPPORT_TYPE,
    )
    description = LongTextField(
        _l("Describe your situation"),
        [Required(_l("Describe your situation and what you need."))],
        max_length=4000,
        description=_l("What has happened, and what would help the family most."),
    )
    documents = FormField(DocumentsForm)

    def validate_family_size(self, field):
        if isinstance(field.data, int) and field.data <= len(self.orphans.entries) - 1:
            raise ValidationError(_l("The family must count more people than the orphans listed."))


def asked_field(field: registry.Field):
    """The form field for a registry entry that says how it is asked (`Field.ask`)."""
    ask = field.ask
    checks = [Required(ask.required)] if ask.required else [Optional()]
    kwargs = {"description": ask.hint} if ask.hint else {}
    if field.type == registry.Type.CODE:
        return ChoiceField(ask.question, checks, choices=field.codes, **kwargs)
    if field.type == registry.Type.CODES:
        return MultiCheckboxField(ask.question, checks, choices=field.codes, **kwargs)
    if field.type == registry.Type.DATE:
        return DateTextField(ask.question, checks, **kwargs)
    if field.type == registry.Type.NUMBER:
        return IntegerTextField(
            ask.question, checks, minimum=ask.minimum, maximum=ask.maximum, **kwargs
        )
    if field.type == registry.Type.TEXT:
        return (LongTextField if ask.long else TextField)(ask.question, checks, **kwargs)
    raise ValueError(f"{field.key}: a {field.type} field is written in forms.py")


def add_questions(form_class, fields) -> None:
    """Give the form every registry question it does not define itself."""
    for field in fields:
        if field.ask is not None and field.section != registry.Section.STAFF:
            setattr(form_class, field.key, asked_field(field))


def missing_document_message(kind: str):
    return _l("Choose the file: %(document)s.", document=choices.label(choices.DOCUMENT_KIND, kind))


class AttestationForm(SafeForm):
    """Check-your-answers: the policy's step 4 attestation and the privacy consent."""

    attestation = BooleanField(
        _l(
            "I confirm that the information I have given is correct and complete, "
            "and that I am directly responsible for its accuracy."
        ),
        [Required(_l("Confirm that the information is correct to send the request."))],
    )
    consent = BooleanField(
        _l(
            "I have read the privacy notice and agree that the association uses my "
            "family's data to study this request."
        ),
        [Required(_l("Agree to the privacy notice to send the request."))],
    )


add_questions(AssistanceRequestForm, registry.ASSISTANCE)


# ------------------------------------------------------------ volunteer


class AvailabilityForm(Form):
    days = MultiCheckboxField(
        _l("Days"), [Required(_l("Choose at least one day."))], choices=choices.DAYS
    )
    times = MultiCheckboxField(
        _l("Times"), [Required(_l("Choose at least one time of day."))], choices=choices.TIMES
    )


class VolunteerForm(PublicForm):
    full_name = TextField(
        _l("Full name"),
        [Required(_l("Enter your full name.")), full_name(2)],
        render_kw={"autocomplete": "name"},
    )
    gender = ChoiceField(
        _l("Gender"), [Required(_l("Choose your gender."))], choices=choices.GENDER
    )
    birth_date = DateTextField(
        _l("Date of birth"),
        [
            Required(_l("Enter your date of birth.")),
            in_the_past,
            age_between(10, 100, _l("Check the year of your date of birth.")),
        ],
    )
    mobile = NumberTextField(
        _l("Mobile number"),
        [Required(_l("Enter your mobile number.")), saudi_mobile],
        description=_l("A Saudi mobile, like 05X XXX XXXX."),
        render_kw={"autocomplete": "tel"},
    )
    email = TextField(
        _l("E-mail"),
        [Required(_l("Enter your e-mail address.")), email],
        render_kw={"dir": "ltr", "autocomplete": "email", "inputmode": "email"},
    )
    city = TextField(_l("City"), [Required(_l("Enter your city."))], max_length=80)
    education = ChoiceField(
        _l("Education"),
        [Required(_l("Choose your level of education."))],
        choices=choices.EDUCATION,
    )
    skills = MultiCheckboxField(
        _l("Skills"), [Required(_l("Choose at least one skill."))], choices=choices.SKILLS
    )
    interests = LongTextField(
        _l("What would you like to help with? (optional)"), [Optional()], max_length=1000
    )
    availability = FormField(AvailabilityForm, label=_l("When can you volunteer?"))
    hours_per_week = IntegerTextField(
        _l("Hours a week"),
        [Required(_l("Enter how many hours a week you can give."))],
        minimum=1,
        maximum=60,
    )
    experience = LongTextField(
        _l("Volunteering experience (optional)"), [Optional()], max_length=2000
    )
    national_volunteer_id = NumberTextField(
        _l("National volunteering platform number (optional)"),
        [Optional()],
        description=_l("If you are registered on the national volunteering platform."),
    )
    consent = BooleanField(
        _l("I agree that the association keeps these details to contact me about volunteering."),
        [Required(_l("Agree to the privacy notice to sign up."))],
    )

    def validate_national_volunteer_id(self, field):
        if field.data and not re.fullmatch(r"[0-9]{1,20}", field.data):
            raise ValidationError(_l("Use up to 20 digits only."))


# ------------------------------------------------------------ satisfaction survey


def _rating(label):
    return ChoiceField(
        label,
        [Required(_l("Choose a rating from 1 to 5 for “%(question)s”.", question=label))],
        choices=choices.RATING,
    )


class FeedbackForm(PublicForm):
    """The survey. A reference is checked for its form only, never looked up: the answer must
    not tell whether a reference exists (staff see whether it matches a request)."""

    reference = NumberTextField(
        _l("Request reference number (optional)"),
        [Optional(), reference_format],
        description=_l("Leave it empty to rate without linking a request."),
        render_kw={"inputmode": "text", "autocapitalize": "characters"},
    )
    channel = ChoiceField(
        _l("How did you deal with the association?"),
        [Required(_l("Choose how you dealt with the association."))],
    )
    rating_courtesy = _rating(_l("Courtesy and respect"))
    rating_clarity = _rating(_l("Clarity of information"))
    rating_speed = _rating(_l("Speed of service"))
    rating_overall = _rating(_l("Overall satisfaction"))
    comments = LongTextField(
        _l("Comments or suggestions (optional)"), [Optional()], max_length=2000
    )
    may_contact = BooleanField(_l("The association may contact me about my rating"))
    mobile = NumberTextField(
        _l("Mobile number (only if you want to be contacted)"),
        [Optional(), saudi_mobile],
        render_kw={"autocomplete": "tel"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The channels are named in the facts file, in each language (not lazy strings).
        self.channel.choices = choices.channels(g.get("lang", "ar"))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.may_contact.data and not self.mobile.data and not self.mobile.errors:
            self.mobile.errors = [_l("Enter a mobile number so that we can contact you.")]
            return False
        return valid


# ------------------------------------------------------------ status


class StatusForm(SafeForm):
    reference = NumberTextField(
        _l("Reference number"),
        [Required(_l("Enter the reference number.")), reference_format],
        description=_l("On your confirmation page, like K7M-4QX-9T."),
        render_kw={"inputmode": "text", "autocapitalize": "characters"},
    )
    mobile = NumberTextField(
        _l("Mobile number"),
        [Required(_l("Enter the mobile number you gave in the request.")), saudi_mobile],
        render_kw={"autocomplete": "tel"},
    )


# ------------------------------------------------------------ answering online


def one_time_code(form, field):
    if field.data and not re.fullmatch(r"[0-9]{6}", field.data):
        raise ValidationError(_l("The code has 6 digits, like 123456."))


class AnswerCodeForm(SafeForm):
    code = NumberTextField(
        _l("Code from the SMS"),
        [Required(_l("Enter the 6-digit code from the SMS.")), one_time_code],
        description=_l("We sent it to the mobile number of the request. It works for 10 minutes."),
        render_kw={"autocomplete": "one-time-code"},
    )


class AnswerForm(SafeForm):
    """The answer to "more information needed": the documents asked for and a reply."""

    documents = FormField(DocumentsForm)
    reply = LongTextField(
        _l("Your reply"),
        max_length=2000,
        description=_l("Anything the association should know, for example why a document is late."),
    )
