"""The dashboard's figures on a real SQLite file, its SVG charts, and the page in both languages."""

import datetime as dt
import re
import xml.etree.ElementTree as ET

import flask
import pytest
from bs4 import BeautifulSoup
from flask_babel import lazy_gettext

from forms_service import charts, dashboard, queue
from forms_service.lifecycle import Kind

# A Wednesday (15:00 in Riyadh); its week began on Sunday 2026-11-22, Riyadh time.
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE_CHANNEL = '"><img src=x onerror=alert(1)>'


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def request(db, created, *moves):
    """A support request received at `created`, then moved: (state, when) pairs."""
    receipt = queue.submit(
        db, kind=Kind.ASSISTANCE, lang="ar", fields={"full_name": "فاطمة محمد"}, at=at(created)
    )
    for state, when in moves:
        queue.transition(
            db, receipt.submission_id, state, actor="t", role="admin", reason="سبب", at=at(when)
        )
    return receipt


def rating(db, created, channel, courtesy, clarity, speed, overall):
    fields = {
        "channel": channel,
        "rating_courtesy": courtesy,
        "rating_clarity": clarity,
        "rating_speed": speed,
        "rating_overall": overall,
    }
    queue.submit(db, kind=Kind.FEEDBACK, lang="ar", fields=fields, at=at(created))


TO_COMMITTEE = (("verifying", "2026-09-07T09:00"), ("committee", "2026-09-08T09:00"))


@pytest.fixture
def seeded(app, db):
    with app.test_request_context():
        refs = {
            "this_week": request(db, "2026-11-24T08:00"),
            # Sunday 00:00 and Saturday 23:59:59 in Riyadh (UTC+3): either side of the week.
            "sunday_midnight": request(db, "2026-11-21T21:00"),
            "saturday_before": request(db, "2026-11-21T20:59:59"),
            "verifying": request(db, "2026-10-01T10:00", ("verifying", "2026-10-02T08:00")),
            # Decided 20 days after it came: no longer waiting for an answer, so not late.
            "accepted": request(
                db, "2026-09-06T23:00", *TO_COMMITTEE, ("accepted", "2026-09-26T23:00")
            ),
            "rejected": request(
                db,
                "2026-10-10T00:00",
                ("verifying", "2026-10-11T00:00"),
                ("committee", "2026-10-12T00:00"),
                ("rejected", "2026-10-25T12:00"),  # 15.5 days
            ),
            "served": request(
                db,
                "2026-10-20T00:00",
                ("verifying", "2026-10-21T00:00"),
                ("committee", "2026-10-22T00:00"),
                ("accepted", "2026-11-09T00:00"),  # 20 days
                ("registered", "2026-11-10T00:00"),
                ("served", "2026-11-12T00:00"),
            ),
            # Decided before the 12 months shown: in the counts by state, not in the trends.
            "old": request(
                db,
                "2024-12-01T00:00",
                ("verifying", "2024-12-02T00:00"),
                ("committee", "2024-12-03T00:00"),
                ("rejected", "2025-11-30T20:59:59"),  # 23:59:59 in Riyadh
            ),
            "withdrawn": request(db, "2026-11-01T00:00", ("withdrawn", "2026-11-02T00:00")),
            # Late is counted on Riyadh dates: 00:00 on 11 November there is 14 days before
            # NOW's 25 November (not late), one second earlier is 15 (late).
            "fourteen_days": request(db, "2026-11-10T21:00"),
            "fifteen_days": request(db, "2026-11-10T20:59:59"),
        }
        volunteer = queue.submit(
            db, kind=Kind.VOLUNTEER, lang="en", fields={}, at=at("2026-11-24T10:00")
        )
        for state in ("contacted", "accepted"):  # a volunteer's acceptance is no committee decision
            queue.transition(
                db,
                volunteer.submission_id,
                state,
                actor="t",
                role="admin",
                at=at("2026-11-24T11:00"),
            )
        rating(db, "2026-11-02T09:00", "website", 5, 4, 3, 5)
        rating(db, "2026-11-20T09:00", "website", 4, 4, 4, 4)
        rating(db, "2026-11-24T09:00", "interview", 3, 5, 5, 4)
        rating(db, "2026-10-05T09:00", "phone", 2, 3, 1, 2)
        rating(db, "2024-01-01T09:00", "website", 1, 1, 1, 1)  # before the window
    return refs


def test_counts_by_state_for_each_kind(seeded, db):
    by_state = dashboard.stats(db, now=NOW)["by_state"]
    assert by_state == {
        "assistance": {
            "received": 5,
            "verifying": 1,
            "needs_info": 0,
            "social_research": 0,
            "committee": 0,
            "accepted": 1,
            "rejected": 2,
            "registered": 0,
            "served": 1,
            "withdrawn": 1,
            "duplicate": 0,
        },
        "volunteer": {"received": 0, "contacted": 0, "accepted": 1, "declined": 0, "active": 0},
        "feedback": {"received": 5, "reviewed": 0},
    }


def test_late_requests_are_the_queues_overdue_filter_oldest_first(seeded, db):
    overdue = dashboard.stats(db, now=NOW)["overdue"]
    assert overdue["count"] == 2 and overdue["days"] == 14
    assert [(r["reference"], r["state"], r["received"], r["days"]) for r in overdue["oldest"]] == [
        (seeded["verifying"].reference, "verifying", "2026-10-01", 55),
        (seeded["fifteen_days"].reference, "received", "2026-11-10", 15),
    ]


def test_requests_per_week_from_sunday_riyadh_time_zero_filled(seeded, db):
    result = dashboard.stats(db, now=NOW)
    weekly = result["weekly"]
    assert [w["week"] for w in weekly] == [
        "2026-09-06", "2026-09-13", "2026-09-20", "2026-09-27", "2026-10-04", "2026-10-11",
        "2026-10-18", "2026-10-25", "2026-11-01", "2026-11-08", "2026-11-15", "2026-11-22",
    ]  # fmt: skip
    assert all(dt.date.fromisoformat(w["week"]).weekday() == 6 for w in weekly)  # Sundays
    # 2026-09-06T23:00Z is Monday 02:00 in Riyadh (week 1); 2026-11-01T00:00Z a Sunday (week 9).
    assert [w["assistance"] for w in weekly] == [1, 0, 0, 1, 1, 0, 1, 0, 1, 2, 1, 2]
    assert [w["volunteer"] for w in weekly] == [0] * 11 + [1]
    assert [w["feedback"] for w in weekly] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1]
    assert result["week_start"] == "2026-11-22"
    assert result["new_this_week"] == {"assistance": 2, "volunteer": 1, "feedback": 1}
    assert result["series"]["weekly"][-2:] == [("2026-11-15", 1), ("2026-11-22", 2)]


def test_decisions_per_month_and_days_to_decision(seeded, db):
    decisions = dashboard.stats(db, now=NOW)["decisions"]
    months = decisions["months"]
    assert [m["month"] for m in months] == ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]
    by_month = {m["month"]: (m["accepted"], m["rejected"], m["average_days"]) for m in months}
    assert by_month["2026-09"] == (1, 0, 20.0)
    assert by_month["2026-10"] == (0, 1, 15.5)
    assert by_month["2026-11"] == (1, 0, 20.0)  # the volunteer accepted that month is not counted
    assert all(
        v == (0, 0, None) for k, v in by_month.items() if k not in ("2026-09", "2026-10", "2026-11")
    )
    assert decisions["count"] == 3
    assert decisions["average_days"] == 18.5  # (20 + 15.5 + 20) / 3


def test_satisfaction_per_month_and_per_channel(seeded, db):
    satisfaction = dashboard.stats(db, now=NOW)["satisfaction"]
    months = {m["month"]: m for m in satisfaction["months"]}
    assert len(months) == 12
    assert months["2026-11"] == {
        "month": "2026-11",
        "count": 3,
        "rating_courtesy": 4.0,
        "rating_clarity": 4.3,
        "rating_speed": 4.0,
        "rating_overall": 4.3,
    }
    assert months["2026-10"] == {
        "month": "2026-10",
        "count": 1,
        "rating_courtesy": 2.0,
        "rating_clarity": 3.0,
        "rating_speed": 1.0,
        "rating_overall": 2.0,
    }
    assert months["2026-09"]["count"] == 0 and months["2026-09"]["rating_overall"] is None
    channels = {c["channel"]: c for c in satisfaction["channels"]}
    assert list(channels)[:3] == ["interview", "phone", "social_media"]  # the policy's order
    assert channels["website"] == {
        "channel": "website",
        "count": 2,
        "rating_courtesy": 4.5,
        "rating_clarity": 4.0,
        "rating_speed": 3.5,
        "rating_overall": 4.5,
    }
    assert channels["interview"]["count"] == 1 and channels["interview"]["rating_clarity"] == 5.0
    assert channels["letter"] == {
        "channel": "letter",
        "count": 0,
        "rating_courtesy": None,
        "rating_clarity": None,
        "rating_speed": None,
        "rating_overall": None,
    }


def test_survey_response_rate_per_month_of_service(app, seeded, db):
    with app.test_request_context():
        served_too = request(
            db,
            "2026-10-01T00:00",
            ("verifying", "2026-10-02T00:00"),
            ("committee", "2026-10-03T00:00"),
            ("accepted", "2026-10-20T00:00"),
            ("registered", "2026-10-21T00:00"),
            ("served", "2026-11-30T21:30"),  # 1 December 00:30 in Riyadh: December's
        )
        # A survey naming the November request served; one naming no request; one naming
        # a request that was never served.
        for reference in (seeded["served"].reference, "", seeded["verifying"].reference):
            queue.submit(
                db,
                kind=Kind.FEEDBACK,
                lang="ar",
                fields={"reference": reference, "channel": "website", "rating_overall": 5},
                at=at("2026-11-20T09:00"),
            )
    months = {m["month"]: m for m in dashboard.stats(db, now=NOW)["responses"]}
    assert months["2026-11"] == {"month": "2026-11", "served": 1, "surveys": 1, "rate": 100}
    assert months["2026-10"] == {"month": "2026-10", "served": 0, "surveys": 0, "rate": None}
    december = dashboard.stats(db, now=at("2026-12-02T09:00"))["responses"][-1]
    assert december == {"month": "2026-12", "served": 1, "surveys": 0, "rate": 0}
    # The page shows it: a row a month, the rate in per cent, a dash where none was served.
    soup = BeautifulSoup(render(app, db, "en"), "html.parser")
    rows = {
        tr.th.get_text(strip=True): [td.get_text(strip=True) for td in tr.select("td")]
        for tr in soup.select("#survey-responses tbody tr")
    }
    assert len(rows) == 12
    assert rows["November 2026"] == ["1", "1", "100%"]
    assert rows["October 2026"] == ["0", "0", "—"]
    assert served_too.reference != seeded["served"].reference


def test_an_empty_database_gives_zeros_not_errors(app, db):
    result = dashboard.stats(db, now=NOW)
    assert result["overdue"] == {"count": 0, "days": 14, "oldest": []}
    assert result["decisions"]["average_days"] is None
    assert all(w["assistance"] == 0 for w in result["weekly"])
    chart = charts.bar_chart(result["series"]["decisions"], title="t", legend=["a", "r"])
    parse(chart)


# ------------------------------------------------------------------ the SVG


def parse(chart) -> ET.Element:
    # The charts are our own output: parsing them is the test that they are well-formed.
    return ET.fromstring(str(chart))  # noqa: S314


def test_chart_is_well_formed_svg_named_by_its_title():
    chart = charts.bar_chart(
        [("2026-10", (3, 1)), ("2026-11", (0, 2))],
        title="Decisions per month",
        legend=["Accepted", "Rejected"],
        width=400,
        height=200,
    )
    root = parse(chart)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == "Decisions per month"
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("direction") == "ltr"
    bars = root.findall(f"{SVG}rect")
    fills = [r.get("fill") for r in bars]
    # legend swatches, then bars: a zero draws no bar (its label "0" still shows)
    assert fills == ["#0b6e4f", "#d55e00", "#0b6e4f", "#d55e00", "#d55e00"]
    values = [t.text for t in root.findall(f"{SVG}text")]
    assert [v for v in values if v.isdigit()] == ["3", "1", "0", "2"]  # every bar labelled


def test_chart_has_no_script_handlers_or_style():
    chart = charts.bar_chart([("a", 1), ("b", None)], title="x")
    for element in parse(chart).iter():
        assert not element.tag.endswith(("script", "style", "foreignObject"))
        assert not [a for a in element.attrib if a.lower().startswith("on") or a == "style"]
    assert "—" in str(chart)  # no value: no bar, and a dash


def test_hostile_labels_are_escaped(app):
    hostile = '<script>alert("x")</script>&'
    with app.test_request_context():
        chart = charts.bar_chart(
            [(hostile, 1), ("ok", 2)], title=lazy_gettext(hostile), legend=[lazy_gettext(hostile)]
        )
    text = str(chart)
    assert "<script" not in text
    root = parse(chart)
    assert root.find(f"{SVG}title").text == hostile
    assert [t.text for t in root.findall(f"{SVG}text")].count(hostile) == 2  # legend, axis


def test_long_labels_are_turned_and_short_ones_are_not():
    weeks = [(f"2026-11-{d:02d}", d) for d in range(1, 13)]
    turned = parse(charts.bar_chart(weeks, title="w", width=480, height=240))
    assert any("rotate(-45" in (t.get("transform") or "") for t in turned.iter(f"{SVG}text"))
    months = [(f"{m:02d}", m) for m in range(1, 13)]
    flat = parse(charts.bar_chart(months, title="m", width=480, height=240))
    assert not any(t.get("transform") for t in flat.iter(f"{SVG}text"))


# ------------------------------------------------------------------ the page


def render(app, db, lang):
    path = "/en/staff/dashboard" if lang == "en" else "/staff/dashboard"
    with app.test_request_context(path):
        flask.g.lang = lang
        flask.g.staff = {
            "username": "t",
            "role": "admin",
            "second_factor_ok": 1,
            "totp_secret": None,
        }
        return flask.render_template("staff/dashboard.html", stats=dashboard.stats(db, now=NOW))


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_page_has_each_chart_with_an_accessible_table(seeded, app, db, lang):
    with app.test_request_context():
        rating(db, "2026-11-21T09:00", HOSTILE_CHANNEL, 5, 5, 5, 5)
    html = render(app, db, lang)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.html["lang"] == lang and soup.html["dir"] == ("rtl" if lang == "ar" else "ltr")
    ids = [e["id"] for e in soup.select("[id]")]
    assert len(ids) == len(set(ids))
    charts = soup.select("svg[role=img]")
    assert len(charts) == 3
    for chart in charts:
        assert soup.find(id=chart["aria-labelledby"]).name == "title"
        table = chart.find_parent(class_="dashboard-chart").find("table")
        # Folded under its chart: a closed <details> after the figure, opened by its summary.
        folded = table.find_parent("details")
        assert folded is not None and not folded.has_attr("open")
        assert folded.summary.get_text(strip=True) == (
            "الأرقام في جدول" if lang == "ar" else "The numbers, as a table"
        )
        assert folded.find_previous_sibling("figure").find("svg") is chart
        assert table.caption.get_text(strip=True)
        assert table.select("thead th[scope=col]") and table.select("tbody th[scope=row]")
    for table in soup.select("table"):
        assert table.caption is not None
        for cell in table.select("td, tbody th"):  # every number and date isolated LTR
            if re.fullmatch(r"[0-9][0-9.-]*", cell.get_text(strip=True)):
                assert cell.select_one("bdi[dir=ltr]"), cell
    weekly = soup.select_one("#chart-weekly").find_parent(class_="dashboard-chart")
    rows = [
        [c.get_text(strip=True) for c in tr.select("th, td")] for tr in weekly.select("tbody tr")
    ]
    assert rows[-1] == ["2026-11-22", "2"] and len(rows) == 12
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script" not in str(soup.select_one(".staff-page"))
    late = soup.select_one(".dashboard-figure--late bdi[dir=ltr]")
    assert late.get_text() == "2"
    assert soup.find("a", href=f"{'/en' if lang == 'en' else ''}/staff/assistance/?overdue=1")
    # Months by name, in the page's language, in the charts and their tables.
    november = "نوفمبر 2026" if lang == "ar" else "November 2026"
    decisions = soup.select_one("#chart-decisions").find_parent(class_="dashboard-chart")
    assert november in decisions.select_one("svg").get_text()
    assert november in [th.get_text(strip=True) for th in decisions.select("tbody th")]
    assert "2026-11" not in soup.select_one("#satisfaction-title").find_parent("section").get_text()
    # The ratings chart shows its scale, 1 to 5.
    chart = soup.select_one("#chart-satisfaction").find_parent("svg")
    marks = [t.get_text() for t in chart.select("text[text-anchor=end]") if "rotate" not in str(t)]
    assert marks == ["1", "2", "3", "4", "5"]


def test_page_says_ratings_are_for_improvement_never_punishment(seeded, app, db):
    soup = BeautifulSoup(render(app, db, "en"), "html.parser")
    note = soup.select_one(".notice").get_text()
    assert "never for punishing" in note and "not for punishment or public shaming" in note


def test_dashboard_needs_a_signed_in_person(client, signed_in):
    response = client.get("/staff/dashboard")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    response = signed_in("committee").get("/en/staff/dashboard")
    assert response.status_code == 200
    assert 'href="/assets/stylesheets/dashboard.css"' in response.get_data(as_text=True)
