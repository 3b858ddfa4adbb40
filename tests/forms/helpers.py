"""Filling the public forms as a browser would: hidden fields read from the page first."""

import io
import re
import shutil
import subprocess

from bs4 import BeautifulSoup
from PIL import Image
from pypdf import PdfWriter


def _blank_pdf() -> bytes:
    """A real one-page A4 PDF: uploads are parsed by pypdf, a look-alike is refused."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _small_png() -> bytes:
    """A real 8×8 PNG. Pillow wrote it without metadata, so uploads store it byte for byte."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 200, 200)).save(out, "PNG")
    return out.getvalue()


PDF = _blank_pdf()
PNG = _small_png()
VALID_ID = "1000000008"  # Luhn-valid, starts with 1
VALID_IQAMA = "2000000006"


def prefix(lang: str) -> str:
    return "/en" if lang == "en" else ""


def hidden_fields(html: str) -> dict:
    soup = BeautifulSoup(html, "html.parser")
    return {
        i["name"]: i.get("value", "")
        for i in soup.select("form.portal-form input[type=hidden]")
        if i.get("name")
    }


def get_form(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, url
    return hidden_fields(response.get_data(as_text=True))


def assistance_data(**changes) -> dict:
    data = {
        "full_name": "فاطمة محمد أحمد الزهراني",
        "national_id": "١٠٠ ٠٠٠ ٠٠٠٨",
        "birth_date": "1985-04-02",
        "nationality": "saudi",
        "mobile": "٠٥١ ٢٣٤ ٥٦٧٨",
        "email": "fatima@example.com",
        "city": "الجموم",
        "district": "حي النزهة",
        "marital_status": "widowed",
        "relation_to_orphans": "mother",
        "family_size": "٤",
        "orphans-0-name": "سارة محمد أحمد",
        "orphans-0-birth_date": "2015-03-27",
        "orphans-0-gender": "female",
        "orphans-0-school_stage": "primary",
        "orphans-1-name": "عمر محمد أحمد",
        "orphans-1-birth_date": "2018-09-01",
        "orphans-1-gender": "male",
        "orphans-1-school_stage": "kindergarten",
        "monthly_income": "٢٥٠٠",
        "income_sources": ["social_security", "alimony"],
        "housing": "rented",
        "support_type": ["financial", "education"],
        "description": "نحتاج دعمًا لتعليم الأطفال.",
        "action": "continue",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def volunteer_data(**changes) -> dict:
    data = {
        "full_name": "خالد عبدالله",
        "gender": "male",
        "birth_date": "1995-01-15",
        "mobile": "+٩٦٦٥٠٠٠٠٠٠٠٠",
        "email": "khalid@example.com",
        "city": "الجموم",
        "education": "bachelor",
        "skills": ["teaching", "it"],
        "interests": "تعليم الأطفال",
        "availability-days": ["sat", "mon"],
        "availability-times": ["evening"],
        "hours_per_week": "٦",
        "experience": "",
        "national_volunteer_id": "",
        "consent": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def feedback_data(**changes) -> dict:
    data = {
        "reference": "",
        "channel": "website",
        "rating_courtesy": "5",
        "rating_clarity": "4",
        "rating_speed": "3",
        "rating_overall": "4",
        "comments": "شكرًا",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def documents(**overrides):
    files = {
        "documents-id_card": (io.BytesIO(PDF), "هوية.pdf"),
        "documents-death_certificate": (io.BytesIO(PDF), "death.pdf"),
        "documents-family_record": (io.BytesIO(PNG), "family.png"),
    }
    files.update(overrides)
    return {k: v for k, v in files.items() if v is not None}


def submit_assistance(client, lang="ar", data=None, files=None, seen=None):
    """The whole support request: form → check your answers → confirmation. Returns the page.

    `seen` (a dict), if given, receives the words the check page showed beside the
    attestation and the consent boxes."""
    base = prefix(lang) + "/forms/assistance/"
    fields = get_form(client, base)
    payload = {**fields, **(data or assistance_data()), **(documents() if files is None else files)}
    response = client.post(base, data=payload, content_type="multipart/form-data")
    assert response.status_code == 302, errors_in(response)
    check = client.get(base + "check")
    assert check.status_code == 200
    if seen is not None:
        soup = BeautifulSoup(check.get_data(as_text=True), "html.parser")
        for name in ("attestation", "consent"):
            seen[name] = soup.select_one(f"label[for={name}]").get_text(" ", strip=True)
    confirm = {**hidden_fields(check.get_data(as_text=True)), "attestation": "y", "consent": "y"}
    response = client.post(base + "check", data=confirm)
    assert response.status_code == 302, errors_in(response)
    return client.get(response.headers["Location"])


def reference_on(page) -> str:
    match = re.search(r'class="reference"><bdi[^>]*>([A-Z0-9-]+)<', page.get_data(as_text=True))
    assert match, "no reference on the page"
    return match.group(1)


def errors_in(response) -> list[str]:
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return [p.get_text(" ", strip=True) for p in soup.select(".field__error")]


def summary_links(response) -> list[tuple[str, str]]:
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    return [(a["href"], a.get_text(strip=True)) for a in soup.select(".error-summary a")]


def self_signed_certificate(folder) -> tuple[str, str]:
    """A self-signed certificate for `localhost` only (not 127.0.0.1): (cert.pem, key.pem)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("openssl is needed to make the test certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return str(cert), str(key)
