"""The dashboard and the exports for the research committee."""

from flask import (
    current_app,
    g,
    render_template,
)

from ..dashboard import stats as dashboard_stats
from ..db import get_db
from ..export import export_response
from ..lifecycle import Kind
from ..meetings import stats as meeting_stats
from .blueprint import bp
from .queue_views import queue_filters
from .session import actor


@bp.get("/dashboard")
def dashboard():
    return render_template(
        "staff/dashboard.html",
        stats=dashboard_stats(get_db(), late_days=current_app.config["PORTAL_ANSWER_DAYS"]),
        meetings=meeting_stats(get_db(), current_app.config["PORTAL_ANSWER_DAYS"]),
    )


@bp.get("/<any(assistance, volunteer, feedback):kind>/export.<any(csv, xlsx, json):fmt>")
def export(kind, fmt):
    filters = queue_filters(Kind(kind))
    return export_response(get_db(), filters, fmt, g.lang, actor())
