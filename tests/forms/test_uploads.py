"""Uploads: a real PDF is kept as sent; a photo is re-encoded without its metadata.

Each test calls uploads.store() as the forms do, with a werkzeug FileStorage, and writes into
pytest's tmp_path. The files are built here with pypdf and Pillow.
"""

import hashlib
import io
import struct
import subprocess
import time
import zlib
from collections import OrderedDict

import pytest
from PIL import Image, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from werkzeug.datastructures import FileStorage

from forms_service import sandbox, uploads

UNKNOWN = "PDF, JPEG or PNG"
UNREADABLE = "could not be read"
PASSWORD = "password"
TOO_BIG = "5 MB"
TOO_MANY_PIXELS = "megapixels"
GPS_IFD = 0x8825
ORIENTATION = 0x0112
# Markers a plain re-encoded JPEG may have before its scan: JFIF APP0, Adobe APP14 (CMYK),
# quantisation and Huffman tables, frame headers, restart interval. No APP1 (EXIF, XMP),
# APP2 (ICC, MPF), APP13 (IPTC) or COM.
PLAIN_JPEG_MARKERS = {0xE0, 0xEE, 0xDB, 0xC4, 0xC0, 0xC1, 0xC2, 0xDD}
PLAIN_PNG_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


@pytest.fixture(autouse=True)
def no_remembered_verdicts(monkeypatch):
    """Each test parses its PDFs afresh (uploads remembers recent verdicts by SHA-256)."""
    monkeypatch.setattr(uploads, "_pdf_verdicts", OrderedDict())


# ---------------------------------------------------------------- building files


def pdf_bytes(pages: int = 1, **encrypt) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if encrypt:
        writer.encrypt(**encrypt, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def image_bytes(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif[0x0132] = "2026:11:25 10:30:00"  # DateTime
    if orientation:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (21.0, 37.0, 12.5)
    gps[3] = "E"
    gps[4] = (39.0, 41.0, 3.25)
    return exif


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + png_chunk(b"IEND", b"")
    )


def jpeg_markers(data: bytes) -> list[int]:
    """The marker of each segment before the scan (SOS), in order."""
    assert data[:2] == b"\xff\xd8"
    markers, at = [], 2
    while data[at] == 0xFF and data[at + 1] != 0xDA:
        markers.append(data[at + 1])
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kinds.append(data[at + 4 : at + 8])
        at += 12 + length
    return kinds


def store(tmp_path, content: bytes, name: str = "document"):
    """Store content as an upload; return (StoredFile, the bytes on disk)."""
    stored = uploads.store(FileStorage(io.BytesIO(content), filename=name), tmp_path)
    on_disk = (tmp_path / stored.stored_name).read_bytes()
    assert stored.size == len(on_disk)
    assert stored.sha256 == hashlib.sha256(on_disk).hexdigest()
    return stored, on_disk


def refused(tmp_path, content: bytes, name: str = "document") -> str:
    """Store content, expecting a refusal; return its message. Nothing is left on disk."""
    with pytest.raises(uploads.UploadError) as error:
        uploads.store(FileStorage(io.BytesIO(content), filename=name), tmp_path)
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []
    return str(error.value.args[0])


# ---------------------------------------------------------------- PDF


def test_a_real_pdf_is_stored_byte_identical(tmp_path):
    pdf = pdf_bytes(pages=2)
    stored, on_disk = store(tmp_path, pdf, "صك.pdf")
    assert on_disk == pdf
    assert stored.content_type == "application/pdf" and stored.stored_name.endswith(".pdf")
    assert stored.original_name == "صك.pdf"


def test_text_with_the_pdf_marker_in_its_first_kilobyte_is_refused(tmp_path):
    content = b"Dear staff, here is my document.\njunk %PDF-1.4\n" + b"x" * 200
    assert UNKNOWN in refused(tmp_path, content, "letter.pdf")


def test_a_real_pdf_after_leading_junk_is_refused(tmp_path):
    # pypdf would read it (it searches for the header); a PDF starts at offset 0.
    assert UNKNOWN in refused(tmp_path, b"junk\n" + pdf_bytes(), "id.pdf")


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        b"%PDF-1.7\n" + bytes(range(256)) * 40,
        b"%PDF-",
        pdf_bytes()[:200],
    ],
    ids=["no-pages", "binary-junk", "signature-only", "truncated"],
)
def test_a_pdf_signature_without_a_readable_document_is_refused(tmp_path, content):
    assert UNREADABLE in refused(tmp_path, content, "id.pdf")


def test_a_pdf_with_no_page_is_refused(tmp_path):
    assert UNREADABLE in refused(tmp_path, pdf_bytes(pages=0), "id.pdf")


def test_a_pdf_protected_by_a_password_is_refused(tmp_path):
    pdf = pdf_bytes(user_password="1234", owner_password="owner")
    assert PdfReader(io.BytesIO(pdf)).is_encrypted
    assert PASSWORD in refused(tmp_path, pdf, "id.pdf")


def test_a_pdf_locked_only_against_editing_is_accepted(tmp_path):
    # An owner password alone restricts printing or editing; the PDF opens without one.
    pdf = pdf_bytes(user_password="", owner_password="owner")
    _stored, on_disk = store(tmp_path, pdf, "statement.pdf")
    assert on_disk == pdf


def test_the_pdf_check_prints_nothing_from_the_document(tmp_path, monkeypatch):
    # pypdf logs what it repairs, quoting the file ("Expecting a NameObject for key but found
    # 'NOURA-1084726395'"); a document holds personal data, which must not reach any log.
    pdf = pdf_bytes().replace(b"/Type /Page\n", b"/Type /Page\n(NOURA-1084726395)\n", 1)
    runs, run = [], subprocess.run
    monkeypatch.setattr(
        sandbox.subprocess, "run", lambda *a, **k: runs.append(run(*a, **k)) or runs[-1]
    )
    _stored, on_disk = store(tmp_path, pdf, "id.pdf")
    assert on_disk == pdf
    assert [(r.stdout, r.stderr) for r in runs] == [(b"ok", b"")]


def test_a_pdf_chosen_again_is_not_parsed_again_unless_it_was_stopped(tmp_path, monkeypatch):
    runs, run = [], subprocess.run
    monkeypatch.setattr(sandbox.subprocess, "run", lambda *a, **k: runs.append(1) or run(*a, **k))
    pdf = pdf_bytes(pages=3)
    store(tmp_path, pdf, "a.pdf")
    store(tmp_path, pdf, "b.pdf")
    assert len(runs) == 1
    monkeypatch.setattr(uploads, "PDF_CHECK_SECONDS", 0.001)
    slow = pdf_bytes(pages=4)
    for _ in range(2):
        with pytest.raises(uploads.UploadError):
            uploads.store(FileStorage(io.BytesIO(slow), filename="c.pdf"), tmp_path)
    assert len(runs) == 3


def object_stream_pdf(padding: int) -> bytes:
    """A one-page PDF whose page sits in an object stream that inflates to `padding` spaces.

    Under 1 MB of upload: pypdf reads such padding a byte at a time (about 7 s for 19 MB) and
    keeps each inflated stream in memory.
    """
    out, offsets = io.BytesIO(b"%PDF-1.7\n"), {}
    out.seek(0, io.SEEK_END)

    def put(number: int, body: bytes) -> None:
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))

    put(1, b"<< /Type /Catalog /Pages 2 0 R >>")
    put(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>"
    packed = zlib.compress(b"3 0 " + b" " * padding + page, 9)
    put(
        4,
        b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n%s"
        b"\nendstream" % (padding + 4, len(packed), packed),
    )
    offsets[5] = out.tell()
    rows = [(0, 0, 65535), (1, offsets[1], 0), (1, offsets[2], 0), (2, 4, 0)]
    rows += [(1, offsets[4], 0), (1, offsets[5], 0)]
    table = b"".join(struct.pack(">BIH", *row) for row in rows)
    out.write(
        b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n%s"
        b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % (len(table), table, offsets[5])
    )
    return out.getvalue()


def test_a_pdf_in_an_object_stream_is_read(tmp_path):
    pdf = object_stream_pdf(padding=10)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1  # the test's own check
    _stored, on_disk = store(tmp_path, pdf, "id.pdf")
    assert on_disk == pdf


def test_a_pdf_that_keeps_pypdf_busy_is_refused_in_time(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "PDF_CHECK_SECONDS", 1)
    pdf = object_stream_pdf(padding=19_000_000)
    started = time.monotonic()
    assert UNREADABLE in refused(tmp_path, pdf, "id.pdf")
    assert time.monotonic() - started < 3


def test_a_pdf_that_inflates_past_the_memory_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "PDF_CHECK_MEMORY", 120 * 1024 * 1024)
    pdf = object_stream_pdf(padding=70_000_000)  # pypdf inflates up to 75 MB a stream
    started = time.monotonic()
    assert UNREADABLE in refused(tmp_path, pdf, "id.pdf")
    assert time.monotonic() - started < 3  # not the time limit: the memory one


# ---------------------------------------------------------------- photos


def test_a_jpeg_is_stored_without_exif_gps_xmp_or_comment(tmp_path):
    photo = Image.new("RGB", (64, 48), (200, 120, 40))
    content = image_bytes(
        photo,
        "JPEG",
        exif=exif_with_gps(),
        comment=b"home of the family",
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>Jamoum</x:xmpmeta>",
        quality=95,
    )
    assert Image.open(io.BytesIO(content)).getexif().get_ifd(GPS_IFD)  # the test's own check
    stored, on_disk = store(tmp_path, content, "family.jpg")
    assert stored.content_type == "image/jpeg" and stored.stored_name.endswith(".jpg")
    with Image.open(io.BytesIO(on_disk)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert dict(image.getexif()) == {}
        assert image.getexif().get_ifd(GPS_IFD) == {}
        assert not {"exif", "xmp", "comment", "icc_profile"} & set(image.info)
    assert set(jpeg_markers(on_disk)) <= PLAIN_JPEG_MARKERS
    for secret in (b"Exif", b"PhoneMaker", b"home of the family", b"Jamoum"):
        assert secret not in on_disk


def test_a_jpeg_is_turned_the_right_way_up(tmp_path):
    # Left half red, right half blue, stored on its side (orientation 6: turn 90° clockwise).
    photo = Image.new("RGB", (80, 40), (0, 0, 255))
    photo.paste((255, 0, 0), (0, 0, 40, 40))
    content = image_bytes(photo, "JPEG", exif=exif_with_gps(orientation=6), quality=95)
    _stored, on_disk = store(tmp_path, content, "family.jpg")
    with Image.open(io.BytesIO(on_disk)) as image:
        assert image.size == (40, 80)
        assert ORIENTATION not in image.getexif()
        top, bottom = image.convert("RGB").getpixel((20, 10)), image.getpixel((20, 70))
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]


def test_a_png_is_stored_without_its_text_chunks(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Our home: Al Nuzha district, street 12")
    info.add_itxt("Description", "بيت العائلة", lang="ar")
    content = image_bytes(Image.new("RGB", (30, 20), (10, 200, 10)), "PNG", pnginfo=info)
    assert Image.open(io.BytesIO(content)).text  # the test's own check
    stored, on_disk = store(tmp_path, content, "family.png")
    assert stored.content_type == "image/png" and stored.stored_name.endswith(".png")
    with Image.open(io.BytesIO(on_disk)) as image:
        assert image.size == (30, 20) and image.text == {}
        assert image.getpixel((5, 5)) == (10, 200, 10)
    assert set(png_chunks(on_disk)) <= PLAIN_PNG_CHUNKS
    assert b"Nuzha" not in on_disk


def test_a_png_with_exif_is_stored_without_it(tmp_path):
    content = image_bytes(Image.new("RGB", (30, 20)), "PNG", exif=exif_with_gps())
    assert b"eXIf" in content
    _stored, on_disk = store(tmp_path, content, "family.png")
    assert set(png_chunks(on_disk)) <= PLAIN_PNG_CHUNKS


@pytest.mark.parametrize(
    ("mode", "fmt", "params"),
    [
        ("L", "JPEG", {}),
        ("CMYK", "JPEG", {}),
        ("RGBA", "PNG", {}),
        ("LA", "PNG", {}),
        ("P", "PNG", {"transparency": 0}),
        ("I;16", "PNG", {}),
        ("1", "PNG", {}),
    ],
)
def test_photos_keep_their_mode_and_transparency(tmp_path, mode, fmt, params):
    content = image_bytes(Image.new(mode, (16, 12)), fmt, **params)
    _stored, on_disk = store(tmp_path, content, "photo")
    with Image.open(io.BytesIO(on_disk)) as image:
        assert (image.format, image.mode, image.size) == (fmt, mode, (16, 12))
        assert image.info.get("transparency") == params.get("transparency")


def test_a_plain_png_is_stored_unchanged(tmp_path):
    # Re-encoding a PNG that Pillow wrote without metadata gives the same bytes (the crash
    # bench relies on it to check each stored file's SHA-256 against what it sent).
    content = image_bytes(Image.new("RGB", (8, 8), (1, 2, 3)), "PNG")
    _stored, on_disk = store(tmp_path, content, "family.png")
    assert on_disk == content


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("width", "height"), [(100_000, 100_000), (8_000, 6_000)], ids=["huge", "48-megapixels"]
)
def test_an_image_whose_header_claims_too_many_pixels_is_refused_quickly(tmp_path, width, height):
    started = time.monotonic()
    message = refused(tmp_path, png_claiming(width, height), "family.png")
    assert time.monotonic() - started < 1
    assert TOO_MANY_PIXELS in message


@pytest.mark.parametrize(
    "content",
    [
        b"\xff\xd8\xff\xe0" + b"\0" * 400,
        b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
        image_bytes(Image.new("RGB", (200, 200), (9, 9, 9)), "PNG")[:60],
        image_bytes(Image.radial_gradient("L").convert("RGB"), "JPEG")[:-400],
    ],
    ids=["jpeg-magic-junk", "png-magic-junk", "truncated-png", "truncated-jpeg"],
)
def test_a_damaged_photo_is_refused(tmp_path, content):
    assert UNREADABLE in refused(tmp_path, content, "family.png")


def test_a_photo_that_grows_past_the_limit_when_re_encoded_is_refused(tmp_path, monkeypatch):
    noise = Image.effect_noise((300, 300), 120).convert("RGB")
    content = image_bytes(noise, "JPEG", quality=10)
    monkeypatch.setattr(uploads, "MAX_FILE_BYTES", len(content) + 100)
    assert TOO_BIG in refused(tmp_path, content, "noise.jpg")


def test_unknown_types_and_empty_files_keep_their_messages(tmp_path):
    assert UNKNOWN in refused(tmp_path, b"MZ\x90\x00 not a pdf", "id.pdf")
    assert "empty" in refused(tmp_path, b"", "id.pdf")
    assert TOO_BIG in refused(tmp_path, pdf_bytes() + b"0" * uploads.MAX_FILE_BYTES, "id.pdf")
