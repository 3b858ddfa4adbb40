"""The lists of requests: filters in the URL, search words on the server, counts."""

import datetime as dt
import re

from flask import (
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
)

from .. import auth, lifecycle, listing
from ..db import get_db
from ..i18n import lang_url
from ..lifecycle import Kind
from . import session as staff_session
from .blueprint import bp
from .forms import (
    ActionForm,
)
from .session import actor


@bp.get("/")
def index():
    """Where the back office opens: a committee member on the requests waiting for the
    committee, everyone else on the support requests."""
    if g.staff["role"] == lifecycle.Role.COMMITTEE:
        state = str(lifecycle.State.COMMITTEE)
        return redirect(lang_url("staff.queue", kind="assistance", state=state))
    return redirect(lang_url("staff.queue", kind="assistance"))


def queue_filters(kind: Kind) -> listing.Filters:
    args = request.args

    def day(name):
        try:
            return dt.date.fromisoformat(args.get(name, ""))
        except ValueError:
            return None

    return listing.Filters(
        kind=kind,
        state=args.get("state", "") if args.get("state", "") in lifecycle.STATES_OF[kind] else "",
        assigned=args.get("assigned", "") if args.get("assigned") in ("me", "none") else "",
        overdue=args.get("overdue") == "1",
        answered=args.get("answered") == "1",
        since=day("since"),
        until=day("until"),
        channel=args.get("channel", ""),
        # Searches hold names and IDs: kept in the server-side session, never in a URL or cookie.
        q=auth.searches(g.staff).get(str(kind), ""),
        newest_first=args.get("sort") == "newest",
        # [0-9] only: str.isdigit() also accepts "²" and "٣", which int() may refuse.
        page=min(int(args["page"]), 10_000)
        if re.fullmatch(r"[1-9][0-9]{0,5}", args.get("page", ""))
        else 1,
        me=actor(),
        late_days=current_app.config["PORTAL_ANSWER_DAYS"],
    )


def _queue(kind):
    kind = Kind(kind)
    if request.method == "POST":
        return _search_redirect(kind)
    filters = queue_filters(kind)
    rows, total = listing.page(get_db(), filters)
    counts = listing.counts(get_db(), filters)
    return render_template(
        "staff/list.html",
        elsewhere={
            k: n for k, n in listing.matches_by_kind(get_db(), filters.q).items() if k != kind and n
        },
        kind=kind,
        filters=filters,
        rows=rows,
        total=total,
        counts=counts,
        page_size=listing.PAGE_SIZE,
    )


def _search_redirect(kind: Kind):
    """The filter form posts: the search words go to the session, the rest to the URL."""
    if not ActionForm().validate():
        abort(400)
    form = request.form
    if form.get("clear"):
        auth.save_searches(get_db(), staff_session.token(), {})
        return redirect(lang_url("staff.queue", kind=kind))
    words = form.get("q", "")[:100]
    # A reference goes straight to its case, whatever queue is open.
    case_id = listing.by_reference(get_db(), words)
    if case_id is not None:
        return redirect(lang_url("staff.case", case_id=case_id))
    # One search for the whole back office: every queue shows what the same words find.
    auth.save_searches(get_db(), staff_session.token(), {str(k): words for k in Kind})
    keep = {
        k: form.get(k)
        for k in ("state", "assigned", "overdue", "answered", "since", "until", "channel", "sort")
    }
    return redirect(lang_url("staff.queue", kind=kind, **{k: v for k, v in keep.items() if v}))


bp.add_url_rule(
    "/<any(assistance, volunteer, feedback):kind>/", "queue", _queue, methods=["GET", "POST"]
)
