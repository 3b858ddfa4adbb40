"""Uploaded documents: a real PDF, JPEG or PNG, size limits, stored under random names.

A PDF must start with its signature and be read by pypdf (its page tree only, in a child
process with a time and memory limit: a crafted PDF of 1 MB can keep pypdf busy for minutes
and gigabytes); it is stored as uploaded. A photo is decoded by Pillow, turned the right way
up and encoded again with its pixels only, so that no EXIF (a phone's GPS position of a
family's home), XMP, comment or text chunk is ever stored.
"""

import hashlib
import io
import os
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import filetype
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps
from werkzeug.datastructures import FileStorage

from . import sandbox
from .clock import iso, now_utc
from .files import private_dir
from .identifiers import clean_text

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_REQUEST_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # a 12-megapixel phone photo is 12_000_000
JPEG_QUALITY = 90
ALLOWED = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
PDF_SIGNATURE = b"%PDF-"
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
# The PDF check's child process: a 5 MB PDF reads in well under a second.
PDF_CHECK_SECONDS = 6  # wall clock, then the child is killed
PDF_CHECK_CPU_SECONDS = 4
PDF_CHECK_MEMORY = 512 * 1024 * 1024  # address space; Python with pypdf starts at about 45 MB
PDF_VERDICTS = ("ok", "locked", "unreadable")
PDF_VERDICTS_KEPT = 128  # recent verdicts, by SHA-256: a file chosen again is not parsed again

Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

# Run in the sandbox with the PDF on stdin; prints ok, locked (it needs a password to open, or
# AES, which needs a library not installed here) or unreadable. Logging is off: pypdf logs
# what it repairs, quoting the file.
_PDF_CHECK = """
import io, logging
logging.disable(logging.CRITICAL)

def verdict(content):
    import pypdf
    try:
        reader = pypdf.PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
            return "locked"
        return "ok" if len(reader.pages) > 0 else "unreadable"
    except pypdf.errors.DependencyError:
        return "locked"
    except Exception:
        return "unreadable"

sys.stdout.write(verdict(sys.stdin.buffer.read()))
"""
_pdf_verdicts: OrderedDict[str, str] = OrderedDict()  # sha256 → verdict, newest last
_pdf_verdicts_lock = threading.Lock()

TOO_LARGE = _l("The file is larger than 5 MB. Choose a smaller file or a photo.")
UNREADABLE = _l(
    "The file could not be read. Save it again as a PDF, JPEG or PNG and choose it again."
)
LOCKED = _l("The PDF is protected by a password. Choose a copy without a password.")
TOO_MANY_PIXELS = _l(
    "The photo is too large (more than 40 megapixels). Choose a smaller copy of it."
)


class UploadError(ValueError):
    pass


@dataclass(frozen=True)
class StoredFile:
    original_name: str
    stored_name: str
    content_type: str
    size: int
    sha256: str


def document_row(stored: StoredFile, kind: str, **link: int | str) -> dict:
    """The documents-table row for a stored file (link: submission_id or draft_id)."""
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
    """The type by the file's first bytes: a PDF's signature must be at offset 0."""
    if head.startswith(PDF_SIGNATURE):
        return "application/pdf"
    guess = filetype.guess(head)
    return guess.mime if guess and guess.mime in ALLOWED else None


def _run_pdf_check(content: bytes) -> str | None:
    """pypdf's verdict on a PDF from a limited child process; None if it was stopped."""
    result = sandbox.run(
        _PDF_CHECK,
        content,
        seconds=PDF_CHECK_SECONDS,
        cpu_seconds=PDF_CHECK_CPU_SECONDS,
        memory=PDF_CHECK_MEMORY,
    )
    if result is None:
        return None
    verdict = result.stdout.decode("ascii", "replace")
    return verdict if verdict in PDF_VERDICTS else None


def _pdf_verdict(content: bytes) -> str | None:
    """ok, locked or unreadable (None: stopped); the same bytes again are not parsed again."""
    digest = hashlib.sha256(content).hexdigest()
    with _pdf_verdicts_lock:
        if digest in _pdf_verdicts:
            _pdf_verdicts.move_to_end(digest)
            return _pdf_verdicts[digest]
    verdict = _run_pdf_check(content)
    if verdict is None:  # killed over a limit, or by a busy machine: not kept
        return None
    with _pdf_verdicts_lock:
        _pdf_verdicts[digest] = verdict
        while len(_pdf_verdicts) > PDF_VERDICTS_KEPT:
            _pdf_verdicts.popitem(last=False)
    return verdict


def _check_pdf(content: bytes) -> bytes:
    """The PDF as uploaded, once pypdf has read at least one page of it."""
    verdict = _pdf_verdict(content)
    if verdict == "locked":
        raise UploadError(LOCKED)
    if verdict != "ok":
        raise UploadError(UNREADABLE)
    return content


def _open_image(content: bytes, fmt: str) -> Image.Image:
    """Decode a JPEG or PNG fully, refusing more than MAX_IMAGE_PIXELS before decoding.

    Pillow itself raises DecompressionBombError over twice Image.MAX_IMAGE_PIXELS and only
    warns between once and twice (warnings are not caught here: catch_warnings is not
    thread-safe), so the size is checked here as well, from the header, before decoding.
    """
    try:
        image = Image.open(io.BytesIO(content), formats=[fmt])
    except Image.DecompressionBombError as error:
        raise UploadError(TOO_MANY_PIXELS) from error
    if image.width * image.height > MAX_IMAGE_PIXELS:
        raise UploadError(TOO_MANY_PIXELS)
    image.load()
    return image


def _without_metadata(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says, with its pixels and transparency only."""
    upright = ImageOps.exif_transpose(image)
    transparency = image.info.get("transparency")
    upright.info = {} if transparency is None else {"transparency": transparency}
    return upright


def _encode(image: Image.Image, fmt: str) -> bytes:
    """JPEG at JPEG_QUALITY, PNG with Pillow's defaults; nothing but the pixels is written."""
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def _clean_image(content: bytes, content_type: str) -> bytes:
    """A JPEG or PNG decoded and encoded again: right way up, no EXIF, GPS, XMP or text."""
    fmt = PILLOW_FORMATS[content_type]
    try:
        with _open_image(content, fmt) as image:
            return _encode(_without_metadata(image), fmt)
    except UploadError:
        raise
    except Exception as error:  # anything a damaged file makes Pillow raise
        raise UploadError(UNREADABLE) from error


def _checked(content: bytes) -> tuple[str, bytes]:
    """(content type, the bytes to store) for an upload, or UploadError saying what is wrong."""
    content_type = _kind(content[:4096])
    if content_type is None:
        raise UploadError(_l("The file must be a PDF, JPEG or PNG."))
    if content_type == "application/pdf":
        return content_type, _check_pdf(content)
    cleaned = _clean_image(content, content_type)
    if len(cleaned) > MAX_FILE_BYTES:
        raise UploadError(TOO_LARGE)
    return content_type, cleaned


def store(file_storage: FileStorage, folder: Path) -> StoredFile:
    """Check one upload and write it (fsynced) outside any served folder."""
    content = file_storage.stream.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise UploadError(TOO_LARGE)
    if not content:
        raise UploadError(_l("The file is empty. Choose the file again."))
    content_type, content = _checked(content)
    private_dir(folder)  # 0700, whatever the umask: it holds families' documents
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
