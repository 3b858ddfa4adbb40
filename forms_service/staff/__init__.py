"""The staff back office: one module per feature, on one blueprint. Thin views."""

from . import case, entry, meetings, queue_views, reports, signin, users
from .blueprint import bp

FEATURES = (signin, queue_views, case, entry, users, reports, meetings)  # each adds routes to `bp`


def register(app):
    app.register_blueprint(bp, url_prefix="/staff", name="staff_ar")
    app.register_blueprint(bp, url_prefix="/en/staff", name="staff_en")
