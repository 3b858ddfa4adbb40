"""The back office's forms: login, second factor, case actions, staff entry, users."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField
from wtforms.validators import ValidationError

from .. import choices, identifiers
from ..auth import MIN_PASSWORD
from ..facts import facts
from ..fields import (
    ChoiceField,
    LongTextField,
    MultiCheckboxField,
    NumberTextField,
    Required,
    TextField,
)
from ..forms import AssistanceRequestForm
from ..lifecycle import ROLE_LABELS

ROLE_CHOICES = [(role.value, label) for role, label in ROLE_LABELS.items()]
# Requests staff enter for people who came in person, phoned, wrote or went through a branch
# delegate: the policy's channels 1–4 and 8.
ENTRY_CHANNELS = ("interview", "phone", "social_media", "letter", "branch_delegate")


class ActionForm(FlaskForm):
    """A button that changes something: the CSRF token only."""


class LoginForm(FlaskForm):
    username = TextField(
        _l("User name"),
        [Required(_l("Enter your user name."))],
        max_length=64,
        render_kw={"autocomplete": "username", "dir": "ltr"},
    )
    password = PasswordField(
        _l("Password"),
        [Required(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password", "dir": "ltr"},
    )


class CodeForm(FlaskForm):
    code = NumberTextField(
        _l("Code from the authenticator app"),
        [Required(_l("Enter the 6-digit code."))],
        render_kw={"autocomplete": "one-time-code"},
    )


class TotpReplaceForm(CodeForm):
    """Move two-step sign-in to another app: the password and a code from the current app."""

    password = PasswordField(
        _l("Your password"),
        [Required(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password", "dir": "ltr"},
    )
    current_code = NumberTextField(
        _l("Code from the app you use now"),
        [Required(_l("Enter the 6-digit code from the app you use now."))],
        render_kw={"autocomplete": "one-time-code"},
    )


def _password_rules(form, field):
    if len(field.data or "") < MIN_PASSWORD:
        raise ValidationError(_l("Use at least %(num)d characters.", num=MIN_PASSWORD))


class PasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        [Required(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password", "dir": "ltr"},
    )
    new = PasswordField(
        _l("New password"),
        [Required(_l("Enter a new password.")), _password_rules],
        description=_l(
            "At least %(num)d characters. A few unrelated words make a good one.", num=MIN_PASSWORD
        ),
        render_kw={"autocomplete": "new-password", "dir": "ltr"},
    )


class TransitionForm(FlaskForm):
    target = HiddenField()
    expected = HiddenField()
    confirmed = HiddenField()  # "1" once a decision was confirmed on its own page
    reason = LongTextField(
        _l("Reason"),
        max_length=2000,
        description=_l(
            "Required to reject, ask for information, close as duplicate or withdraw. "
            "When asking for information, the applicant reads this on the status page."
        ),
    )
    missing = MultiCheckboxField(
        _l("Documents the applicant should send"),
        choices=choices.DOCUMENT_KIND,
        description=_l(
            "When asking for information: the applicant can upload these from the status page."
        ),
    )


class NoteForm(FlaskForm):
    text = LongTextField(
        _l("Internal note"),
        [Required(_l("Write the note."))],
        max_length=4000,
        description=_l("Seen by staff only."),
        id="note-text",  # the case page has both: one name each form, one id each page
    )


class MessageForm(FlaskForm):
    text = LongTextField(
        _l("Message to the applicant"),
        [Required(_l("Write the message."))],
        max_length=2000,
        description=_l("Shown on the status page to whoever has the reference and mobile number."),
        id="message-text",
    )


class AssignForm(FlaskForm):
    username = SelectField(_l("Assigned to"))


class UserAddForm(FlaskForm):
    username = TextField(
        _l("User name"),
        [Required(_l("Enter a user name."))],
        max_length=64,
        render_kw={"dir": "ltr", "autocomplete": "off"},
    )
    role = ChoiceField(_l("Role"), [Required(_l("Choose a role."))], choices=ROLE_CHOICES)
    password = PasswordField(
        _l("First password"),
        [Required(_l("Enter a first password.")), _password_rules],
        render_kw={"autocomplete": "new-password", "dir": "ltr"},
    )

    def validate_username(self, field):
        if not identifiers.re.fullmatch(r"[a-z0-9._-]{3,64}", field.data or ""):
            raise ValidationError(
                _l("Use 3 to 64 lower-case Latin letters, digits, dots, dashes or underscores.")
            )


class UserUpdateForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    active = BooleanField(_l("Active"))
    reset_totp = BooleanField(_l("Remove two-step sign-in"))


def _entry_channels(lang):
    return [
        (c["code"], c["name"][lang]) for c in facts()["channels"] if c["code"] in ENTRY_CHANNELS
    ]


class StaffEntryForm(AssistanceRequestForm):
    """The same form and validation as the public one, plus the channel and an ID override."""

    channel = ChoiceField(
        _l("How the request reached the association"), [Required(_l("Choose the channel."))]
    )
    id_override_reason = TextField(
        _l("Reason to accept an ID that fails the check digit"),
        max_length=300,
        description=_l(
            "Only if the number is copied correctly from the document and still fails the check."
        ),
    )
    attested_on_paper = BooleanField(
        _l("The applicant signed the attestation that the data is correct (policy step 4)."),
        [Required(_l("Confirm that the applicant signed the attestation."))],
    )

    def set_channels(self, lang):
        self.channel.choices = _entry_channels(lang)

    def validate(self, extra_validators=None):
        """Staff may accept an ID of the right shape that fails the check digit, with a reason."""
        valid = super().validate(extra_validators)
        nid = self.national_id
        if (
            nid.errors
            and identifiers.national_id_shape(nid.data or "")
            and self.id_override_reason.data
        ):
            nid.errors = []
            self._errors = None
            valid = not self.errors
        return valid


STAFF_ENTRY_VERSION = "attestation-on-paper-2026-11-25"
