"""The case page as staff read it: a decision confirmed before it is made, the history
without the views unless asked, the attestation in words, Arabic words on the Arabic page."""

import io
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from forms_service import clock, previews, queue
from forms_service.facts import facts
from tests.forms.helpers import reference_on, submit_assistance
from tests.staff.conftest import csrf_of
from tests.staff.test_queue_pages import seed


def with_committee(app, db) -> int:
    case_id = seed(app, db, "فاطمة محمد أحمد").submission_id
    for target in ("verifying", "committee"):
        queue.transition(db, case_id, target, actor="officer", role="officer")
    return case_id


def post_move(client, case_id, target, reason="", **extra):
    url = f"/staff/case/{case_id}"
    data = {"csrf_token": csrf_of(client, url), "target": target, "reason": reason, **extra}
    return client.post(f"{url}/transition", data=data)


@pytest.mark.parametrize(("target", "reason"), [("accepted", ""), ("rejected", "الدخل أعلى")])
def test_a_decision_is_confirmed_on_its_own_page_first(app, staff_db, signed_in, target, reason):
    case_id = with_committee(app, staff_db)
    client = signed_in("committee")
    first = post_move(client, case_id, target, reason, expected="committee")
    assert first.status_code == 200
    assert queue.get(staff_db, case_id)["state"] == "committee"
    soup = BeautifulSoup(first.get_data(as_text=True), "html.parser")
    hidden = {
        i["name"]: i.get("value", "") for i in soup.select(".confirm-move input[type=hidden]")
    }
    assert hidden["target"] == target and hidden["confirmed"] == "1"
    assert hidden["reason"] == reason and hidden["expected"] == "committee"
    confirmed = client.post(f"/staff/case/{case_id}/transition", data=hidden)
    assert confirmed.status_code == 302
    assert queue.get(staff_db, case_id)["state"] == target


def test_the_confirmation_pages_language_link_opens_the_case(app, staff_db, signed_in):
    """The confirmation answers a POST: its language link goes to the case in the other
    language (the POST's own address would answer 405)."""
    case_id = with_committee(app, staff_db)
    client = signed_in("committee")
    page = post_move(client, case_id, "accepted", "", expected="committee")
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    link = soup.select_one("a.staff-lang")["href"]
    assert link == f"/en/staff/case/{case_id}"
    other = client.get(link)
    assert other.status_code == 200 and 'lang="en"' in other.get_data(as_text=True)


def test_a_rejection_without_a_reason_asks_for_it_before_any_confirmation(app, staff_db, signed_in):
    case_id = with_committee(app, staff_db)
    response = post_move(signed_in("committee"), case_id, "rejected", expected="committee")
    assert response.status_code == 302  # back to the case, with "Write the reason first."
    assert queue.get(staff_db, case_id)["state"] == "committee"


def test_a_role_that_may_not_decide_gets_no_confirmation_page(app, staff_db, signed_in):
    case_id = with_committee(app, staff_db)
    officer = signed_in("officer")
    assert post_move(officer, case_id, "accepted").status_code == 403
    assert post_move(officer, case_id, "accepted", confirmed="1").status_code == 403
    assert queue.get(staff_db, case_id)["state"] == "committee"


def test_the_history_hides_the_views_unless_asked(app, staff_db, signed_in):
    case_id = seed(app, staff_db, "فاطمة محمد أحمد").submission_id
    client = signed_in("officer")
    for _ in range(3):
        client.get(f"/staff/case/{case_id}")
    queue.add_note(staff_db, case_id, "ملاحظة مهمة", actor="officer")
    soup = BeautifulSoup(client.get(f"/staff/case/{case_id}").get_data(as_text=True), "html.parser")
    lines = [li.get_text(" ", strip=True) for li in soup.select("ol.timeline li")]
    assert not [line for line in lines if "اطّلع على الطلب" in line]  # "Viewed the case"
    assert any("ملاحظة مهمة" in line for line in lines)
    link = soup.select_one(".history-filter a")
    assert "history=all" in link["href"] and "(4)" in link.get_text()
    everything = client.get(f"/staff/case/{case_id}?history=all").get_data(as_text=True)
    all_lines = BeautifulSoup(everything, "html.parser").select("ol.timeline li")
    assert len(all_lines) == len(lines) + 5  # four views before, and this one
    views = [li for li in all_lines if "اطّلع على الطلب" in li.get_text()]
    assert len(views) == 5


def test_the_attestation_in_words_and_the_arabic_page_in_arabic(app, staff_db, signed_in):
    page = submit_assistance(app.test_client(), "ar")
    reference = reference_on(page).replace("-", "")
    case_id = queue.by_reference(staff_db, reference)["id"]
    queue.transition(staff_db, case_id, "verifying", actor="officer", role="officer")
    queue.transition(
        staff_db, case_id, "needs_info", actor="officer", role="officer", reason="أرسلي العقد"
    )
    html = signed_in("officer").get(f"/staff/case/{case_id}").get_data(as_text=True)
    soup = BeautifulSoup(html, "html.parser")
    how = [span.get_text(" ", strip=True) for span in soup.select(".attest__how")]
    row = queue.get(staff_db, case_id)
    when = clock.local_text(row["attestation_at"])
    assert how[0] == f"أكّده إلكترونيًا في {when} باللغة العربية (صيغة 25 نوفمبر 2026)."
    version = facts()["privacy_notice"]["version"]
    assert how[1] == f"وافق في {when} باللغة العربية على إشعار الخصوصية، الإصدار {version}."
    assert "attestation-" not in soup.get_text() and "privacy-" not in soup.get_text()
    main = soup.select_one(".case").get_text(" ", strip=True)
    assert not re.search(r"\bKB\b", main)
    assert not re.search(r"\bapplicant\b", main)


def submitted_case(app, db, lang: str) -> int:
    """A support request sent through the public form (with its three documents): its id."""
    page = submit_assistance(app.test_client(), lang)
    return queue.by_reference(db, reference_on(page).replace("-", ""))["id"]


def views(db, case_id: int, what: str) -> int:
    """The case's recorded views whose detail names `what` (":shown", ":page")."""
    return db.execute(
        "SELECT count(*) FROM events WHERE submission_id = ? AND action = 'view' AND detail LIKE ?",
        [case_id, f"%{what}%"],
    ).fetchone()[0]


def test_documents_are_seen_in_the_page_by_staff_only_and_each_look_is_recorded(
    app, staff_db, signed_in
):
    case_id = submitted_case(app, staff_db, "en")
    client = signed_in("officer")
    soup = BeautifulSoup(client.get(f"/staff/case/{case_id}").get_data(as_text=True), "html.parser")
    images = [i for i in soup.select(".document__preview img") if "/page/" not in i["src"]]
    assert len(images) == 1  # the family record is a PNG (the two PDFs: their first pages)
    assert images[0]["alt"]
    shown = client.get(images[0]["src"])
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "image/png"
    assert "attachment" not in shown.headers.get("Content-Disposition", "")
    assert "sandbox" in shown.headers["Content-Security-Policy"]
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert shown.headers["Cache-Control"] == "no-store"
    pdf_link = next(
        a["href"] for a in soup.select(".document a[target=_blank]") if "img" not in str(a)
    )
    assert client.get(pdf_link).headers["Content-Type"] == "application/pdf"
    looks = views(staff_db, case_id, ":shown")
    assert looks == 2
    # Nobody signed out sees it.
    stranger = app.test_client().get(images[0]["src"])
    assert stranger.status_code == 302 and "/staff/login" in stranger.headers["Location"]


def test_a_pdf_is_previewed_in_the_page_by_its_first_page(app, staff_db, signed_in):
    """Each PDF shows its first page as an image (rendered by PDFium in a limited child, made
    each time, never stored); staff only, each look recorded; a page that is not there, or a
    photo asked for as a PDF page, is 404."""
    case_id = submitted_case(app, staff_db, "ar")
    client = signed_in("officer")
    soup = BeautifulSoup(client.get(f"/staff/case/{case_id}").get_data(as_text=True), "html.parser")
    pages = [i for i in soup.select(".document__preview img") if "/page/" in i["src"]]
    assert len(pages) == 2  # the ID card and the death certificate are PDFs
    assert all(i["alt"].endswith("الصفحة الأولى") for i in pages), [i["alt"] for i in pages]
    first = client.get(pages[0]["src"])
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert Image.open(io.BytesIO(first.data)).size[0] == previews.PREVIEW_WIDTH
    assert "sandbox" in first.headers["Content-Security-Policy"]
    assert first.headers["Cache-Control"] == "no-store"
    looks = views(staff_db, case_id, ":page")
    assert looks == 1
    assert client.get(pages[0]["src"].replace("/page/1.png", "/page/2.png")).status_code == 404
    photo = next(
        d["id"] for d in queue.documents_of(staff_db, case_id) if d["content_type"] == "image/png"
    )
    assert client.get(f"/staff/case/{case_id}/document/{photo}/page/1.png").status_code == 404
    stranger = app.test_client().get(pages[0]["src"])
    assert stranger.status_code == 302 and "/staff/login" in stranger.headers["Location"]
    assert not uploads_changed(app, case_id, staff_db)  # nothing was stored beside the PDFs


def uploads_changed(app, case_id, db) -> bool:
    stored = {d["stored_name"] for d in queue.documents_of(db, case_id)}
    return {p.name for p in Path(app.config["PORTAL_UPLOADS"]).iterdir()} - stored != set()


def test_a_pdf_that_cannot_be_rendered_in_time_is_no_error(app, staff_db, signed_in, monkeypatch):
    """Past the preview's limits (here its time) or unreadable: 404, so the page shows the
    image's words and the PDF can still be opened; never a 500."""
    case_id = submitted_case(app, staff_db, "en")
    pdf = next(
        d for d in queue.documents_of(staff_db, case_id) if d["content_type"] == "application/pdf"
    )
    client = signed_in("officer")
    url = f"/en/staff/case/{case_id}/document/{pdf['id']}/page/1.png"
    monkeypatch.setattr(previews, "PREVIEW_SECONDS", 0.001)
    assert client.get(url).status_code == 404
    monkeypatch.undo()
    (Path(app.config["PORTAL_UPLOADS"]) / pdf["stored_name"]).write_bytes(b"%PDF-1.7 not a pdf")
    assert client.get(url).status_code == 404
