"""The public forms' pages go out compressed where that cannot leak a secret (BREACH)."""

import gzip
import re

import brotli
import pytest

COMPRESSING = {"Accept-Encoding": "br, gzip"}
# What is new on every fetch: the CSRF token (signed with the time) and a form's one-time key.
FRESH = re.compile(r'(id="form_key" )?name="(csrf_token|form_key)"( type="hidden")? value="[^"]*"')
FIRST_PAGES = ["/forms/assistance/", "/en/forms/volunteer/", "/forms/feedback/", "/forms/status/"]


@pytest.mark.parametrize("url", FIRST_PAGES)
def test_a_form_page_is_compressed_and_reads_the_same(client, url):
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers  # asked for nothing, given as it is
    packed = client.get(url, headers=COMPRESSING)
    assert packed.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.data) < len(plain.data) / 3
    html = brotli.decompress(packed.data).decode("utf-8")
    assert html.lstrip().startswith("<!doctype html") and "</html>" in html
    # The same page, whole, but for what is new on every fetch.
    assert without_fresh(html) == without_fresh(plain.get_data(as_text=True))


def without_fresh(html: str) -> str:
    found = FRESH.subn(r'name="\2" value=""', html)
    assert found[1] >= 1, "the page has its form's token"
    return found[0]


def test_gzip_when_brotli_is_not_offered(client):
    response = client.get("/forms/assistance/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data).decode("utf-8").lstrip().startswith("<!doctype html")


def test_what_a_third_party_could_shape_is_not_compressed(client, signed_in):
    # A query string may be repeated in the page (the status page fills in a reference).
    shaped = client.get("/forms/status/?reference=ABC12345", headers=COMPRESSING)
    assert shaped.status_code == 200
    assert "Content-Encoding" not in shaped.headers
    # A post comes back with what was typed in it.
    posted = client.post("/forms/volunteer/", data={"full_name": "x" * 40}, headers=COMPRESSING)
    assert "Content-Encoding" not in posted.headers
    # The back office holds personal data and repeats search words.
    officer = signed_in("officer")
    for url in ("/staff/", "/staff/?q=0501234567"):
        page = officer.get(url, headers=COMPRESSING, follow_redirects=True)
        assert page.status_code == 200 and "Content-Encoding" not in page.headers, url
