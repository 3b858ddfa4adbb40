"""The schema as code: one function a step, applied in order at start."""

import re

from sqlite_utils.migrations import Migrations

migrations = Migrations("portal")


def _run(db, statements) -> None:
    # One statement at a time: executescript() would commit the open transaction.
    for statement in statements:
        db.execute(statement)


M001 = [
    """
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('assistance', 'volunteer', 'feedback')),
        lang TEXT NOT NULL CHECK (lang IN ('ar', 'en')),
        state TEXT NOT NULL,
        channel TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        answer_from TEXT,              -- earliest date to expect the committee's answer
        form_key TEXT UNIQUE,          -- one-time key: a retried submission is one row
        full_name TEXT,
        national_id TEXT,
        mobile TEXT,
        email TEXT,
        data TEXT NOT NULL DEFAULT '{}',  -- every other field, as JSON
        attestation_text TEXT,
        attestation_version TEXT,
        attestation_lang TEXT,
        attestation_at TEXT,
        consent_text TEXT,
        consent_version TEXT,
        consent_lang TEXT,
        consent_at TEXT,
        applicant_message TEXT,        -- shown on the status page; staff notes live in events
        assigned_to TEXT
    )
    """,
    """
    CREATE INDEX submissions_kind_state ON submissions (kind, state, created_at)
    """,
    """
    CREATE INDEX submissions_national_id ON submissions (national_id)
    """,
    """
    CREATE INDEX submissions_mobile ON submissions (mobile)
    """,
    """
    CREATE TABLE orphans (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        birth_date TEXT NOT NULL,
        gender TEXT NOT NULL,
        school_stage TEXT NOT NULL
    )
    """,
    """
    CREATE INDEX orphans_submission ON orphans (submission_id)
    """,
    """
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER REFERENCES submissions (id) ON DELETE CASCADE,
        draft_id TEXT,
        kind TEXT NOT NULL,
        original_name TEXT NOT NULL,
        stored_name TEXT NOT NULL UNIQUE,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        created_at TEXT NOT NULL
    )
    """,
    """
    CREATE INDEX documents_submission ON documents (submission_id)
    """,
    """
    CREATE INDEX documents_draft ON documents (draft_id)
    """,
    """
    -- Append-only: who did what, when. Never updated, never deleted by the app.
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER REFERENCES submissions (id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    )
    """,
    """
    CREATE INDEX events_submission ON events (submission_id, at)
    """,
    """
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END
    """,
    """
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END
    """,
    """
    -- Mail written in the submission's transaction, sent after it commits.
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        submission_id INTEGER REFERENCES submissions (id) ON DELETE CASCADE,
        to_addr TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    )
    """,
    """
    -- In-progress support requests (between the form and check-your-answers).
    CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        lang TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )
    """,
    """
    -- Fixed-window counters per client (a keyed hash of the address, never the address).
    CREATE TABLE rate_limits (
        key TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (key, window_start)
    )
    """,
]


@migrations()
def m001_submissions(db):
    _run(db, M001)


M002 = [
    """
    CREATE TABLE staff (
        username TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('officer', 'researcher', 'committee', 'admin')),
        active INTEGER NOT NULL DEFAULT 1,
        totp_secret TEXT,
        totp_last_step INTEGER,      -- a TOTP code works once
        created_at TEXT NOT NULL,
        password_changed_at TEXT NOT NULL
    )
    """,
    """
    -- Server-side sessions: logout and disabling a user end them for real.
    CREATE TABLE staff_sessions (
        token_hash TEXT PRIMARY KEY,  -- sha256 of the cookie value; the value is never stored
        username TEXT NOT NULL REFERENCES staff (username) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        second_factor_ok INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX staff_sessions_user ON staff_sessions (username)",
    # Arabic-normalised names for search (hamza forms, ة/ه, ى/ي, diacritics, tatweel).
    "ALTER TABLE submissions ADD COLUMN name_norm TEXT",
    "ALTER TABLE orphans ADD COLUMN name_norm TEXT",
    "CREATE INDEX orphans_name_birth ON orphans (name_norm, birth_date)",
    "CREATE INDEX submissions_assigned ON submissions (assigned_to, kind, state)",
    "CREATE INDEX submissions_kind_created ON submissions (kind, created_at)",
    "CREATE INDEX submissions_kind_channel ON submissions (kind, channel, created_at)",
    "CREATE INDEX events_action ON events (action, to_state, at)",
    """
    CREATE VIRTUAL TABLE submissions_fts USING fts5 (
        name_norm, content = 'submissions', content_rowid = 'id', tokenize = 'trigram'
    )
    """,
    """
    CREATE TRIGGER submissions_fts_insert AFTER INSERT ON submissions BEGIN
        INSERT INTO submissions_fts (rowid, name_norm) VALUES (new.id, new.name_norm);
    END
    """,
    """
    CREATE TRIGGER submissions_fts_delete AFTER DELETE ON submissions BEGIN
        INSERT INTO submissions_fts (submissions_fts, rowid, name_norm)
        VALUES ('delete', old.id, old.name_norm);
    END
    """,
    """
    CREATE TRIGGER submissions_fts_update AFTER UPDATE OF name_norm ON submissions BEGIN
        INSERT INTO submissions_fts (submissions_fts, rowid, name_norm)
        VALUES ('delete', old.id, old.name_norm);
        INSERT INTO submissions_fts (rowid, name_norm) VALUES (new.id, new.name_norm);
    END
    """,
]


@migrations()
def m002_staff_and_search(db):
    _run(db, M002)


# The one update the audit trail allows: a free-text detail replaced by this marker.
ERASED_DETAIL = '{"erased": true}'


@migrations()
def m003_events_outlive_cases(db):
    """Events keep a purged or erased case's (anonymised) trail: rebuild `events` without the
    foreign key to submissions, and let exactly one update through: `detail` → erased marker.

    Self-contained: reads the table's current shape (columns, indexes, other triggers) from
    the schema, so a column or index added to `events` earlier survives the rebuild.
    """
    (table_sql,) = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'events'"
    ).fetchone()
    columns = [row[1] for row in db.execute("PRAGMA table_info(events)").fetchall()]
    keep = [
        sql
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL "
            "AND type IN ('index', 'trigger') "
            "AND name NOT IN ('events_no_update', 'events_no_delete') ORDER BY type, name"
        ).fetchall()
    ]
    new_table_sql = re.sub(r"\bREFERENCES\s+submissions\s*\(\s*id\s*\)", "", table_sql, flags=re.I)
    new_table_sql = re.sub(
        r"^\s*CREATE\s+TABLE\s+(\"events\"|\[events\]|`events`|events)\b",
        "CREATE TABLE events_new",
        new_table_sql,
        flags=re.I,
    )
    listed = ", ".join(f'"{name}"' for name in columns)
    unchanged = " AND ".join(
        f'new."{name}" IS old."{name}"' for name in columns if name != "detail"
    )
    _run(
        db,
        [
            "DROP TRIGGER IF EXISTS events_no_update",
            "DROP TRIGGER IF EXISTS events_no_delete",
            new_table_sql,
            f"INSERT INTO events_new ({listed}) SELECT {listed} FROM events",  # noqa: S608
            "DROP TABLE events",
            "ALTER TABLE events_new RENAME TO events",
            *keep,
            f"""
            CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            WHEN NOT (new.detail = '{ERASED_DETAIL}' AND {unchanged})
            BEGIN SELECT RAISE(ABORT, 'events are append-only'); END
            """,
            """
            CREATE TRIGGER events_no_delete BEFORE DELETE ON events
                BEGIN SELECT RAISE(ABORT, 'events are append-only'); END
            """,
        ],
    )


M004 = [
    # Two-step sign-in: a secret being enrolled is kept here, never taken from a form.
    "ALTER TABLE staff_sessions ADD COLUMN totp_pending TEXT",
    # Staff search words (names, IDs) live on the server, never in a cookie.
    "ALTER TABLE staff_sessions ADD COLUMN searches TEXT NOT NULL DEFAULT '{}'",
    """
    -- A confirmation page shown for a short time after a submission: the browser holds
    -- only a random token; this row says which submission it may see.
    CREATE TABLE receipts (
        token_hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
        created_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX receipts_created ON receipts (created_at)",
    "CREATE INDEX drafts_updated ON drafts (updated_at)",
]


@migrations()
def m004_server_side_secrets(db):
    _run(db, M004)


_OUTBOX_KINDS = (
    "'received', 'needs_info', 'accepted', 'rejected', 'registered', 'served', "
    "'volunteer_received', 'volunteer_accepted', 'test'"
)
# A reference as people read it (K7M-4QX-9T), for the e-mails queued before this step.
_GROUPED = (
    "substr(s.reference, 1, 3) || '-' || substr(s.reference, 4, 3) || '-' || substr(s.reference, 7)"
)
M005 = [
    # One outbox for SMS and e-mail: what kind of message, to which address, in which
    # language, and where it stands (waiting → sending → sent | failed | unknown).
    "ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email' "
    "CHECK (channel IN ('sms', 'email'))",
    f"ALTER TABLE outbox ADD COLUMN message_kind TEXT NOT NULL DEFAULT 'received' "
    f"CHECK (message_kind IN ({_OUTBOX_KINDS}))",
    "ALTER TABLE outbox ADD COLUMN lang TEXT NOT NULL DEFAULT 'ar' CHECK (lang IN ('ar', 'en'))",
    "ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'waiting' "
    "CHECK (status IN ('waiting', 'sending', 'sent', 'failed', 'unknown'))",
    "ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT",  # back-off: not before this time
    # The claim: one sender's token and when it took the row ("sending"); see outbox.py.
    "ALTER TABLE outbox ADD COLUMN claimed_by TEXT",
    "ALTER TABLE outbox ADD COLUMN claimed_at TEXT",
    "ALTER TABLE outbox ADD COLUMN provider_id TEXT",  # the provider's message id, once sent
    # The e-mails already queued: their language, their state, and the reference the old
    # sender added at send time (the rows now hold the whole message).
    "UPDATE outbox SET lang = coalesce("
    "(SELECT s.lang FROM submissions s WHERE s.id = outbox.submission_id), 'ar')",
    "UPDATE outbox SET status = CASE WHEN sent_at IS NOT NULL THEN 'sent' "
    "WHEN attempts >= 5 THEN 'failed' ELSE 'waiting' END",
    f"UPDATE outbox SET subject = subject || ' — ' || (SELECT {_GROUPED} FROM submissions s "  # noqa: S608
    "WHERE s.id = outbox.submission_id), body = body || char(10) || char(10) || "
    f"(SELECT {_GROUPED} FROM submissions s WHERE s.id = outbox.submission_id) "
    "WHERE status = 'waiting' AND submission_id IN (SELECT id FROM submissions)",
    "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
    "CREATE INDEX outbox_submission ON outbox (submission_id, id)",
]


@migrations()
def m005_notifications(db):
    _run(db, M005)


# A closed meeting is frozen by the database itself: these triggers refuse any change to it,
# to its members present and to its agenda, whatever code (or person with sqlite3) tries.
_CLOSED = "the meeting is closed: its minutes cannot be changed"
M006 = [
    """
    -- The research committee's meetings. Closing sets closed_at, once; from then on the
    -- meeting, its members and its agenda are frozen (corrections are events).
    CREATE TABLE meetings (
        id INTEGER PRIMARY KEY,
        held_on TEXT NOT NULL,           -- the meeting's date, YYYY-MM-DD
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        closed_at TEXT,
        closed_by TEXT
    )
    """,
    "CREATE INDEX meetings_held_on ON meetings (held_on, id)",
    """
    CREATE TABLE meeting_members (
        id INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL REFERENCES meetings (id),
        position INTEGER NOT NULL,
        username TEXT,                   -- a committee account
        name TEXT,                       -- a member without an account, as typed
        CHECK ((username IS NULL) != (name IS NULL))
    )
    """,
    "CREATE INDEX meeting_members_meeting ON meeting_members (meeting_id, position)",
    """
    -- The agenda, and each case's decision. No foreign key to submissions: the minutes
    -- outlive a case deleted by the retention schedule (its reference stays here). The
    -- reason is kept in the decision's event only, so erasing a case anonymises it here too.
    CREATE TABLE meeting_items (
        id INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL REFERENCES meetings (id),
        submission_id INTEGER NOT NULL,
        reference TEXT NOT NULL,
        position INTEGER NOT NULL,
        decision TEXT CHECK (decision IN ('accepted', 'rejected', 'deferred')),
        decided_at TEXT,
        decided_by TEXT,
        event_id INTEGER,                -- the decision's event (transition or deferred)
        sent_at TEXT,                    -- when the case was sent to the committee
        UNIQUE (meeting_id, submission_id)
    )
    """,
    "CREATE INDEX meeting_items_submission ON meeting_items (submission_id)",
    f"""
    CREATE TRIGGER meetings_closed_no_update BEFORE UPDATE ON meetings
    WHEN old.closed_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, '{_CLOSED}'); END
    """,
    f"""
    CREATE TRIGGER meetings_closed_no_delete BEFORE DELETE ON meetings
    WHEN old.closed_at IS NOT NULL
    BEGIN SELECT RAISE(ABORT, '{_CLOSED}'); END
    """,
    """
    CREATE TRIGGER meetings_close_when_decided BEFORE UPDATE OF closed_at ON meetings
    WHEN new.closed_at IS NOT NULL AND EXISTS (
        SELECT 1 FROM meeting_items WHERE meeting_id = new.id AND decision IS NULL
    )
    BEGIN SELECT RAISE(ABORT, 'every case on the agenda needs a decision first'); END
    """,
    *(
        f"""
        CREATE TRIGGER {table}_closed_{verb} BEFORE {verb.upper()} ON {table}
        WHEN (SELECT closed_at FROM meetings WHERE id = {row}.meeting_id) IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{_CLOSED}'); END
        """  # noqa: S608 - constant names only
        for table in ("meeting_members", "meeting_items")
        for verb, row in (("insert", "new"), ("update", "old"), ("delete", "old"))
    ),
    # Moving a row to a closed meeting is refused too.
    *(
        f"""
        CREATE TRIGGER {table}_closed_move BEFORE UPDATE OF meeting_id ON {table}
        WHEN (SELECT closed_at FROM meetings WHERE id = new.meeting_id) IS NOT NULL
        BEGIN SELECT RAISE(ABORT, '{_CLOSED}'); END
        """  # noqa: S608 - constant names only
        for table in ("meeting_members", "meeting_items")
    ),
    # A decision is final, in an open meeting too: it is the case's move, already made.
    """
    CREATE TRIGGER meeting_items_decision_final
    BEFORE UPDATE OF meeting_id, submission_id, reference, decision, decided_at, decided_by,
        event_id, sent_at ON meeting_items
    WHEN old.decision IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'a decision is final'); END
    """,
    """
    CREATE TRIGGER meeting_items_decided_no_delete BEFORE DELETE ON meeting_items
    WHEN old.decision IS NOT NULL
    BEGIN SELECT RAISE(ABORT, 'a decision is final'); END
    """,
]


@migrations()
def m006_meetings(db):
    _run(db, M006)


M007 = [
    # "More information needed": the document kinds asked for (a JSON list), and when the
    # applicant answered online (cleared by staff's next move): the queue's "answered" mark.
    "ALTER TABLE submissions ADD COLUMN missing_documents TEXT",
    "ALTER TABLE submissions ADD COLUMN answered_at TEXT",
    # A status lookup that may answer: the session holds a random token, the server its hash,
    # the one-time code's keyed hash, its tries, and the draft that holds the chosen files.
    """
    CREATE TABLE answer_access (
        token_hash TEXT PRIMARY KEY,
        submission_id INTEGER NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
        draft_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        code_hash TEXT,
        code_sent_at TEXT,
        code_tries INTEGER NOT NULL DEFAULT 0,
        verified_at TEXT
    )
    """,
    "CREATE INDEX answer_access_submission ON answer_access (submission_id)",
    "CREATE INDEX answer_access_created ON answer_access (created_at)",
    # The status page shows a message only while it is current: a move since the last
    # message (other than into needs_info, whose reason is the message) makes it past.
    """
    UPDATE submissions SET applicant_message = NULL
    WHERE applicant_message IS NOT NULL AND state != 'needs_info' AND NOT EXISTS (
        SELECT 1 FROM events m WHERE m.submission_id = submissions.id AND m.action = 'message'
        AND m.id > (
            SELECT coalesce(max(t.id), 0) FROM events t
            WHERE t.submission_id = submissions.id AND t.action = 'transition'
        )
    )
    """,
]


@migrations()
def m007_applicant_answers(db):
    _run(db, M007)


M008 = [
    # An SMS handed to its provider: set (and committed) right before the request goes, so
    # that a claim abandoned before it is known never to have left, and is sent again.
    "ALTER TABLE outbox ADD COLUMN handed_at TEXT",
]


@migrations()
def m008_sms_handed_over(db):
    _run(db, M008)
