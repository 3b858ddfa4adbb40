"""The association's facts: one file, published exactly as the policy gives them."""

import re

import yaml
from bs4 import BeautifulSoup

from tests.conftest import LANGS, ROOT, SITE, built_path

SEED = ROOT / "tests" / "data" / "policy_seed.txt"
FACTS = yaml.safe_load((ROOT / "forms_service" / "facts.yml").read_text(encoding="utf-8"))
ACCOUNT = re.compile(r"^(32400 0010 0060 \d{4} \d{4})\s*$", re.M)


def seed_accounts():
    """Number → account name, read from the policy's own footer."""
    text = SEED.read_text(encoding="utf-8")
    pairs = re.findall(
        r"^(32400 0010 0060 [0-9]{4} [0-9]{4})\s*\n\s*\n(حساب [^\n]+?)\s*$", text, re.M
    )
    return {number: name for number, name in pairs}


def test_facts_file_matches_the_policy():
    accounts = seed_accounts()
    assert len(accounts) == 5
    # The policy's names, but for one word of grammar: it writes «حساب العام», the donate
    # page reads «الحساب العام» (the policy page itself keeps the policy's own words).
    expected = {n: "الحساب العام" if a == "حساب العام" else a for n, a in accounts.items()}
    assert {a["number"]: a["name"]["ar"] for a in FACTS["accounts"]} == expected
    text = SEED.read_text(encoding="utf-8")
    assert FACTS["email"] in text
    assert FACTS["facebook"]["handle"] in text
    assert f"( {FACTS['licence']} )" in text


def test_donate_page_shows_each_account_exactly(site_dir):
    for lang in LANGS:
        soup = BeautifulSoup(built_path("donate", lang).read_text(encoding="utf-8"), "html.parser")
        shown = [el.get_text(strip=True) for el in soup.select(".account-number bdi[dir=ltr]")]
        assert sorted(shown) == sorted(seed_accounts()), lang
        copies = [b["data-copy"] for b in soup.select("button.copy-button[data-copy]")]
        assert sorted(copies) == sorted(seed_accounts()), lang


def test_zakat_is_its_own_account(site_dir):
    soup = BeautifulSoup(built_path("donate", "ar").read_text(encoding="utf-8"), "html.parser")
    zakat = soup.select_one("#account-zakat").find_parent(class_="account")
    general = soup.select_one("#account-general").find_parent(class_="account")
    assert "32400 0010 0060 8043 1053" in zakat.get_text()
    assert "32400 0010 0060 8040 5503" in general.get_text()


def test_footer_on_every_page_has_name_licence_contact(site_dir):
    for page in SITE.rglob("*.html"):
        if "pagefind" in page.parts:
            continue
        footer = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select_one("footer")
        text = footer.get_text(" ", strip=True)
        assert FACTS["name"]["ar"] in text and FACTS["licence"] in text, page
        assert FACTS["email"] in text, page


def test_no_invented_phone_numbers(site_dir):
    phone = re.compile(r"(\+966|00966|\b05[0-9])[0-9 ]{7,}")
    for page in SITE.rglob("*.html"):
        assert not phone.search(page.read_text(encoding="utf-8")), page
