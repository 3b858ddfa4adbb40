"""SMS adapters against a fake gateway on loopback: the exact requests, the answers, the
failures and their `retry`, no redirects, TLS checked, and errors that never tell the number,
the token or the text."""

import json
import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus

import pytest

from forms_service import sms
from tests.forms.helpers import self_signed_certificate

MOBILE = "+966512345678"
NUMBER = "966512345678"
LOCAL = "0512345678"
TEXT = "جمعية رعاية الأيتام بالجموم: وصل طلبكم، وسنرد عليكم خلال أسبوعين."
SENDER = "JamoumCare"
TOKENS = {
    "taqnyat": "tq-bearer-7f3a9c2e",
    "unifonic": "UniAppSid5Kq2Zx8w",
    "msegat": "jamoumuser:msegat-key-4b1d",
}
PROVIDERS = tuple(TOKENS)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Gateway:
    """A fake provider: records every request, answers what it is told."""

    url: str = ""
    requests: list = field(default_factory=list)
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0

    def answer(self, status: int, body=b"", *, headers=None, delay: float = 0.0) -> None:
        if not isinstance(body, bytes | str):
            body = json.dumps(body, ensure_ascii=False)
        self.status, self.delay = status, delay
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers = {"Content-Type": "application/json", **(headers or {})}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        gateway = self.server.gateway
        length = int(self.headers.get("Content-Length") or 0)
        gateway.requests.append(
            Recorded(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length),
            )
        )
        if gateway.delay:
            time.sleep(gateway.delay)
        try:
            self.send_response(gateway.status)
            for name, value in gateway.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(gateway.body)))
            self.end_headers()
            self.wfile.write(gateway.body)
        except OSError:  # the client gave up (the timeout test)
            pass

    do_GET = do_POST

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


def start_gateway(tls_context=None, host="127.0.0.1"):
    server = Server((host, 0), Handler)
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls_context else "http"
    server.gateway = Gateway(url=f"{scheme}://{host}:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    return server


def stop_gateway(server):
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Requests to the fake gateway go straight to it, whatever the environment says."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


@pytest.fixture
def gateway():
    server = start_gateway()
    yield server.gateway
    stop_gateway(server)


@pytest.fixture
def other_gateway():
    server = start_gateway()
    yield server.gateway
    stop_gateway(server)


def config(name: str, url: str = "", **overrides) -> dict:
    settings = {
        "PORTAL_SMS_PROVIDER": name,
        "PORTAL_SMS_TOKEN": TOKENS.get(name, "some-token"),
        "PORTAL_SMS_SENDER": SENDER,
        "PORTAL_SMS_URL": url,
    }
    settings.update(overrides)
    return settings


def free_port() -> int:
    """A loopback port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# What each provider answers (shapes from its documentation).
SUCCESS = {
    "taqnyat": (
        201,
        {
            "statusCode": 201,
            "messageId": 7321,
            "cost": "0.0500",
            "currency": "SAR",
            "totalCount": 1,
            "msgLength": 1,
            "accepted": f"[{NUMBER},]",
            "rejected": "[]",
        },
        "7321",
    ),
    "unifonic": (
        200,
        {
            "success": True,
            "message": "",
            "errorCode": "ER-00",
            "data": {
                "MessageID": 42000348806924,
                "CorrelationID": "",
                "Status": "Sent",
                "NumberOfUnits": 1,
                "Cost": 0.05,
                "Balance": 10,
                "Recipient": NUMBER,
                "TimeCreated": "2026-12-01 14:06:25.979",
                "CurrencyCode": "SAR",
            },
        },
        "42000348806924",
    ),
    "msegat": (200, {"code": "1", "message": "Success"}, ""),
}
BAD_TOKEN = {
    "taqnyat": (401, {"statusCode": 401, "message": "Invalid Bearer Tokens"}),
    "unifonic": (
        401,
        {"success": False, "message": "Authentication failed", "errorCode": "401", "data": {}},
    ),
    "msegat": (200, {"code": "1020", "message": "Invalid login info"}),
}
BAD_SENDER = {
    "taqnyat": (400, {"statusCode": 400, "message": "Sender name is not active"}),
    "unifonic": (
        200,
        {"success": False, "message": "Invalid Sender ID", "errorCode": "ER-08", "data": {}},
    ),
    "msegat": (200, {"code": "1110", "message": "Sender name is missing or incorrect"}),
}
SHORT_CODE = {"taqnyat": "Sender name", "unifonic": "ER-08", "msegat": "1110"}


def check_request(name: str, request: Recorded) -> None:
    """The request is the provider's documented shape, the number without plus."""
    assert request.method == "POST"
    assert "?" not in request.path  # nothing in a URL query, where logs would keep it
    assert MOBILE.encode() not in request.body
    if name == "taqnyat":
        assert request.path == "/v1/messages"
        assert request.headers["authorization"] == f"Bearer {TOKENS['taqnyat']}"
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.body) == {"recipients": [NUMBER], "body": TEXT, "sender": SENDER}
        assert TEXT.encode("utf-8") in request.body  # UTF-8 Arabic, not \u escapes
    elif name == "unifonic":
        assert request.path == "/rest/SMS/messages"
        assert "authorization" not in request.headers
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        fields = parse_qs(request.body.decode("ascii"), strict_parsing=True, encoding="utf-8")
        assert fields == {
            "AppSid": [TOKENS["unifonic"]],
            "SenderID": [SENDER],
            "Recipient": [NUMBER],
            "Body": [TEXT],
        }
    else:
        assert request.path == "/gw/sendsms.php"
        assert "authorization" not in request.headers
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.body) == {
            "userName": "jamoumuser",
            "apiKey": "msegat-key-4b1d",
            "userSender": SENDER,
            "numbers": NUMBER,
            "msg": TEXT,
            "msgEncoding": "UTF8",
        }
        assert TEXT.encode("utf-8") in request.body


def assert_private(error: Exception, name: str) -> None:
    """Nothing of the number (any writing), the token or the text in what an error says."""
    token = TOKENS.get(name, "")
    said = " ".join([str(error), repr(error), *map(str, error.args)])
    for secret in (MOBILE, NUMBER, LOCAL, "512345678", TEXT, TEXT[:20], *token.split(":")):
        assert secret not in said, secret
    assert token not in said


# --- requests and successes -----------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_the_request_is_the_providers_and_success_returns_the_message_id(gateway, name):
    status, body, message_id = SUCCESS[name]
    gateway.answer(status, body)
    assert sms.send(config(name, gateway.url), MOBILE, TEXT) == message_id
    assert len(gateway.requests) == 1
    check_request(name, gateway.requests[0])


@pytest.mark.parametrize(
    ("name", "status", "body"),
    [
        ("unifonic", 200, "true"),
        ("unifonic", 200, {"success": "true", "message": "", "errorCode": "ER-00"}),
        ("msegat", 200, {"code": "M0000", "message": "Success"}),
        ("msegat", 200, "1"),
        ("taqnyat", 200, {"statusCode": 201, "messageId": "abc-1"}),
    ],
)
def test_other_documented_successes(gateway, name, status, body):
    gateway.answer(status, body)
    message_id = sms.send(config(name, gateway.url), MOBILE, TEXT)
    assert message_id == ("abc-1" if name == "taqnyat" else "")


def test_default_base_urls_are_the_providers_official_ones():
    bases = {name: sms.provider(config(name)).base for name in PROVIDERS}
    assert bases == {
        "taqnyat": "https://api.taqnyat.sa",
        "unifonic": "https://el.cloud.unifonic.com",
        "msegat": "https://www.msegat.com",
    }


def test_the_client_checks_certificates_follows_no_redirects_and_has_timeouts():
    with sms._client() as client:
        assert client.follow_redirects is False
        assert client.timeout.connect == 5.0 and client.timeout.read == 10.0


# --- failures -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_refused_token_is_not_retried(gateway, name):
    gateway.answer(*BAD_TOKEN[name])
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config(name, gateway.url), MOBILE, TEXT)
    error = caught.value
    assert error.retry is False and error.kind == "credentials"
    assert str(error).startswith(f"{name} answered {BAD_TOKEN[name][0]}: the token was refused")
    assert_private(error, name)


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_refused_sender_is_not_retried_and_keeps_the_providers_code(gateway, name):
    gateway.answer(*BAD_SENDER[name])
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config(name, gateway.url), MOBILE, TEXT)
    error = caught.value
    assert error.retry is False and error.kind == "sender"
    assert "sender name was refused" in str(error) and SHORT_CODE[name] in str(error)
    assert_private(error, name)


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize(("status", "kind"), [(500, "server"), (503, "server"), (429, "rate")])
def test_server_errors_and_too_many_requests_are_retried(gateway, name, status, kind):
    gateway.answer(status, {"message": "try later"}, headers={"Retry-After": "30"})
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config(name, gateway.url), MOBILE, TEXT)
    assert caught.value.retry is True and caught.value.kind == kind
    assert str(caught.value).startswith(f"{name} answered {status}")
    assert_private(caught.value, name)


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_timeout_is_retried(gateway, name, monkeypatch):
    monkeypatch.setattr(sms, "READ_TIMEOUT", 0.3)
    gateway.answer(*SUCCESS[name][:2], delay=1.5)
    started = time.monotonic()
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config(name, gateway.url), MOBILE, TEXT)
    assert time.monotonic() - started < 1.4
    assert caught.value.retry is True and caught.value.kind == "timeout"
    assert "took too long" in str(caught.value)
    assert_private(caught.value, name)


@pytest.mark.parametrize("name", PROVIDERS)
def test_an_unreachable_gateway_is_retried(name):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config(name, url), MOBILE, TEXT)
    assert caught.value.retry is True and caught.value.kind == "unreachable"
    assert "could not be reached" in str(caught.value)
    assert_private(caught.value, name)


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_redirect_is_not_followed(gateway, other_gateway, name):
    path = sms.ADAPTERS[name].path
    gateway.answer(302, b"", headers={"Location": other_gateway.url + path})
    other_gateway.answer(*SUCCESS[name][:2])
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config(name, gateway.url), MOBILE, TEXT)
    assert caught.value.retry is False and caught.value.kind == "redirect"
    assert "PORTAL_SMS_URL" in str(caught.value)
    assert len(gateway.requests) == 1 and other_gateway.requests == []


@pytest.mark.parametrize("name", PROVIDERS)
def test_an_answer_that_is_not_understood_is_not_retried(gateway, name):
    gateway.answer(200, b"<html>maintenance</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config(name, gateway.url), MOBILE, TEXT)
    assert caught.value.retry is False and caught.value.kind == "answer"


@pytest.mark.parametrize(
    ("name", "answer", "kind"),
    [
        (
            "unifonic",
            {"success": False, "message": "Insufficient", "errorCode": "ER-01"},
            "balance",
        ),
        (
            "unifonic",
            {"success": False, "message": "Dest num is too short", "errorCode": "ER-04"},
            "number",
        ),
        ("msegat", {"code": "1060", "message": "Balance is not enough"}, "balance"),
        ("msegat", {"code": "1120", "message": "Mobile numbers is not correct"}, "number"),
        ("msegat", {"code": "1061", "message": "MSG duplicated"}, "refused"),
    ],
)
def test_provider_codes_say_what_was_refused(gateway, name, answer, kind):
    gateway.answer(200, answer)
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config(name, gateway.url), MOBILE, TEXT)
    assert caught.value.kind == kind and caught.value.retry is False


def test_a_certificate_that_is_not_trusted_is_refused(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = start_gateway(context, host="localhost")
    try:
        server.gateway.answer(*SUCCESS["taqnyat"][:2])
        with pytest.raises(sms.SmsError) as caught:
            sms.send(config("taqnyat", server.gateway.url), MOBILE, TEXT)
    finally:
        stop_gateway(server)
    assert caught.value.kind == "tls" and caught.value.retry is True
    assert server.gateway.requests == []  # nothing was sent over the untrusted connection


# --- privacy --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("status", [200, 400, 401, 500, 429])
def test_error_messages_never_tell_the_number_token_or_text(gateway, name, status):
    """The provider echoes everything back: none of it reaches the error."""
    token = TOKENS[name]
    echo = (
        f"Rejected {NUMBER} (+966 51 234 5678, {LOCAL}, ٩٦٦٥١٢٣٤٥٦٧٨) from {token} "
        f"key {token.split(':')[-1]} text {TEXT}"
    )
    answers = {
        "taqnyat": {"statusCode": 400, "message": echo},
        "unifonic": {"success": False, "message": echo, "errorCode": "ER-02"},
        "msegat": {"code": "1120", "message": echo},
    }
    gateway.answer(status, answers[name])
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config(name, gateway.url), MOBILE, TEXT)
    assert_private(caught.value, name)
    assert "٦٥١٢٣" not in str(caught.value)  # Arabic-Indic digits count as digits too
    if status < 429:  # a refusal keeps the provider's own words otherwise
        assert "Rejected" in str(caught.value)


def test_long_digit_runs_go_but_short_codes_stay(gateway):
    gateway.answer(200, {"code": "1120", "message": "Numbers 5551234567 and 123-4567 refused"})
    with pytest.raises(sms.SmsError) as caught:
        sms.send(config("msegat", gateway.url), MOBILE, TEXT)
    said = str(caught.value)
    assert "1120" in said and "5551234567" not in said and "123-4567" not in said
    assert "Numbers … and … refused" in said


@pytest.mark.parametrize("name", PROVIDERS)
def test_nothing_secret_is_logged(gateway, name, caplog):
    caplog.set_level(logging.DEBUG)
    gateway.answer(*SUCCESS[name][:2])
    sms.send(config(name, gateway.url), MOBILE, TEXT)
    gateway.answer(*BAD_TOKEN[name])
    with pytest.raises(sms.SmsError):
        sms.send(config(name, gateway.url), MOBILE, TEXT)
    logged = caplog.text
    for secret in (NUMBER, TEXT, *TOKENS[name].split(":")):
        assert secret not in logged


def test_the_adapter_never_shows_its_token():
    adapter = sms.provider(config("taqnyat"))
    assert TOKENS["taqnyat"] not in repr(adapter) and TOKENS["taqnyat"] not in str(adapter)


# --- numbers, texts and configuration -------------------------------------------------------


@pytest.mark.parametrize(
    "mobile",
    [LOCAL, NUMBER, "00966512345678", "+966112345678", "+971501234567", "+96651234567", "", None],
)
def test_only_the_stored_saudi_mobile_form_is_accepted(gateway, mobile):
    gateway.answer(*SUCCESS["taqnyat"][:2])
    with pytest.raises(ValueError) as caught:
        sms.send(config("taqnyat", gateway.url), mobile, TEXT)
    assert gateway.requests == []
    assert not mobile or mobile not in str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", None])
def test_an_empty_text_is_refused(gateway, text):
    with pytest.raises(ValueError):
        sms.send(config("taqnyat", gateway.url), MOBILE, text)
    assert gateway.requests == []


def test_sms_off_no_adapter():
    assert sms.provider({"PORTAL_SMS_PROVIDER": ""}) is None
    assert sms.provider({}) is None
    assert not sms.enabled({"PORTAL_SMS_PROVIDER": ""})
    with pytest.raises(sms.SmsError) as caught:
        sms.send({"PORTAL_SMS_PROVIDER": ""}, MOBILE, TEXT)
    assert caught.value.kind == "off" and caught.value.retry is False


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"PORTAL_SMS_PROVIDER": "twilio"}, "PORTAL_SMS_PROVIDER='twilio' is not known"),
        ({"PORTAL_SMS_TOKEN": ""}, "PORTAL_SMS_TOKEN is not set"),
        ({"PORTAL_SMS_SENDER": " "}, "PORTAL_SMS_SENDER is not set"),
        ({"PORTAL_SMS_URL": "http://sms.example.org"}, "only for this machine"),
        ({"PORTAL_SMS_URL": "ftp://sms.example.org"}, "must be an https:// address"),
        ({"PORTAL_SMS_URL": "https://u:p@sms.example.org"}, "no user name, password, query"),
        ({"PORTAL_SMS_URL": "https://sms.example.org/?key=1"}, "no user name, password, query"),
    ],
)
def test_a_bad_configuration_is_a_clear_value_error(settings, words):
    with pytest.raises(ValueError, match=words.replace("?", r"\?")) as caught:
        sms.provider(config("taqnyat", **settings))
    assert TOKENS["taqnyat"] not in str(caught.value)


def test_msegat_needs_user_and_key():
    with pytest.raises(ValueError, match="USER:API_KEY"):
        sms.provider(config("msegat", PORTAL_SMS_TOKEN="only-a-key"))


def test_a_provider_name_is_read_without_case_or_spaces(gateway):
    gateway.answer(*SUCCESS["taqnyat"][:2])
    adapter = sms.provider(config(" Taqnyat ", gateway.url, PORTAL_SMS_TOKEN=TOKENS["taqnyat"]))
    assert adapter.name == "taqnyat" and adapter.send(MOBILE, TEXT) == "7321"


# --- segments -------------------------------------------------------------------------------

ARABIC = "ب"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        (ARABIC * 70, 1),
        (ARABIC * 71, 2),
        (ARABIC * 134, 2),
        (ARABIC * 135, 3),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # the euro sign takes two septets
        ("€" * 80 + "a", 2),
        ("a" * 159 + "€", 2),  # 161 septets
        ("a" * 159 + ARABIC, 3),  # one Arabic letter makes the whole text UCS-2
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
        ("رقم ١٢٣٤٥", 1),  # Arabic-Indic digits are UCS-2
    ],
)
def test_segments(text, count):
    assert sms.segments(text) == count


def test_two_segments_hold_134_arabic_characters():
    assert sms.fits(ARABIC * 134) and not sms.fits(ARABIC * 135)
    assert sms.fits(ARABIC * 70, max_segments=1) and not sms.fits(ARABIC * 71, max_segments=1)
    assert sms.fits("a" * 306) and not sms.fits("a" * 307)


def test_the_gsm_packing_never_splits_an_escape_pair():
    assert sms.segments("a" * 151 + "€" + "a" * 153) == 2  # 153 + 153 septets, exactly
    # 306 septets too, but the euro sign's pair would straddle the first two SMS: 152, 154…
    assert sms.segments("a" * 152 + "€" + "a" * 152) == 3


# --- check_setup ----------------------------------------------------------------------------


def test_check_setup_says_which_variable_to_set_when_sms_is_off():
    said = sms.check_setup({"PORTAL_SMS_PROVIDER": ""}, LOCAL)
    assert said.startswith("SMS is off") and "PORTAL_SMS_PROVIDER" in said
    assert "taqnyat, unifonic, msegat" in said


def test_check_setup_names_an_unknown_provider():
    said = sms.check_setup(config("twilio"), LOCAL)
    assert "PORTAL_SMS_PROVIDER='twilio' is not known" in said


@pytest.mark.parametrize("name", PROVIDERS)
def test_check_setup_sends_the_arabic_test_message_and_gives_the_id(gateway, name):
    status, body, message_id = SUCCESS[name]
    gateway.answer(status, body)
    said = sms.check_setup(config(name, gateway.url), LOCAL)  # any common writing will do
    assert said.startswith(f"SMS works: {name} accepted the test message")
    assert (f"message id {message_id}" if message_id else "no message id") in said
    check_request(name, _with_text(gateway.requests[0], name, sms.TEST_TEXT))
    assert sms.segments(sms.TEST_TEXT) == 1


def _with_text(request: Recorded, name: str, text: str) -> Recorded:
    """The request as if TEXT had been sent, so check_request() can check the rest of it."""
    if name == "unifonic":
        body = request.body.replace(quote_plus(text).encode(), quote_plus(TEXT).encode())
    else:
        body = request.body.replace(text.encode("utf-8"), TEXT.encode("utf-8"))
    assert body != request.body  # the test text was there
    return Recorded(request.method, request.path, request.headers, body)


@pytest.mark.parametrize("name", PROVIDERS)
def test_check_setup_explains_a_wrong_token(gateway, name):
    gateway.answer(*BAD_TOKEN[name])
    said = sms.check_setup(config(name, gateway.url), MOBILE)
    assert said.startswith(f"SMS test failed: {name} answered {BAD_TOKEN[name][0]}")
    assert "the token was refused" in said and "Check PORTAL_SMS_TOKEN" in said
    for secret in (*TOKENS[name].split(":"), NUMBER, sms.TEST_TEXT):
        assert secret not in said


@pytest.mark.parametrize("name", PROVIDERS)
def test_check_setup_explains_a_refused_sender(gateway, name):
    gateway.answer(*BAD_SENDER[name])
    said = sms.check_setup(config(name, gateway.url), MOBILE)
    assert "sender name was refused" in said and "Check PORTAL_SMS_SENDER" in said


def test_check_setup_explains_an_unreachable_gateway():
    url = f"http://127.0.0.1:{free_port()}"
    said = sms.check_setup(config("unifonic", url), MOBILE)
    assert said.startswith("SMS test failed: unifonic could not be reached at 127.0.0.1:")
    assert "Check PORTAL_SMS_URL (empty means https://el.cloud.unifonic.com)" in said


def test_check_setup_explains_a_timeout_and_a_server_error(gateway, monkeypatch):
    monkeypatch.setattr(sms, "READ_TIMEOUT", 0.3)
    gateway.answer(*SUCCESS["msegat"][:2], delay=1.0)
    said = sms.check_setup(config("msegat", gateway.url), MOBILE)
    assert "took too long" in said and "Check that this server can reach" in said
    gateway.answer(500, b"")
    said = sms.check_setup(config("msegat", gateway.url), MOBILE)
    assert "msegat answered 500" in said and "try again later" in said


def test_check_setup_refuses_a_number_that_is_not_a_saudi_mobile(gateway):
    said = sms.check_setup(config("taqnyat", gateway.url), "0112345678")
    assert "not a Saudi mobile" in said and "0112345678" not in said
    assert gateway.requests == []


def test_check_setup_reports_a_missing_token():
    said = sms.check_setup(config("taqnyat", PORTAL_SMS_TOKEN=""), MOBILE)
    assert (
        said == "SMS is not set up correctly: PORTAL_SMS_TOKEN is not set (the taqnyat credential)."
    )


# --- portal notify test ----------------------------------------------------------------------


def run_notify(monkeypatch, settings: dict, mobile: str = LOCAL):
    from click.testing import CliRunner

    from forms_service.cli import main

    for key in ("PORTAL_SMS_PROVIDER", "PORTAL_SMS_TOKEN", "PORTAL_SMS_SENDER", "PORTAL_SMS_URL"):
        monkeypatch.setenv(key, settings.get(key, ""))
    monkeypatch.setenv("PORTAL_SECRET_KEY", "test-only-key")
    return CliRunner().invoke(main, ["notify", "test", "--mobile", mobile])


def test_portal_notify_test_sends_through_the_configured_provider(gateway, monkeypatch):
    status, body, _message_id = SUCCESS["taqnyat"]
    gateway.answer(status, body)
    result = run_notify(monkeypatch, config("taqnyat", gateway.url))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("SMS works: taqnyat accepted the test message")
    assert len(gateway.requests) == 1


def test_portal_notify_test_fails_plainly(gateway, monkeypatch):
    gateway.answer(*BAD_TOKEN["unifonic"])
    result = run_notify(monkeypatch, config("unifonic", gateway.url))
    assert result.exit_code == 1
    assert result.output.startswith("SMS test failed: unifonic answered 401")
    off = run_notify(monkeypatch, {})
    assert off.exit_code == 1 and "PORTAL_SMS_PROVIDER" in off.output
