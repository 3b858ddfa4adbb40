"""Uploaded documents: PDF, JPEG or PNG by content, size limits, stored under random names."""

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask_babel import lazy_gettext as _l

from .identifiers import clean_text

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_REQUEST_BYTES = 20 * 1024 * 1024
ALLOWED = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


class UploadError(ValueError):
    pass


@dataclass(frozen=True)
class StoredFile:
    original_name: str
    stored_name: str
    content_type: str
    size: int
    sha256: str


def document_row(stored: StoredFile, kind: str, **link) -> dict:
    """The documents-table row for a stored file (link: submission_id or draft_id)."""
    from .queue import iso, now_utc

    return {
        **link,
        "kind": kind,
        "original_name": stored.original_name,
        "stored_name": stored.stored_name,
        "content_type": stored.content_type,
        "size": stored.size,
        "sha256": stored.sha256,
        "created_at": iso(now_utc()),
    }


def _kind(head: bytes) -> str | None:
    # filetype reads the magic numbers; a PDF may start after a few junk bytes.
    if b"%PDF-" in head[:1024]:
        return "application/pdf"
    guess = filetype.guess(head)
    return guess.mime if guess and guess.mime in ALLOWED else None


def store(file_storage, folder: Path) -> StoredFile:
    """Check one upload and write it (fsynced) outside any served folder."""
    content = file_storage.stream.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise UploadError(_l("The file is larger than 5 MB. Choose a smaller file or a photo."))
    if not content:
        raise UploadError(_l("The file is empty. Choose the file again."))
    content_type = _kind(content[:4096])
    if content_type is None:
        raise UploadError(_l("The file must be a PDF, JPEG or PNG."))
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16) + ALLOWED[content_type]
    fd = os.open(folder / stored_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    name = clean_text(Path(file_storage.filename or "").name)[:120] or "document"
    return StoredFile(
        name, stored_name, content_type, len(content), hashlib.sha256(content).hexdigest()
    )


def remove(folder: Path, stored_name: str) -> None:
    (folder / stored_name).unlink(missing_ok=True)
