"""The status page's story of a request, in the applicant's words: each step, the date it was
reached, the step it is at now, and what happens next. Never a state's internal name, never
a staff note. Steps follow the lifecycle's states (`lifecycle`), dates the audit trail."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from .db import Database
from .lifecycle import APPLICANT_LABELS, WAITING_STATES, Kind, State

S = State


@dataclass(frozen=True)
class StepDef:
    key: str
    label: object  # a lazy string
    states: tuple[State, ...]


STEPS: dict[Kind, tuple[StepDef, ...]] = {
    Kind.ASSISTANCE: (
        StepDef("received", _l("Received"), (S.RECEIVED,)),
        StepDef("review", _l("Being reviewed"), (S.VERIFYING, S.NEEDS_INFO, S.SOCIAL_RESEARCH)),
        StepDef("committee", _l("With the research committee"), (S.COMMITTEE,)),
        StepDef("decision", _l("The committee's decision"), (S.ACCEPTED, S.REJECTED)),
        StepDef("registration", _l("Registration"), (S.REGISTERED,)),
        StepDef("service", _l("Service provided"), (S.SERVED,)),
    ),
    Kind.VOLUNTEER: (
        StepDef("received", _l("Received"), (S.RECEIVED,)),
        StepDef("review", _l("Being reviewed"), (S.CONTACTED,)),
        StepDef("decision", _l("Decision"), (S.ACCEPTED, S.DECLINED)),
        StepDef("active", _l("Active volunteer"), (S.ACTIVE,)),
    ),
    Kind.FEEDBACK: (
        StepDef("received", _l("Received"), (S.RECEIVED,)),
        StepDef("reviewed", _l("Reviewed"), (S.REVIEWED,)),
    ),
}
# Ends after which no later step comes.
FINAL = {S.REJECTED, S.DECLINED, S.WITHDRAWN, S.DUPLICATE}

# What happens next, by the state the request is in now.
NEXT = {
    (Kind.ASSISTANCE, S.RECEIVED): _l(
        "An officer will check your request and its documents, then send it to the research "
        "committee."
    ),
    (Kind.ASSISTANCE, S.VERIFYING): _l(
        "The association is checking your request and its documents. Then it goes to the "
        "research committee."
    ),
    (Kind.ASSISTANCE, S.SOCIAL_RESEARCH): _l(
        "A social researcher is studying your request. Then it goes to the research committee."
    ),
    (Kind.ASSISTANCE, S.NEEDS_INFO): _l(
        "The association needs more from you: read the message below and answer it. Your "
        "request goes on when the association has your answer."
    ),
    (Kind.ASSISTANCE, S.COMMITTEE): _l(
        "The research committee studies your request and answers acceptance or rejection."
    ),
    (Kind.ASSISTANCE, S.ACCEPTED): _l(
        "The association will contact you to complete your registration."
    ),
    (Kind.ASSISTANCE, S.REJECTED): _l(
        "You may contact the association with any question about this decision."
    ),
    (Kind.ASSISTANCE, S.REGISTERED): _l("The association will contact you about the service."),
    (Kind.ASSISTANCE, S.SERVED): _l(
        "Please tell us how we did: the satisfaction survey takes a minute."
    ),
    (Kind.VOLUNTEER, S.RECEIVED): _l("The association will contact you."),
    (Kind.VOLUNTEER, S.CONTACTED): _l("The association will tell you its decision."),
    (Kind.VOLUNTEER, S.ACCEPTED): _l("The association will contact you about the next steps."),
    (Kind.VOLUNTEER, S.DECLINED): _l("Thank you for offering your time."),
    (Kind.VOLUNTEER, S.ACTIVE): _l("Thank you for volunteering with the association."),
    (Kind.FEEDBACK, S.RECEIVED): _l("Thank you: the association reads every rating."),
    (Kind.FEEDBACK, S.REVIEWED): _l("Thank you: the association reads every rating."),
}
CLOSED = _l("This request is closed.")


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    reached_at: str | None  # the stored moment it was first reached; None: not yet
    current: bool


def reached(db: Database, submission_id: int) -> dict[str, str]:
    """The first moment the request reached each state (from its audit trail)."""
    rows = db.execute(
        "SELECT to_state, min(at) FROM events WHERE submission_id = ? AND action = 'transition' "
        "GROUP BY to_state",
        [submission_id],
    ).fetchall()
    return {state: at for state, at in rows}


def steps(db: Database, row: dict) -> list[Step]:
    """The steps of this request: those reached, with their dates, the current one marked,
    and those still to come (none after a final "no", withdrawal or duplicate)."""
    kind, state = Kind(row["kind"]), State(row["state"])
    moments = reached(db, row["id"])
    moments[S.RECEIVED] = row["created_at"]
    shown = []
    for step in STEPS[kind]:
        times = [moments[s] for s in step.states if s in moments]
        is_current = state in step.states
        if state in FINAL and not times and not is_current:
            continue  # not reached, and now never will be
        # A decision reads as what was decided ("Accepted", "Not accepted").
        decided = [s for s in step.states if s == state or s in moments]
        label = APPLICANT_LABELS[decided[0]] if step.key == "decision" and decided else step.label
        shown.append(Step(step.key, str(label), min(times) if times else None, is_current))
    if state in (S.WITHDRAWN, S.DUPLICATE):
        shown.append(Step("closed", str(APPLICANT_LABELS[state]), moments.get(state), True))
    return shown


def next_words(row: dict) -> str:
    kind, state = Kind(row["kind"]), State(row["state"])
    return str(NEXT.get((kind, state), CLOSED))


def waiting_for_committee(row: dict) -> bool:
    """Whether the committee's earliest answer date is still worth showing."""
    return row["kind"] == Kind.ASSISTANCE and row["state"] in WAITING_STATES[Kind.ASSISTANCE]
