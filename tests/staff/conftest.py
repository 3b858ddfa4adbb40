"""Staff fixtures: users of each role on a real SQLite file, and signed-in clients."""

import pyotp
import pytest

from forms_service import auth
from forms_service import db as dbm
from tests.forms.helpers import get_form, hidden_fields

PASSWORD = "correct horse battery staple"
ROLES = ("officer", "researcher", "committee", "admin")
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture
def staff_db(app):
    database = dbm.connect(app.config["PORTAL_DB"])
    for role in ROLES:
        auth.add_user(database, role, role, PASSWORD, actor="test")
    # Administrators must use a second factor: give the test admin a known secret.
    database.execute("UPDATE staff SET totp_secret = ? WHERE username = 'admin'", [TOTP_SECRET])
    database.conn.commit()
    yield database
    database.close()


def password_only(client, username="admin", prefix=""):
    """Sign in with the password and stop before the second factor; returns the client."""
    fields = get_form(client, f"{prefix}/staff/login")
    response = client.post(
        f"{prefix}/staff/login", data={**fields, "username": username, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def sign_in(client, username, password=PASSWORD, prefix=""):
    fields = get_form(client, f"{prefix}/staff/login")
    response = client.post(
        f"{prefix}/staff/login", data={**fields, "username": username, "password": password}
    )
    if username == "admin" and response.status_code == 302:
        code_page = client.get(f"{prefix}/staff/login/code")
        data = {
            **hidden_fields(code_page.get_data(as_text=True)),
            "code": pyotp.TOTP(TOTP_SECRET).now(),
        }
        response = client.post(f"{prefix}/staff/login/code", data=data)
    return response


@pytest.fixture
def signed_in(app, staff_db):
    """signed_in(role) → a test client signed in with that role."""

    def make(role):
        client = app.test_client()
        response = sign_in(client, role)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return make


def csrf_of(client, url) -> str:
    html = client.get(url).get_data(as_text=True)
    import re

    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)
