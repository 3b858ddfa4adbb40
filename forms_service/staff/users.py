"""Staff accounts (administrators): add, change a role, disable, remove a second factor."""

from flask import (
    abort,
    flash,
    redirect,
    render_template,
)
from flask_babel import gettext as _

from .. import auth
from ..db import get_db
from ..i18n import lang_url
from ..words import filled, user_name
from .blueprint import bp
from .forms import (
    UserAddForm,
    UserUpdateForm,
)
from .session import actor


@bp.route("/users", methods=["GET", "POST"])
def users():
    db = get_db()
    form = UserAddForm()
    if form.validate_on_submit():
        try:
            auth.add_user(db, form.username.data, form.role.data, form.password.data, actor=actor())
        except auth.AccountError:
            form.username.errors = [_("This user name is taken.")]
        else:
            flash(filled(_("User %(name)s added."), name=user_name(form.username.data)))
            return redirect(lang_url("staff.users"))
    rows = auth.users(db)
    updates = {
        u["username"]: UserUpdateForm(
            prefix=u["username"], role=u["role"], active=bool(u["active"])
        )
        for u in rows
    }
    return render_template(
        "staff/users.html", form=form, rows=rows, updates=updates
    ), 400 if form.errors else 200


@bp.post("/users/<username>")
def user_update(username):
    db = get_db()
    user = auth.get_user(db, username)
    if user is None:
        abort(404)
    form = UserUpdateForm(prefix=username)
    if not form.validate():
        abort(400)
    if username == actor() and (form.role.data != "admin" or not form.active.data):
        flash(_("You cannot remove your own administrator access."), "error")
        return redirect(lang_url("staff.users"))
    # Only what changed is written (and recorded); each change ends the user's sessions.
    if form.role.data != user["role"]:
        auth.set_role(db, username, form.role.data, actor=actor())
    if form.active.data != bool(user["active"]):
        auth.set_active(db, username, form.active.data, actor=actor())
    if form.reset_totp.data and user["totp_secret"]:
        auth.clear_totp(db, username, actor=actor())
    flash(filled(_("User %(name)s updated."), name=user_name(username)))
    return redirect(lang_url("staff.users"))
