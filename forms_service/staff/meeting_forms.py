"""The forms of the research committee's meetings: the meeting, its agenda, a decision, a
correction to the minutes. Every one carries its CSRF token (Flask-WTF)."""

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import ValidationError

from .. import clock, meetings
from ..fields import DateTextField, LongTextField, MultiCheckboxField, Required

# How far from today a meeting's date may be: a meeting recorded late, or planned ahead.
DATE_REACH = dt.timedelta(days=366)


class MeetingForm(FlaskForm):
    """Open a meeting, or change its date and members present while it is open."""

    held_on = DateTextField(
        _l("Date of the meeting"), [Required(_l("Enter the date of the meeting."))]
    )
    members = MultiCheckboxField(
        _l("Committee members present"),
        description=_l("Members who have an account in the back office."),
    )
    names = LongTextField(
        _l("Members present without an account"),
        max_length=2000,
        description=_l("One name a line."),
    )

    def set_members(self, usernames: list[str]) -> "MeetingForm":
        self.members.choices = [(u, u) for u in usernames]
        return self

    def name_list(self) -> list[str]:
        return meetings.clean_names((self.names.data or "").splitlines())

    def validate_held_on(self, field):
        today = clock.local_today()
        if isinstance(field.data, dt.date) and abs(field.data - today) > DATE_REACH:
            raise ValidationError(_l("Enter a date within a year of today."))

    def validate(self, extra_validators=None):
        """At least one member present: an account ticked or a name written (the message
        goes to the accounts, or to the names when there is no committee account)."""
        valid = super().validate(extra_validators)
        if not self.members.data and not self.name_list():
            target = self.members if self.members.choices else self.names
            target.errors = [
                *target.errors,
                _l("Choose the members present, or write the names of those without an account."),
            ]
            self._errors = None  # recomputed with this message
            return False
        return valid


class AgendaForm(FlaskForm):
    """Cases with the committee to put on the agenda."""

    cases = MultiCheckboxField(
        _l("Cases with the research committee"),
        [Required(_l("Choose at least one case to add."))],
        description=_l("The longest waiting first. They go to the end of the agenda."),
    )


class DecisionForm(FlaskForm):
    """A decision on one case of the agenda: one per case on the page (prefix "case-ID")."""

    decision = HiddenField()  # the button pressed: accepted, rejected or deferred
    confirmed = HiddenField()  # "1" once an acceptance or a rejection was confirmed
    reason = LongTextField(
        _l("Reason"),
        max_length=2000,
        description=_l("Required to reject; kept with an acceptance too."),
    )


class CorrectionForm(FlaskForm):
    text = LongTextField(
        _l("Correction"),
        [Required(_l("Write the correction."))],
        max_length=meetings.CORRECTION_LENGTH,
        description=_l(
            "Recorded with your name and the time, and shown under the minutes. "
            "The minutes themselves do not change."
        ),
    )
