"""Stored text is isolated on every page that shows it, in both languages.

An Arabic name with digits and brackets on an English page (or a Latin one on an Arabic
page) must not take the page's direction: without isolation «فاطمة (أم علي) 12» shows
with its brackets turned and its number on the wrong side. Each text below is typed
through the real forms and routes, then every page that shows it is rendered in both
languages and each text node holding one of them must sit in an element that isolates
exactly that text: a <bdi>, or an element with a dir attribute (auto, or the text's own
direction); in a form field, the field carries dir. Attribute values are not text."""

import datetime as dt
import io
import re

import pytest
from bs4 import BeautifulSoup, Comment

from forms_service import queue
from tests.forms.helpers import (
    PDF,
    assistance_data,
    documents,
    errors_in,
    feedback_data,
    get_form,
    hidden_fields,
    reference_on,
    volunteer_data,
)
from tests.staff.conftest import PASSWORD, csrf_of
from tests.staff.test_meetings import decide, post_form

# Typed on the Arabic forms (and by staff): Latin text that Arabic pages show.
LATIN = {
    "name": "Sara Ali (Jr.) Hassan 12",
    "city": "Jamoum (North) 3",
    "district": "Al-Nuzha [block 4]",
    "orphan1": "Omar Hassan (elder) 9",
    "orphan2": "Lina Hassan [twin] 2015",
    "description": "We need help (urgent) since 2026-11-30.",
    "id_file": "ID card (front) 1.pdf",
    "message": "Please send the lease (page 2) by 2026-12-15.",
    "reply_file": "Lease (signed) 2.pdf",
    "reply": "Here it is (signed) on 2026-12-02.",
    "note": "Called her (twice) on 2026-12-03.",
    "message2": "Thanks (received) 2026-12-04.",
    "confirm_reason": "Income too high (5000 SAR) in 2026.",
    "meeting_reason": "Over the limit (7000) since 2025.",
    "member": "Dr. Adam (guest) 1",
    "correction": "Member name fixed (Adam) on 2026-12-10.",
    "volunteer": "Khalid (K.) 7",
    "volunteer_city": "Taif (west) 2",
    "interests": "Teaching (math) 2 days",
    "experience": "Red Crescent (2019-2021)",
    "comments": "Great (really) 10/10",
    "search": "Sara Ali (Jr.)",
    "username": "sara-jr.2026",  # user names are Latin only
}

# Typed on the English forms (and by staff): Arabic text that English pages show.
ARABIC = {
    "name": "فاطمة محمد (أم علي) الزهراني 12",
    "city": "الجموم (الشمالية) 3",
    "district": "حي النزهة [4]",
    "orphan1": "سارة محمد (الصغرى) 7",
    "orphan2": "عمر محمد [التوأم] 2015",
    "description": "نحتاج دعما (عاجلا) منذ 2026-11-30.",
    "id_file": "هوية (وجه) 1.pdf",
    "message": "أرسلي العقد (صفحة 2) قبل 2026-12-15.",
    "reply_file": "عقد (موقع) 2.pdf",
    "reply": "هذا هو العقد (موقع) في 2026-12-02.",
    "note": "اتصلت بها (مرتين) في 2026-12-03.",
    "message2": "شكرا (وصلت) 2026-12-04.",
    "confirm_reason": "الدخل أعلى (5000 ريال) في 2026.",
    "meeting_reason": "تجاوز الحد (7000) منذ 2025.",
    "member": "د. أحمد (ضيف) 1",
    "correction": "تصحيح اسم العضو (أحمد) في 2026-12-10.",
    "volunteer": "خالد (أبو سعد) 7",
    "volunteer_city": "الطائف (غرب) 2",
    "interests": "تعليم (رياضيات) يومين 2",
    "experience": "الهلال الأحمر (2019-2021)",
    "comments": "ممتاز (حقا) 10/10",
    "search": "فاطمة محمد (أم علي)",
}

# Each set of texts is typed on the forms of the other language.
TYPED_IN = {"latin": "ar", "arabic": "en"}
TEXTS = {"latin": LATIN, "arabic": ARABIC}
PREFIX = {"ar": "", "en": "/en"}
ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")
NOT_SHOWN = ("script", "style", "template")
FIELDS_WITHOUT_TEXT = {"hidden", "submit", "button", "reset", "image", "checkbox", "radio"}


def direction(text: str) -> str:
    return "rtl" if ARABIC_LETTER.search(text) else "ltr"


# ---------------------------------------------------------------- the check


def _isolating(element) -> bool:
    return element.name == "bdi" or element.has_attr("dir")


def _around(node, width=500) -> str:
    """The HTML around a text node: its parent's parent."""
    parent = node.parent
    if parent.parent is not None and parent.parent.name not in ("[document]", "html", "body"):
        parent = parent.parent
    html = str(parent)
    return html if len(html) <= width else html[:width] + "…"


def unisolated(html: str, markers: dict[str, str]) -> tuple[list[str], set[str]]:
    """(what is wrong, one line each; the names of the markers found) for one page."""
    soup = BeautifulSoup(html, "html.parser")
    problems, found = [], set()
    for node in soup.find_all(string=True):
        if isinstance(node, Comment) or node.parent.name in NOT_SHOWN:
            continue
        for name, marker in markers.items():
            if marker not in node:
                continue
            found.add(name)
            wrong = _node_problem(node, marker, markers.values())
            if wrong:
                problems.append(f"{name} {marker!r}: {wrong}\n    {_around(node)}")
    for field in soup.find_all("input"):
        if field.get("type", "text") not in FIELDS_WITHOUT_TEXT:
            _check_field(field, markers, problems, found)
    return problems, found


def _check_field(field, markers, problems, found):
    """A text field's value (an attribute): the field must carry dir."""
    for name, marker in markers.items():
        if marker in field.get("value", ""):
            found.add(name)
            if field.get("dir", "").lower() not in ("auto", direction(marker)):
                problems.append(f"{name} {marker!r}: a field without dir\n    {field}")


def _node_problem(node, marker, markers) -> str | None:
    if node.parent.name == "title":
        return "in the <title>, which cannot isolate it"
    for element in node.parents:
        if element.name in ("html", "[document]"):
            return "not isolated"
        if element.name == "option":
            # A list's choices (user names to assign to): a field, shown as the browser
            # draws it; an <option> holds text only, no <bdi>.
            return None
        if element.name == "textarea":
            wanted = ("auto", direction(marker))
            return None if element.get("dir", "").lower() in wanted else "a field without dir"
        if _isolating(element):
            given = element.get("dir", "auto").lower()
            if given not in ("auto", direction(marker)):
                return f"isolated as dir={given}"
            rest = element.get_text()
            for text in sorted(markers, key=len, reverse=True):  # a marker inside another
                rest = rest.replace(text, "")
            if any(c.isalpha() for c in rest):
                return f"isolated together with other words in <{element.name}>"
            return None
    return "not isolated"


def test_the_check_finds_text_that_is_not_isolated():
    markers = {"name": ARABIC["name"]}
    good = [
        f"<p>Name: <bdi>{ARABIC['name']}</bdi>.</p>",
        f'<p dir="auto">{ARABIC["name"]}</p>',
        f'<td dir="rtl">{ARABIC["name"]}</td>',
        f'<textarea dir="auto">{ARABIC["name"]}</textarea>',
        f'<input type="text" dir="auto" value="{ARABIC["name"]}">',
        f'<input type="hidden" value="{ARABIC["name"]}">',
        f'<p title="{ARABIC["name"]}">x</p>',
    ]
    for html in good:
        assert unisolated(html, markers)[0] == [], html
    bad = {
        f"<p>Name: {ARABIC['name']}.</p>": "not isolated",
        f'<p>Name: <bdi dir="ltr">{ARABIC["name"]}</bdi></p>': "dir=ltr",
        f'<p dir="auto">Name: {ARABIC["name"]}</p>': "together with other words",
        f"<textarea>{ARABIC['name']}</textarea>": "a field without dir",
        f'<input type="text" value="{ARABIC["name"]}">': "a field without dir",
    }
    for html, why in bad.items():
        problems, found = unisolated(html, markers)
        assert found == {"name"} and len(problems) == 1 and why in problems[0], html


# ---------------------------------------------------------------- the texts, typed


def submit_assistance(client, lang, t, pages):
    """The support request with `t`'s texts, on the `lang` form; check-your-answers and the
    confirmation in both languages go to `pages`. Returns the reference."""
    base = PREFIX[lang] + "/forms/assistance/"
    data = assistance_data(
        full_name=t["name"],
        city=t["city"],
        district=t["district"],
        description=t["description"],
        **{"orphans-0-name": t["orphan1"], "orphans-1-name": t["orphan2"]},
    )
    files = documents(**{"documents-id_card": (io.BytesIO(PDF), t["id_file"])})
    response = client.post(base, data={**get_form(client, base), **data, **files})
    assert response.status_code == 302, errors_in(response)
    for page_lang, prefix in PREFIX.items():
        check = client.get(f"{prefix}/forms/assistance/check")
        assert check.status_code == 200
        pages[f"check-your-answers ({lang} form) [{page_lang}]"] = check.get_data(as_text=True)
    check = client.get(base + "check").get_data(as_text=True)
    confirm = {**hidden_fields(check), "attestation": "y", "consent": "y"}
    response = client.post(base + "check", data=confirm)
    assert response.status_code == 302, errors_in(response)
    for page_lang, prefix in PREFIX.items():
        done = client.get(f"{prefix}/forms/assistance/done")
        assert done.status_code == 200
        pages[f"confirmation ({lang} form) [{page_lang}]"] = done.get_data(as_text=True)
    return reference_on(done).replace("-", "")


def submit_simple(client, lang, kind, data):
    url = f"{PREFIX[lang]}/forms/{kind}/"
    response = client.post(url, data={**get_form(client, url), **data})
    assert response.status_code == 302, errors_in(response)


def look_up(client, reference, lang):
    url = PREFIX[lang] + "/forms/status/"
    data = {**get_form(client, url), "reference": reference, "mobile": "0512345678"}
    response = client.post(url, data=data)
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def post_answer(client, data, files):
    page = client.get("/forms/status/answer").get_data(as_text=True)
    return client.post(
        "/forms/status/answer",
        data={**hidden_fields(page), "action": "answer", **data, **files},
        content_type="multipart/form-data",
    )


def shown(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def post_case(client, case_id, what, **data):
    url = f"/staff/case/{case_id}"
    response = client.post(f"{url}/{what}", data={"csrf_token": csrf_of(client, url), **data})
    assert response.status_code == 302, (what, response.status_code)


@pytest.fixture
def world(app, staff_db, signed_in):
    """Every kind of stored text in both writings, typed through the routes; returns
    (the pages rendered by the way, the cases, the meeting, the staff clients)."""
    officer, committee, admin = (signed_in(r) for r in ("officer", "committee", "admin"))
    pages, cases = {}, {}

    # A committee member whose user name the pages show.
    response = admin.post(
        "/staff/users",
        data={
            "csrf_token": csrf_of(admin, "/staff/users"),
            "username": LATIN["username"],
            "role": "committee",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302

    for writing, t in TEXTS.items():
        lang = TYPED_IN[writing]
        applicant = app.test_client()
        reference = submit_assistance(applicant, lang, t, pages)
        case_id = cases[writing] = queue.by_reference(staff_db, reference)["id"]
        submit_simple(
            app.test_client(),
            lang,
            "volunteer",
            volunteer_data(
                full_name=t["volunteer"],
                city=t["volunteer_city"],
                interests=t["interests"],
                experience=t["experience"],
            ),
        )
        submit_simple(app.test_client(), lang, "feedback", feedback_data(comments=t["comments"]))

        # More information needed: the message, then the applicant's documents and reply.
        post_case(officer, case_id, "transition", target="verifying")
        post_case(
            officer,
            case_id,
            "transition",
            target="needs_info",
            reason=t["message"],
            missing=["income_proof", "lease"],
        )
        for page_lang in PREFIX:
            pages[f"status, needs info ({writing}) [{page_lang}]"] = look_up(
                applicant, reference, page_lang
            )
        refused = post_answer(
            applicant,
            {},
            {
                "documents-lease": (io.BytesIO(PDF), t["reply_file"]),
                "documents-income_proof": (io.BytesIO(b"not a file"), "x.png"),
            },
        )
        assert refused.status_code == 400
        for page_lang, prefix in PREFIX.items():
            answer = applicant.get(f"{prefix}/forms/status/answer")
            assert answer.status_code == 200
            pages[f"answer ({writing}) [{page_lang}]"] = answer.get_data(as_text=True)
        sent = post_answer(
            applicant,
            {"reply": t["reply"]},
            {"documents-income_proof": (io.BytesIO(PDF), "income.pdf")},
        )
        assert sent.status_code == 302, errors_in(sent)

        post_case(officer, case_id, "note", text=t["note"])
        post_case(officer, case_id, "message", text=t["message2"])
        post_case(admin, case_id, "assign", username=LATIN["username"])
        for page_lang in PREFIX:
            pages[f"status, message ({writing}) [{page_lang}]"] = look_up(
                applicant, reference, page_lang
            )
        post_case(officer, case_id, "transition", target="committee")

        # A rejection is confirmed on its own page first (not confirmed here).
        for page_lang, prefix in PREFIX.items():
            url = f"{prefix}/staff/case/{case_id}"
            confirm = committee.post(
                f"{url}/transition",
                data={
                    "csrf_token": csrf_of(committee, url),
                    "target": "rejected",
                    "reason": t["confirm_reason"],
                    "expected": "committee",
                },
            )
            assert confirm.status_code == 200
            pages[f"confirm move ({writing}) [{page_lang}]"] = confirm.get_data(as_text=True)

    # The meeting: members without an account, the Arabic case still a candidate, then
    # both rejected with a reason, closed, and corrected.
    response = post_form(
        committee,
        "/staff/meetings",
        "/staff/meetings/new",
        held_on=dt.date.today().isoformat(),
        members=["committee", LATIN["username"]],
        names=f"{ARABIC['member']}\n{LATIN['member']}",
    )
    assert response.status_code == 302
    meeting_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = f"/staff/meeting/{meeting_id}"
    added = post_form(committee, page, f"{page}/agenda", cases=[str(cases["latin"])])
    assert added.status_code == 302
    for page_lang, prefix in PREFIX.items():
        pages[f"meeting, a candidate [{page_lang}]"] = shown(committee, f"{prefix}{page}")
    added = post_form(committee, page, f"{page}/agenda", cases=[str(cases["arabic"])])
    assert added.status_code == 302
    for writing, t in TEXTS.items():
        decided = decide(committee, meeting_id, cases[writing], "rejected", t["meeting_reason"])
        assert decided.status_code == 302
    for page_lang, prefix in PREFIX.items():
        pages[f"meeting, decided [{page_lang}]"] = shown(committee, f"{prefix}{page}")
        pages[f"agenda pack [{page_lang}]"] = shown(committee, f"{prefix}{page}/pack")
    assert post_form(committee, page, f"{page}/close").status_code == 302
    for t in TEXTS.values():
        response = post_form(
            committee, f"{page}/minutes", f"{page}/correction", text=t["correction"]
        )
        assert response.status_code == 302
    return pages, cases, meeting_id, {"officer": officer, "committee": committee, "admin": admin}


def other_cases(db, kind) -> list[int]:
    return [r[0] for r in db.execute("SELECT id FROM submissions WHERE kind = ?", [kind])]


# What each page must show at least (the check must not pass on a page that shows nothing).
SUBMITTED = {"name", "city", "district", "orphan1", "orphan2", "description"}
CASE_TEXTS = {
    "name", "city", "district", "orphan1", "orphan2", "description", "id_file", "reply_file",
    "reply", "note", "message2", "message", "meeting_reason", "username", "attestation", "consent",
}  # fmt: skip
EXPECTED = {
    "check-your-answers": SUBMITTED | {"id_file"},
    "confirmation": {"name"},
    "status, needs info": {"message"},
    "status, message": {"message2"},
    "answer": {"message", "reply_file"},
    "confirm move": {"name", "confirm_reason"},
    "meeting, a candidate": {"name", "city", "member", "username"},
    "meeting, decided": {"name", "city", "member", "meeting_reason", "username"},
    "agenda pack": SUBMITTED,
    "minutes": {"member", "meeting_reason", "correction", "username"},
    "meetings": {"username"},
    "support requests": {"name", "username"},
    "search": {"name", "search"},
    "volunteers": {"volunteer"},
    "case": CASE_TEXTS,
    "case, whole history": CASE_TEXTS,
    "case sheet": SUBMITTED,
    "volunteer": {"volunteer", "volunteer_city", "interests", "experience"},
    "feedback": {"comments"},
    "users": {"username"},
}


def staff_pages(db, cases, meeting_id, clients) -> dict[str, str]:
    """The back office's pages that show stored text, in both languages."""
    officer, committee, admin = clients["officer"], clients["committee"], clients["admin"]
    pages = {}
    for lang, prefix in PREFIX.items():
        staff = f"{prefix}/staff"
        urls = {
            "minutes": (committee, f"{staff}/meeting/{meeting_id}/minutes"),
            "meetings": (committee, f"{staff}/meetings"),
            "support requests": (officer, f"{staff}/assistance/"),
            "volunteers": (officer, f"{staff}/volunteer/"),
            "feedbacks": (officer, f"{staff}/feedback/"),
            "dashboard": (officer, f"{staff}/dashboard"),
            "users": (admin, f"{staff}/users"),
        }
        for writing, case_id in cases.items():
            case = f"{staff}/case/{case_id}"
            urls[f"case ({writing})"] = (officer, case)
            urls[f"case, whole history ({writing})"] = (officer, f"{case}?history=all")
            urls[f"case sheet ({writing})"] = (officer, f"{case}/print")
        for kind in ("volunteer", "feedback"):
            for case_id in other_cases(db, kind):
                urls[f"{kind} {case_id}"] = (officer, f"{staff}/case/{case_id}")
        for name, (client, url) in urls.items():
            pages[f"{name} [{lang}]"] = shown(client, url)
    # The search words, echoed back in the search box.
    for writing, t in TEXTS.items():
        url = "/staff/assistance/"
        searched = officer.post(url, data={"csrf_token": csrf_of(officer, url), "q": t["search"]})
        assert searched.status_code == 302
        for lang, prefix in PREFIX.items():
            pages[f"search ({writing}) [{lang}]"] = shown(officer, f"{prefix}{url}")
    return pages


def test_every_stored_text_is_isolated_on_every_page_in_both_languages(staff_db, world):
    pages, cases, meeting_id, clients = world
    pages.update(staff_pages(staff_db, cases, meeting_id, clients))
    attested = {}
    for writing, case_id in cases.items():
        row = queue.get(staff_db, case_id)
        attested[writing] = {"attestation": row["attestation_text"], "consent": row["consent_text"]}

    problems, seen = [], set()
    for page, html in pages.items():
        assert html.lstrip().lower().startswith("<!doctype html"), page
        staff_page = not page.startswith(("check-your", "confirmation", "status", "answer"))
        found_here = set()
        for writing, t in TEXTS.items():
            markers = {**t, **(attested[writing] if staff_page else {})}
            wrong, found = unisolated(html, markers)
            problems += [f"[{page}] {line}" for line in wrong]
            found_here |= found
            seen |= {(writing, name) for name in found}
        kind = re.sub(r" (\(.*\)|\d+)$", "", page.split(" [")[0])
        missing = EXPECTED.get(kind, set()) - found_here
        assert not missing, f"{page} does not show {sorted(missing)}: the check would be empty"
    never = {(writing, name) for writing, t in TEXTS.items() for name in t} - seen
    assert not never, f"texts no page showed: {sorted(never)}"
    assert not problems, "Stored text not isolated:\n" + "\n".join(problems)
