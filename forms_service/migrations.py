"""The schema as code: one function a step, applied in order at start."""

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
