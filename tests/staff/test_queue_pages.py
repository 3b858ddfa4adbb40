"""The queue list, search and case page, as staff use them; hostile data stays inert."""

import datetime as dt
import re

import pytest
from bs4 import BeautifulSoup

from forms_service import clock, dashboard, lifecycle, queue
from tests.forms.helpers import reference_on, submit_assistance
from tests.staff.conftest import csrf_of

HOSTILE = [
    "<script>alert(1)</script> فاطمة محمد أحمد",
    '"><img src=x onerror=alert(1)> سارة علي حسن',
    '=HYPERLINK("http://evil","x") نورة سعد فهد',
    "+cmd|' /C calc'!A0 هند خالد عمر",
    "\u202egnp.exe مريم يوسف صالح",
]


def seed(app, db, name, *, national_id="1000000008", mobile="+966512345678", state="received"):
    with app.test_request_context():
        receipt = queue.submit(
            db,
            kind=lifecycle.Kind.ASSISTANCE,
            lang="ar",
            fields={
                "full_name": name,
                "national_id": national_id,
                "mobile": mobile,
                "description": name,
                "support_type": ["financial"],
            },
            orphans=(
                {
                    "name": "سارة محمد",
                    "birth_date": "2015-03-27",
                    "gender": "female",
                    "school_stage": "primary",
                },
            ),
            answer_days=14,
        )
    if state != "received":
        db.execute("UPDATE submissions SET state = ? WHERE id = ?", [state, receipt.submission_id])
        db.conn.commit()
    return receipt


def search(client, words, kind="assistance"):
    client.post(
        f"/staff/{kind}/", data={"csrf_token": csrf_of(client, f"/staff/{kind}/"), "q": words}
    )
    html = client.get(f"/staff/{kind}/").get_data(as_text=True)
    return re.findall(r"/staff/case/(\d+)", html)


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("فاطِمة أحمد إبراهيم الزهراني", "فاطمه احمد"),
        ("مصطفى عبدالله", "مصطفي"),
        ("آمنة سالم", "امنه"),
        ("أسماء ـــ علي", "اسماء علي"),
    ],
)
def test_name_search_is_arabic_normalised(app, staff_db, signed_in, stored, typed):
    receipt = seed(app, staff_db, stored)
    seed(app, staff_db, "شخص آخر تماما", national_id="2000000006", mobile="+966598765432")
    client = signed_in("officer")
    assert search(client, typed) == [str(receipt.submission_id)]


def test_search_by_reference_id_and_mobile_in_any_writing(app, staff_db, signed_in):
    receipt = seed(app, staff_db, "فاطمة محمد أحمد الزهراني")
    seed(app, staff_db, "شخص آخر", national_id="2000000006", mobile="+966598765432")
    client = signed_in("officer")
    case = str(receipt.submission_id)
    grouped = receipt.reference[:3] + "-" + receipt.reference[3:6] + "-" + receipt.reference[6:]
    # A reference goes straight to its case, from any queue.
    for queue_kind in ("assistance", "volunteer"):
        token = csrf_of(client, f"/staff/{queue_kind}/")
        response = client.post(f"/staff/{queue_kind}/", data={"csrf_token": token, "q": grouped})
        assert response.headers["Location"] == f"/staff/case/{case}"
    assert search(client, "١٠٠٠٠٠٠٠٠٨") == [case]
    assert search(client, "٠٥١ ٢٣٤ ٥٦٧٨") == [case]
    assert search(client, "+966 51 234 5678") == [case]


def test_a_search_finds_the_request_whatever_its_kind(app, staff_db, signed_in):
    with app.test_request_context():
        volunteer = queue.submit(
            staff_db,
            kind=lifecycle.Kind.VOLUNTEER,
            lang="ar",
            fields={"full_name": "خالد عبدالله", "mobile": "+966501112222"},
        )
    client = signed_in("officer")
    # Typed into the support requests (where /staff/ opens): none there, the volunteer found.
    assert search(client, "0501112222") == []
    page = BeautifulSoup(client.get("/staff/assistance/").get_data(as_text=True), "html.parser")
    link = page.select_one(".elsewhere a")
    assert link["href"] == "/staff/volunteer/" and "(1)" in link.get_text()
    volunteers = client.get(link["href"]).get_data(as_text=True)
    assert re.findall(r"/staff/case/(\d+)", volunteers) == [str(volunteer.submission_id)]
    # Its reference, typed in the support requests' search, opens its case.
    token = csrf_of(client, "/staff/assistance/")
    response = client.post(
        "/staff/assistance/", data={"csrf_token": token, "q": volunteer.reference.lower()}
    )
    assert response.headers["Location"] == f"/staff/case/{volunteer.submission_id}"
    # Clearing clears the search everywhere.
    token = csrf_of(client, "/staff/volunteer/")
    client.post("/staff/volunteer/", data={"csrf_token": token, "clear": "1"})
    assert "0501112222" not in client.get("/staff/assistance/").get_data(as_text=True)


def test_search_words_never_go_in_the_url(app, staff_db, signed_in):
    seed(app, staff_db, "فاطمة")
    client = signed_in("officer")
    response = client.post(
        "/staff/assistance/",
        data={
            "csrf_token": csrf_of(client, "/staff/assistance/"),
            "q": "1000000008",
            "state": "received",
        },
    )
    assert "1000000008" not in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1000000008" not in "".join(re.findall(r'href="([^"]+)"', page))


def test_filters_counts_and_oldest_first(app, staff_db, signed_in):
    ids = [
        seed(app, staff_db, f"اسم رقم {i} للاختبار", national_id="2000000006").submission_id
        for i in range(3)
    ]
    staff_db.execute(
        "UPDATE submissions SET created_at = '2020-01-01T00:00:00Z' WHERE id = ?", [ids[2]]
    )
    staff_db.execute("UPDATE submissions SET state = 'verifying' WHERE id = ?", [ids[1]])
    staff_db.conn.commit()
    client = signed_in("officer")
    html = client.get("/staff/assistance/").get_data(as_text=True)
    assert re.findall(r"/staff/case/(\d+)", html)[0] == str(ids[2])  # oldest first
    late = client.get("/staff/assistance/?overdue=1").get_data(as_text=True)
    assert re.findall(r"/staff/case/(\d+)", late) == [str(ids[2])]
    verifying = client.get("/staff/assistance/?state=verifying").get_data(as_text=True)
    assert re.findall(r"/staff/case/(\d+)", verifying) == [str(ids[1])]
    soup = BeautifulSoup(html, "html.parser")
    tabs = [a.get_text(" ", strip=True) for a in soup.select(".state-tabs a")]
    assert any(t.endswith(" 2") for t in tabs) and any(t.endswith(" 1") for t in tabs)


def test_case_page_shows_everything_and_records_the_view(app, staff_db, signed_in):
    client = signed_in("officer")
    public = app.test_client()
    reference = reference_on(submit_assistance(public, "ar")).replace("-", "")
    case_id = staff_db.execute(
        "SELECT id FROM submissions WHERE reference = ?", [reference]
    ).fetchone()[0]
    html = client.get(f"/staff/case/{case_id}").get_data(as_text=True)
    text = BeautifulSoup(html, "html.parser").select_one("article").get_text(" ", strip=True)
    for expected in (
        "فاطمة محمد أحمد الزهراني",
        "1000000008",
        "051 234 5678",
        "سارة محمد أحمد",
        "عمر محمد أحمد",
        "هـ",
        "الضمان الاجتماعي",
    ):
        assert expected in text, expected
    views = staff_db.execute(
        "SELECT actor FROM events WHERE action = 'view' AND submission_id = ?", [case_id]
    ).fetchall()
    assert views == [("officer",)]
    # Documents: staff only, as attachments, recorded.
    link = re.search(rf'href="(/staff/case/{case_id}/document/\d+)"', html).group(1)
    response = client.get(link)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert public.get(link).status_code == 302


def test_possible_duplicates(app, staff_db, signed_in):
    first = seed(app, staff_db, "فاطمة محمد")
    second = seed(app, staff_db, "اسم مختلف", national_id="2000000006", mobile="+966598765432")
    client = signed_in("officer")
    html = client.get(f"/staff/case/{first.submission_id}").get_data(as_text=True)
    panel = BeautifulSoup(html, "html.parser").select_one("[aria-labelledby=duplicates-title]")
    assert second.reference[:3] in panel.get_text()  # same orphan name and birth date


@pytest.mark.parametrize("lang", ["", "/en"])
def test_hostile_data_is_inert_on_staff_pages(app, staff_db, signed_in, lang):
    ids = [seed(app, staff_db, name).submission_id for name in HOSTILE]
    client = signed_in("officer")
    pages = (
        [f"{lang}/staff/assistance/"]
        + [f"{lang}/staff/case/{i}" for i in ids]
        + [f"{lang}/staff/case/{ids[0]}/print"]
    )
    for url in pages:
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in html and "onerror=alert(1)>" not in html, url
        soup = BeautifulSoup(html, "html.parser")
        assert not soup.select("img[onerror]")
        assert all("alert(1)" not in (s.string or "") for s in soup.select("script"))


def test_full_life_of_a_request_with_the_applicant_watching(app, staff_db, signed_in):
    public = app.test_client()
    reference = reference_on(submit_assistance(public, "en"))
    case_id = staff_db.execute(
        "SELECT id FROM submissions WHERE reference = ?", [reference.replace("-", "")]
    ).fetchone()[0]
    officer, researcher, committee = (
        signed_in("officer"),
        signed_in("researcher"),
        signed_in("committee"),
    )

    def move(client, target, reason=""):
        url = f"/staff/case/{case_id}"
        state = queue.get(staff_db, case_id)["state"]
        data = {
            "csrf_token": csrf_of(client, url),
            "target": target,
            "expected": state,
            "reason": reason,
        }
        response = client.post(f"{url}/transition", data=data)
        if target in ("accepted", "rejected"):  # a decision is confirmed on its own page
            assert response.status_code == 200
            assert queue.get(staff_db, case_id)["state"] == state  # not yet
            assert 'name="confirmed" value="1"' in response.get_data(as_text=True)
            response = client.post(f"{url}/transition", data={**data, "confirmed": "1"})
        assert response.status_code == 302
        assert queue.get(staff_db, case_id)["state"] == target

    def applicant_sees():
        from tests.forms.helpers import get_form

        public.post(
            "/en/forms/status/",
            data={
                **get_form(public, "/en/forms/status/"),
                "reference": reference,
                "mobile": "0512345678",
            },
        )
        return (
            BeautifulSoup(public.get("/en/forms/status/").get_data(as_text=True), "html.parser")
            .select_one(".status-result")
            .get_text(" ", strip=True)
        )

    move(officer, "verifying")
    assert "Being reviewed" in applicant_sees()
    move(officer, "needs_info", "Please send the lease contract.")
    assert "More information needed" in applicant_sees() and "lease contract" in applicant_sees()
    move(officer, "verifying")
    move(officer, "social_research")
    move(researcher, "committee")
    assert "With the research committee" in applicant_sees()
    move(committee, "accepted")
    assert "Accepted" in applicant_sees()
    move(officer, "registered")
    move(officer, "served")
    assert "Service provided" in applicant_sees()
    moves = staff_db.execute(
        "SELECT actor, to_state FROM events WHERE action = 'transition' AND submission_id = ?"
        " ORDER BY id",
        [case_id],
    ).fetchall()
    assert [m[1] for m in moves] == [
        "verifying",
        "needs_info",
        "verifying",
        "social_research",
        "committee",
        "accepted",
        "registered",
        "served",
    ]
    assert moves[4][0] == "researcher" and moves[5][0] == "committee"


def test_staff_entry_records_the_channel(app, staff_db, signed_in):
    client = signed_in("officer")
    page = client.get("/staff/entry").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    from tests.forms.helpers import assistance_data

    data = {
        **assistance_data(national_id="1000000009"),
        "csrf_token": token,
        "channel": "phone",
        "attested_on_paper": "y",
        "action": "save",
        "form_key": "k1",
    }
    refused = client.post("/staff/entry", data=data)
    assert refused.status_code == 400  # the check digit fails and no reason is given
    response = client.post(
        "/staff/entry", data={**data, "id_override_reason": "Copied from the card twice"}
    )
    assert response.status_code == 302
    row = next(staff_db["submissions"].rows_where("channel = 'phone'"))
    assert row["national_id"] == "1000000009" and row["attestation_version"].startswith(
        "attestation-on-paper"
    )
    event = staff_db.execute(
        "SELECT actor FROM events WHERE action = 'submitted' AND submission_id = ?", [row["id"]]
    ).fetchone()
    assert event == ("officer",)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_late_is_one_rule_for_the_filter_the_badge_the_case_and_the_dashboard(
    app, staff_db, signed_in, lang
):
    """Received at the first second of the Riyadh day 14 days ago: 14 days waited, not late;
    one second earlier: 15 days, late. The filter, the list's badge, the case page and the
    dashboard agree on both (the filter once counted 14 × 24 hours from now)."""
    cutoff = clock.late_before(app.config["PORTAL_ANSWER_DAYS"])
    on_time = seed(app, staff_db, "في الموعد").submission_id
    late = seed(app, staff_db, "متأخر").submission_id
    earlier = clock.iso(clock.parse(cutoff) - dt.timedelta(seconds=1))
    for case_id, moment in ((on_time, cutoff), (late, earlier)):
        staff_db.execute("UPDATE submissions SET created_at = ? WHERE id = ?", [moment, case_id])
    staff_db.conn.commit()
    client, prefix = signed_in("officer"), "/en" if lang == "en" else ""
    late_word = "late" if lang == "en" else "متأخر"

    def badged(html: str) -> set[int]:
        soup = BeautifulSoup(html, "html.parser")
        return {
            int(re.search(r"/staff/case/(\d+)", str(row)).group(1))
            for row in soup.select("tbody tr")
            if row.select_one(".badge") and late_word in row.select_one(".badge").get_text()
        }

    listing_html = client.get(f"{prefix}/staff/assistance/").get_data(as_text=True)
    filtered = client.get(f"{prefix}/staff/assistance/?overdue=1").get_data(as_text=True)
    assert badged(listing_html) == {late}
    assert {int(i) for i in re.findall(r"/staff/case/(\d+)", filtered)} == {late}
    for case_id, days, is_late in ((on_time, 14, False), (late, 15, True)):
        page = BeautifulSoup(
            client.get(f"{prefix}/staff/case/{case_id}").get_data(as_text=True), "html.parser"
        )
        waiting = page.find("dt", string=re.compile("Days waiting|أيام الانتظار")).parent
        assert waiting.select_one("dd bdi").get_text() == str(days)
        assert bool(waiting.select_one(".badge")) is is_late
    overdue = dashboard.stats(staff_db)["overdue"]
    assert overdue["count"] == 1 and [r["id"] for r in overdue["oldest"]] == [late]
    assert overdue["oldest"][0]["days"] == 15
