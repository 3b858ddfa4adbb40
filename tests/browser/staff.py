"""Signing in to the back office in Chromium, as every browser test does it."""

import re

import pyotp

PASSWORD = "correct horse battery staple"
# Where staff land: the support requests (a committee member: those with the committee).
LANDED = re.compile(r"/staff/(assistance/)?(\?state=committee)?$")


def sign_in(browser, base, username, prefix="", *, width=1280, height=900, totp_secret=None):
    """A new browser context signed in as `username` (with a code from `totp_secret` when the
    account asks for one), on the page staff land on; returns its page."""
    context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{base}{prefix}/staff/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button.md-button--primary")
    if totp_secret:
        page.wait_for_url(re.compile(r"/staff/login/code$"))
        page.fill("#code", pyotp.TOTP(totp_secret).now())
        page.click("button.md-button--primary")
    page.wait_for_url(LANDED)
    return page
