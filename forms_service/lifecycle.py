"""The lifecycle as data: kinds, states, roles, the one table of legal moves, and the words
for each state. Pure: no database, no request. `queue` applies it to stored cases."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Kind(StrEnum):
    ASSISTANCE = "assistance"
    VOLUNTEER = "volunteer"
    FEEDBACK = "feedback"


class State(StrEnum):
    RECEIVED = "received"
    VERIFYING = "verifying"
    NEEDS_INFO = "needs_info"
    SOCIAL_RESEARCH = "social_research"
    COMMITTEE = "committee"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REGISTERED = "registered"
    SERVED = "served"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"
    CONTACTED = "contacted"
    DECLINED = "declined"
    ACTIVE = "active"
    REVIEWED = "reviewed"


INITIAL_STATE = {kind: State.RECEIVED for kind in Kind}


class Role(StrEnum):
    OFFICER = "officer"
    RESEARCHER = "researcher"
    COMMITTEE = "committee"
    ADMIN = "admin"
    # Not a staff account: the person who made the request, answering "more information
    # needed" from the status page.
    APPLICANT = "applicant"


ROLE_LABELS = {
    Role.OFFICER: _l("Beneficiary relations officer"),
    Role.RESEARCHER: _l("Social researcher"),
    Role.COMMITTEE: _l("Research committee"),
    Role.ADMIN: _l("Administrator"),
}
STAFF_ROLES = frozenset(ROLE_LABELS)  # the roles a staff account may have


S = State
_OPEN_ASSISTANCE = (S.RECEIVED, S.VERIFYING, S.NEEDS_INFO, S.SOCIAL_RESEARCH, S.COMMITTEE)
# THE table of legal moves: (kind, from, to) → the roles that may make it (admin: all).
TRANSITIONS: dict[tuple[Kind, State, State], frozenset[Role]] = {
    **{
        (Kind.ASSISTANCE, a, b): frozenset({Role.OFFICER})
        for a, b in (
            (S.RECEIVED, S.VERIFYING),
            (S.VERIFYING, S.NEEDS_INFO),
            (S.VERIFYING, S.SOCIAL_RESEARCH),
            (S.VERIFYING, S.COMMITTEE),
            (S.ACCEPTED, S.REGISTERED),
            (S.REGISTERED, S.SERVED),
        )
    },
    # Staff take the case back, or the applicant answers online (`answers`).
    (Kind.ASSISTANCE, S.NEEDS_INFO, S.VERIFYING): frozenset({Role.OFFICER, Role.APPLICANT}),
    (Kind.ASSISTANCE, S.SOCIAL_RESEARCH, S.COMMITTEE): frozenset({Role.RESEARCHER}),
    (Kind.ASSISTANCE, S.SOCIAL_RESEARCH, S.NEEDS_INFO): frozenset({Role.RESEARCHER}),
    (Kind.ASSISTANCE, S.COMMITTEE, S.ACCEPTED): frozenset({Role.COMMITTEE}),
    (Kind.ASSISTANCE, S.COMMITTEE, S.REJECTED): frozenset({Role.COMMITTEE}),
    # Withdrawn or duplicate from any open state.
    **{
        (Kind.ASSISTANCE, a, b): frozenset({Role.OFFICER})
        for a in (*_OPEN_ASSISTANCE, S.ACCEPTED, S.REGISTERED)
        for b in (S.WITHDRAWN, S.DUPLICATE)
    },
    (Kind.VOLUNTEER, S.RECEIVED, S.CONTACTED): frozenset({Role.OFFICER}),
    (Kind.VOLUNTEER, S.CONTACTED, S.ACCEPTED): frozenset({Role.OFFICER}),
    (Kind.VOLUNTEER, S.CONTACTED, S.DECLINED): frozenset({Role.OFFICER}),
    (Kind.VOLUNTEER, S.ACCEPTED, S.ACTIVE): frozenset({Role.OFFICER}),
    (Kind.FEEDBACK, S.RECEIVED, S.REVIEWED): frozenset({Role.OFFICER, Role.COMMITTEE}),
}
# Moves that must say why; needs_info's reason is the message the applicant reads.
NEEDS_REASON = frozenset({S.REJECTED, S.NEEDS_INFO, S.DUPLICATE, S.WITHDRAWN, S.DECLINED})
# Decisions a second look protects: made only after a page that asks to confirm them.
NEEDS_CONFIRMING = frozenset({S.ACCEPTED, S.REJECTED})
STATES_OF = {
    Kind.ASSISTANCE: (
        S.RECEIVED,
        S.VERIFYING,
        S.NEEDS_INFO,
        S.SOCIAL_RESEARCH,
        S.COMMITTEE,
        S.ACCEPTED,
        S.REJECTED,
        S.REGISTERED,
        S.SERVED,
        S.WITHDRAWN,
        S.DUPLICATE,
    ),
    Kind.VOLUNTEER: (S.RECEIVED, S.CONTACTED, S.ACCEPTED, S.DECLINED, S.ACTIVE),
    Kind.FEEDBACK: (S.RECEIVED, S.REVIEWED),
}
# Waiting for the committee's answer (or, for volunteers, for a reply): "late" after
# PORTAL_ANSWER_DAYS.
WAITING_STATES = {
    Kind.ASSISTANCE: _OPEN_ASSISTANCE,
    Kind.VOLUNTEER: (S.RECEIVED, S.CONTACTED),
    Kind.FEEDBACK: (S.RECEIVED,),
}
OPEN_STATES = {
    Kind.ASSISTANCE: (*_OPEN_ASSISTANCE, S.ACCEPTED, S.REGISTERED),
    Kind.VOLUNTEER: (S.RECEIVED, S.CONTACTED, S.ACCEPTED),
    Kind.FEEDBACK: (S.RECEIVED,),
}


def may(role: Role | str, kind: Kind | str, source: State | str, target: State | str) -> bool:
    roles = TRANSITIONS.get((Kind(kind), State(source), State(target)))
    return roles is not None and (Role(role) == Role.ADMIN or Role(role) in roles)


def next_states(role: Role | str, kind: Kind | str, source: State | str) -> list[State]:
    """The buttons a person sees on a case: derived from TRANSITIONS, never written twice."""
    return [
        b
        for (k, a, b) in TRANSITIONS
        if k == Kind(kind) and a == State(source) and may(role, k, a, b)
    ]


# What the applicant reads on the status page: plain words, never the internal names.
APPLICANT_LABELS = {
    State.RECEIVED: _l("Received"),
    State.VERIFYING: _l("Being reviewed"),
    State.NEEDS_INFO: _l("More information needed"),
    State.SOCIAL_RESEARCH: _l("Being reviewed"),
    State.COMMITTEE: _l("With the research committee"),
    State.ACCEPTED: _l("Accepted"),
    State.REJECTED: _l("Not accepted"),
    State.REGISTERED: _l("Registered"),
    State.SERVED: _l("Service provided"),
    State.WITHDRAWN: _l("Withdrawn"),
    State.DUPLICATE: _l("Closed: the same request was already received"),
    State.CONTACTED: _l("Being reviewed"),
    State.DECLINED: _l("Not accepted"),
    State.ACTIVE: _l("Active volunteer"),
    State.REVIEWED: _l("Reviewed"),
}


# What staff read: the state's name as a word in their language.
STAFF_LABELS = {
    State.RECEIVED: _l("Received"),
    State.VERIFYING: _l("Verifying"),
    State.NEEDS_INFO: _l("More information needed"),
    State.SOCIAL_RESEARCH: _l("Social research"),
    State.COMMITTEE: _l("With the research committee"),
    State.ACCEPTED: _l("Accepted"),
    State.REJECTED: _l("Rejected"),
    State.REGISTERED: _l("Registered"),
    State.SERVED: _l("Service provided"),
    State.WITHDRAWN: _l("Withdrawn"),
    State.DUPLICATE: _l("Duplicate"),
    State.CONTACTED: _l("Contacted"),
    State.DECLINED: _l("Declined"),
    State.ACTIVE: _l("Active volunteer"),
    State.REVIEWED: _l("Reviewed"),
}
# The button that makes a move, by its target.
ACTION_LABELS = {
    State.VERIFYING: _l("Start verifying"),
    State.NEEDS_INFO: _l("Ask for more information"),
    State.SOCIAL_RESEARCH: _l("Refer to the social researcher"),
    State.COMMITTEE: _l("Send to the research committee"),
    State.ACCEPTED: _l("Accept"),
    State.REJECTED: _l("Reject"),
    State.REGISTERED: _l("Registration completed"),
    State.SERVED: _l("Service provided"),
    State.WITHDRAWN: _l("Withdrawn by the applicant"),
    State.DUPLICATE: _l("Close as duplicate"),
    State.CONTACTED: _l("Contacted"),
    State.DECLINED: _l("Decline"),
    State.ACTIVE: _l("Active volunteer"),
    State.REVIEWED: _l("Mark reviewed"),
}
