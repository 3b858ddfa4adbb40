"""The lifecycle table: every (kind, from, to, role) triple, reasons, and lost races."""

import itertools

import pytest

from forms_service import lifecycle, queue
from forms_service.lifecycle import NEEDS_REASON, STATES_OF, TRANSITIONS, Kind, Role, State


def new_case(app, db, kind: Kind, state: State) -> int:
    with app.test_request_context():
        receipt = queue.submit(db, kind=kind, lang="ar", fields={"full_name": "اختبار"})
    db.execute("UPDATE submissions SET state = ? WHERE id = ?", [str(state), receipt.submission_id])
    db.conn.commit()
    return receipt.submission_id


def events_of(db, case_id):
    return db.execute("SELECT count(*) FROM events WHERE submission_id = ?", [case_id]).fetchone()[
        0
    ]


# The moves of DESIGN.md ("Queue states"), written out here independently of the code:
# kind, from, to, the roles that make the move (administrators may make every move).
OPEN = "received verifying needs_info social_research committee accepted registered"
DESIGN = (
    """
    assistance received verifying officer
    assistance verifying needs_info officer
    assistance needs_info verifying officer,applicant
    assistance verifying social_research officer
    assistance verifying committee officer
    assistance social_research committee researcher
    assistance social_research needs_info researcher
    assistance committee accepted committee
    assistance committee rejected committee
    assistance accepted registered officer
    assistance registered served officer
    volunteer received contacted officer
    volunteer contacted accepted officer
    volunteer contacted declined officer
    volunteer accepted active officer
    feedback received reviewed officer,committee
    """
    + "".join(f"assistance {state} withdrawn officer\n" for state in OPEN.split())
    + "".join(f"assistance {state} duplicate officer\n" for state in OPEN.split())
)


def design_moves() -> dict[tuple[str, str, str], set[str]]:
    moves = {}
    for line in DESIGN.split("\n"):
        if line.strip():
            kind, source, target, roles = line.split()
            moves[(kind, source, target)] = set(roles.split(","))
    return moves


def test_the_table_is_the_design_s_whole_table():
    code = {
        (str(k), str(a), str(b)): {str(r) for r in roles}
        for (k, a, b), roles in TRANSITIONS.items()
    }
    assert code == design_moves()


def design_allows(role, kind, source, target) -> bool:
    roles = design_moves().get((str(kind), str(source), str(target)))
    return roles is not None and (role == Role.ADMIN or str(role) in roles)


def test_the_buttons_of_a_case_follow_the_table():
    S = State
    assert lifecycle.next_states(Role.RESEARCHER, Kind.ASSISTANCE, S.SOCIAL_RESEARCH) == [
        S.COMMITTEE,
        S.NEEDS_INFO,
    ]
    assert lifecycle.next_states(Role.COMMITTEE, Kind.ASSISTANCE, S.COMMITTEE) == [
        S.ACCEPTED,
        S.REJECTED,
    ]
    assert lifecycle.next_states(Role.COMMITTEE, Kind.ASSISTANCE, S.VERIFYING) == []
    assert set(lifecycle.next_states(Role.ADMIN, Kind.ASSISTANCE, S.COMMITTEE)) == {
        S.ACCEPTED,
        S.REJECTED,
        S.WITHDRAWN,
        S.DUPLICATE,
    }


TRIPLES = [
    (kind, source, target, role)
    for kind in Kind
    for source, target in itertools.product(STATES_OF[kind], repeat=2)
    for role in Role
    if source != target
]


@pytest.mark.parametrize(("kind", "source", "target", "role"), TRIPLES, ids=lambda v: str(v))
def test_every_triple(app, db, kind, source, target, role):
    case_id = new_case(app, db, kind, source)
    before = events_of(db, case_id)
    allowed = design_allows(role, kind, source, target)  # the design, not the code, decides
    reason = "السبب" if target in NEEDS_REASON else ""
    if allowed:
        queue.transition(db, case_id, target, actor="t", role=role, reason=reason, expected=source)
        state = db.execute("SELECT state FROM submissions WHERE id = ?", [case_id]).fetchone()[0]
        assert state == target
        assert events_of(db, case_id) == before + 1
        last = db.execute(
            "SELECT from_state, to_state, actor FROM events WHERE submission_id = ? "
            "ORDER BY id DESC LIMIT 1",
            [case_id],
        ).fetchone()
        assert last == (str(source), str(target), "t")
    else:
        with pytest.raises(queue.InvalidTransition):
            queue.transition(db, case_id, target, actor="t", role=role, reason="x", expected=source)
        state = db.execute("SELECT state FROM submissions WHERE id = ?", [case_id]).fetchone()[0]
        assert state == source
        assert events_of(db, case_id) == before


@pytest.mark.parametrize("target", sorted(NEEDS_REASON & set(STATES_OF[Kind.ASSISTANCE])))
def test_moves_that_need_a_reason(app, db, target):
    case_id = new_case(app, db, Kind.ASSISTANCE, State.VERIFYING)
    if target == State.REJECTED:
        db.execute("UPDATE submissions SET state = 'committee' WHERE id = ?", [case_id])
        db.conn.commit()
    with pytest.raises(queue.ReasonRequired):
        queue.transition(db, case_id, target, actor="t", role="admin", reason="  ")


def test_needs_info_reason_is_the_applicants_message(app, db):
    case_id = new_case(app, db, Kind.ASSISTANCE, State.VERIFYING)
    queue.transition(
        db, case_id, State.NEEDS_INFO, actor="t", role="officer", reason="أرسلي عقد الإيجار"
    )
    assert queue.get(db, case_id)["applicant_message"] == "أرسلي عقد الإيجار"


def test_a_lost_race_changes_nothing(app, db):
    case_id = new_case(app, db, Kind.ASSISTANCE, State.VERIFYING)
    # Two officers saw "verifying"; the first sends it to the committee.
    queue.transition(db, case_id, State.COMMITTEE, actor="a", role="officer", expected="verifying")
    before = events_of(db, case_id)
    with pytest.raises(queue.LostRace):
        queue.transition(
            db, case_id, State.SOCIAL_RESEARCH, actor="b", role="officer", expected="verifying"
        )
    assert queue.get(db, case_id)["state"] == "committee"
    assert events_of(db, case_id) == before


def test_events_are_append_only(app, db):
    import sqlite3

    case_id = new_case(app, db, Kind.ASSISTANCE, State.RECEIVED)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("UPDATE events SET actor = 'x' WHERE submission_id = ?", [case_id])
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("DELETE FROM events WHERE submission_id = ?", [case_id])
