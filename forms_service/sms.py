"""SMS through a Saudi provider's HTTP API: Taqnyat, Unifonic or Msegat.

PORTAL_SMS_PROVIDER picks the provider ("" = no SMS), PORTAL_SMS_TOKEN is its credential
(Taqnyat: the Bearer token; Unifonic: the AppSid; Msegat: "USER:API_KEY"), PORTAL_SMS_SENDER
the sender name registered with it, PORTAL_SMS_URL its base address (empty = the provider's
official one; tests point it at a fake gateway on loopback).

Requests go over HTTPS with the certificate checked (plain HTTP only to this machine), with
explicit timeouts, and redirects are never followed. Nothing secret is put in a URL, and
nothing here logs a request. An SmsError says what went wrong in plain words and never carries
the mobile number, the token or the message text; `retry` says whether trying again later can
help (timeouts, connection errors, HTTP 5xx and 429) or not (the credentials, the sender name,
the number or the text were refused).
"""

import ipaddress
import json
import re
import ssl
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, NoReturn
from urllib.parse import urlencode, urlsplit

import httpx

from .identifiers import normalise_mobile

CONNECT_TIMEOUT = 5.0  # seconds; module constants so that tests can shorten them
READ_TIMEOUT = 10.0
MAX_ANSWER_BYTES = 64 * 1024  # a provider's answer is a few hundred bytes; never read more
USER_AGENT = "jamoum-portal-sms/1"
PROVIDERS = ("taqnyat", "unifonic", "msegat")
# The test message of `portal notify test`: "Jamoum Orphan Care portal: SMS test."
TEST_TEXT = "بوابة جمعية رعاية الأيتام بالجموم: رسالة تجريبية."

_SAUDI_MOBILE = re.compile(r"\+9665[0-9]{8}")
_LONG_DIGITS = re.compile(r"\+?\d(?:[\s\-./]?\d){6,}")  # 7+ digits, maybe spaced: a number?
_DETAIL_MAX = 100
_EXPLAIN = {
    "credentials": "the token was refused",
    "sender": "the sender name was refused (not registered, or not approved)",
    "number": "the mobile number was refused",
    "balance": "the account's balance is not enough",
    "refused": "the message was refused",
    "answer": "the answer could not be understood, so the message may not have been sent",
    "redirect": "a redirect, which is not followed",
    "rate": "too many requests",
    "server": "an error on the provider's side",
}


class _Refusal(Exception):
    """An answer that is not a success, before its message is made safe (internal)."""

    def __init__(self, message: str, *, retry: bool, kind: str, said: str = "") -> None:
        super().__init__(message)
        self.message, self.retry, self.kind, self.said = message, retry, kind, said


class SmsError(Exception):
    """A message not sent. `retry`: whether trying again later can succeed; `kind`: what
    failed (credentials, sender, number, balance, refused, answer, redirect, rate, server, timeout,
    unreachable, tls, off), for advice. The text never holds the number, token or message."""

    def __init__(self, message: str, *, retry: bool, kind: str = "refused") -> None:
        super().__init__(message)
        self.retry = retry
        self.kind = kind


# --- segments -------------------------------------------------------------------------------

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")  # two septets each: an escape, then the character


def _pack(units: list[int], single: int, multi: int) -> int:
    """Segments for characters of the given sizes: one of `single` units, or several of
    `multi` (the rest is the concatenation header), never splitting a character."""
    total = sum(units)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, room = 1, multi
    for size in units:
        if size > room:
            count, room = count + 1, multi
        room -= size
    return count


def _gsm_septets(text: str) -> list[int] | None:
    """Septets per character in the GSM 7-bit alphabet, or None if one is not in it."""
    units = []
    for char in text:
        if char in _GSM_BASIC:
            units.append(1)
        elif char in _GSM_EXTENSION:
            units.append(2)
        else:
            return None
    return units


def segments(text: str) -> int:
    """How many SMS the text takes: GSM 7-bit 160, or 153 each when split; any other letter
    (Arabic included) makes it UCS-2: 70, or 67 each when split. An empty text takes none."""
    septets = _gsm_septets(text)
    if septets is not None:
        return _pack(septets, 160, 153)
    return _pack([2 if ord(char) > 0xFFFF else 1 for char in text], 70, 67)


def fits(text: str, max_segments: int = 2) -> bool:
    """Whether the text takes at most `max_segments` SMS (two Arabic ones: 134 characters)."""
    return segments(text) <= max_segments


# --- privacy of what errors say -------------------------------------------------------------


def _without(text: str, secrets: tuple[str, ...]) -> str:
    """The text with every occurrence of the secrets given (number, token, text) cut out."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "…")
    return text


def _detail(said: str, secrets: tuple[str, ...]) -> str:
    """A provider's own words made safe to show and keep: one line, without the secrets,
    without digit runs longer than 6 (could be a number), short."""
    text = " ".join(str(said).split())
    text = "".join(char for char in text if char.isprintable())
    text = _LONG_DIGITS.sub("…", _without(text, secrets))
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


def _json(body: bytes) -> Any:
    """The answer as JSON, or None when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _text(value: Any) -> str:
    """A code or message from an answer as text ("" for none)."""
    return "" if value is None or isinstance(value, dict | list) else str(value).strip()


def _message_id(value: Any) -> str:
    """The provider's message id as text ("" when it gave none)."""
    return _text(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _kind_from_words(words: str) -> str:
    """What a provider's own description is about, when it has no code we know."""
    words = words.lower()
    if "sender" in words:
        return "sender"
    if any(w in words for w in ("balance", "credit", "fund")):
        return "balance"
    if any(w in words for w in ("token", "auth", "appsid", "login", "api key", "apikey")):
        return "credentials"
    if any(w in words for w in ("number", "recipient", "destination", "mobile")):
        return "number"
    return "refused"


# --- the HTTP client ------------------------------------------------------------------------


class NotHandedOver(Exception):
    """The hand-over hook said no: not one byte of the message went to the provider."""


# Called once the connection is open and the request's head has gone, right before its body
# (the message) goes; False stops the request there. The outbox marks the SMS handed over in
# it, so that a sender killed before that moment is known never to have sent it.
HandOver = Callable[[], bool]


def _body(content: bytes, hand_over: HandOver | None) -> bytes | Iterator[bytes]:
    if hand_over is None:
        return content

    def body() -> Iterator[bytes]:
        if not hand_over():
            raise NotHandedOver
        yield content

    return body()


def _client() -> httpx.Client:
    """A client for one send: certificates checked, no redirects, explicit timeouts."""
    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        verify=True,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )


def _is_tls_failure(error: BaseException) -> bool:
    """Whether a connection failed on the TLS certificate or handshake."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _read_capped(response: httpx.Response) -> bytes:
    """The answer's body, at most MAX_ANSWER_BYTES of it."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk[: MAX_ANSWER_BYTES - len(body)]
        if len(body) >= MAX_ANSWER_BYTES:
            break
    return bytes(body)


def _loopback(host: str) -> bool:
    """Whether the host is this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url(value: str, default: str) -> str:
    """PORTAL_SMS_URL checked (HTTPS, or HTTP to this machine only; no user, query or
    fragment), or the provider's official address when it is empty."""
    value = (value or "").strip() or default
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("PORTAL_SMS_URL must be an https:// address (or empty for the default)")
    if parts.scheme == "http" and not _loopback(host):
        raise ValueError("PORTAL_SMS_URL may use plain http:// only for this machine (loopback)")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("PORTAL_SMS_URL must hold no user name, password, query or fragment")
    return value.rstrip("/")


# --- adapters -------------------------------------------------------------------------------


class Adapter:
    """One provider's way of sending: subclasses give the request and read the answer."""

    name: ClassVar[str] = ""
    default_base: ClassVar[str] = ""
    path: ClassVar[str] = ""
    codes: ClassVar[dict[str, str]] = {}  # the provider's error codes → kind

    def __init__(self, token: str, sender: str, base: str) -> None:
        self._token = token
        self.sender = sender
        self.base = base

    def __repr__(self) -> str:  # never the token
        return f"<{type(self).__name__} sender={self.sender!r} base={self.base!r}>"

    @property
    def host(self) -> str:
        """The gateway's host (and port), for messages."""
        return urlsplit(self.base).netloc

    def _secrets(self) -> tuple[str, ...]:
        """What must never appear in an error: the token and its parts."""
        return (self._token, *self._token.split(":"))

    def request(self, number: str, text: str) -> tuple[dict[str, str], bytes]:
        """The headers and body that send `text` to `number` (966…, no plus)."""
        raise NotImplementedError

    def result(self, status: int, body: bytes) -> str:
        """The message id from a 2xx or 4xx answer, or raise (through fail())."""
        raise NotImplementedError

    def send(self, mobile: str, text: str, *, hand_over: HandOver | None = None) -> str:
        """Send `text` to `mobile` (+9665XXXXXXXX); return the provider's message id ("" when
        it gives none). Raise ValueError for a bad number or empty text, SmsError if not sent,
        NotHandedOver if `hand_over` (called right before the message goes) said no."""
        if not isinstance(mobile, str) or not _SAUDI_MOBILE.fullmatch(mobile):
            raise ValueError("the mobile must be a Saudi mobile written +9665XXXXXXXX")
        if not isinstance(text, str) or not text.strip():
            raise ValueError("the message text is empty")
        number = mobile[1:]
        secrets = (*self._secrets(), text, mobile, number, "0" + number[3:])
        try:
            status, body = self._post(*self.request(number, text), hand_over)
            if 300 <= status < 400:
                self.fail(status, "redirect", check_url=True)
            if status == 429 or status >= 500:
                self.fail(status, "rate" if status == 429 else "server", retry=True)
            return self.result(status, body)
        except _Refusal as refusal:
            message, detail = refusal.message, _detail(refusal.said, secrets)
            if detail:
                message += f" — provider said: {detail}"
            error = SmsError(_without(message, secrets), retry=refusal.retry, kind=refusal.kind)
        except SmsError as failure:  # no answer: our own words, checked all the same
            error = SmsError(_without(str(failure), secrets), retry=True, kind=failure.kind)
        raise error

    def _post(
        self, headers: dict[str, str], content: bytes, hand_over: HandOver | None = None
    ) -> tuple[int, bytes]:
        """POST to the gateway; the status and (capped) body, or SmsError for no answer."""
        # The length is given, so that a body sent after the hook goes as it is (not chunked).
        headers = {**headers, "Content-Length": str(len(content))}
        body = _body(content, hand_over)
        try:
            with (
                _client() as client,
                client.stream("POST", self.base + self.path, headers=headers, content=body) as r,
            ):
                return r.status_code, _read_capped(r)
        except httpx.TimeoutException as error:
            phase = "connecting" if isinstance(error, httpx.ConnectTimeout) else "answering"
            message = f"{self.name} at {self.host} took too long ({phase}: timed out)"
            raise SmsError(message, retry=True, kind="timeout") from None
        except httpx.TransportError as error:
            kind = "tls" if _is_tls_failure(error) else "unreachable"
            if kind == "tls":
                reason = "the TLS certificate or handshake failed"
            elif isinstance(error, httpx.ConnectError):
                reason = "could not connect"
            else:
                reason = "the connection broke"
            message = f"{self.name} could not be reached at {self.host}: {reason}"
            raise SmsError(f"{message} ({type(error).__name__})", retry=True, kind=kind) from None

    def fail(
        self,
        status: int,
        kind: str,
        *,
        retry: bool = False,
        code: str = "",
        said: str = "",
        check_url: bool = False,
    ) -> NoReturn:
        """Raise for an answer that is not a success: the status, what it means, and the
        provider's own code and words (made safe by send())."""
        message = f"{self.name} answered {status}: {_EXPLAIN[kind]}"
        if check_url:
            message += " (check PORTAL_SMS_URL)"
        said = " ".join(part for part in (code, said) if part)
        raise _Refusal(message, retry=retry, kind=kind, said=said)

    def refused(self, status: int, code: str, said: str) -> NoReturn:
        """Raise for a refusal: its kind from the provider's code, else from its words."""
        kind = self.codes.get(code) or _kind_from_words(said)
        if status == 401 and kind == "refused":
            kind = "credentials"
        self.fail(status, kind, code=code, said=said)


class Taqnyat(Adapter):
    """Taqnyat: POST /v1/messages, Bearer token, JSON; 201 with messageId when accepted."""

    name = "taqnyat"
    default_base = "https://api.taqnyat.sa"
    path = "/v1/messages"

    def request(self, number: str, text: str) -> tuple[dict[str, str], bytes]:
        payload = {"recipients": [number], "body": text, "sender": self.sender}
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"}
        return headers, json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def result(self, status: int, body: bytes) -> str:
        data = _json(body)
        data = data if isinstance(data, dict) else {}
        code = _text(data.get("statusCode"))
        if status == 201 or (200 <= status < 300 and code == "201"):
            return _message_id(data.get("messageId"))
        if 200 <= status < 300:  # the status may be in the body only
            if not code.isdigit():
                self.fail(status, "answer")
            status = int(code)
            if status == 429 or status >= 500:
                self.fail(status, "rate" if status == 429 else "server", retry=True)
        self.refused(status, "", _text(data.get("message")))


class Unifonic(Adapter):
    """Unifonic: POST /rest/SMS/messages, form fields with the AppSid; success true."""

    name = "unifonic"
    default_base = "https://el.cloud.unifonic.com"
    path = "/rest/SMS/messages"
    codes: ClassVar[dict[str, str]] = {
        "ER-01": "balance",
        "ER-02": "number",
        "ER-03": "number",
        "ER-04": "number",
        "ER-05": "number",
        "ER-08": "sender",
        "401": "credentials",
        "402": "credentials",
        "410": "number",
        "440": "sender",
        "480": "sender",
        "482": "number",
    }

    def request(self, number: str, text: str) -> tuple[dict[str, str], bytes]:
        fields = {"AppSid": self._token, "SenderID": self.sender, "Recipient": number, "Body": text}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return headers, urlencode(fields, encoding="utf-8").encode("ascii")

    def result(self, status: int, body: bytes) -> str:
        data = _json(body)
        if 200 <= status < 300 and (data is True or str(data).lower() == "true"):
            return ""  # the bare "true" some gateways answer
        data = data if isinstance(data, dict) else {}
        accepted = str(data.get("success")).lower() == "true"
        if 200 <= status < 300 and accepted:
            details = data.get("data")
            return _message_id(details.get("MessageID")) if isinstance(details, dict) else ""
        if 200 <= status < 300 and "success" not in data:
            self.fail(status, "answer")
        self.refused(status, _text(data.get("errorCode")), _text(data.get("message")))


class Msegat(Adapter):
    """Msegat: POST /gw/sendsms.php, JSON with user name and API key; code "1" or M0000."""

    name = "msegat"
    default_base = "https://www.msegat.com"
    path = "/gw/sendsms.php"
    success = ("1", "M0000")
    codes: ClassVar[dict[str, str]] = {
        "1020": "credentials",
        "M0002": "credentials",
        "1060": "balance",
        "1064": "sender",  # free test account: only OTP texts until a sender is activated
        "1110": "sender",
        "1120": "number",
    }

    def __init__(self, token: str, sender: str, base: str) -> None:
        user, _, key = token.partition(":")
        if not user.strip() or not key.strip():
            raise ValueError("PORTAL_SMS_TOKEN for msegat must be USER:API_KEY")
        super().__init__(token, sender, base)
        self._user, self._key = user.strip(), key.strip()

    def request(self, number: str, text: str) -> tuple[dict[str, str], bytes]:
        payload = {
            "userName": self._user,
            "apiKey": self._key,
            "userSender": self.sender,
            "numbers": number,
            "msg": text,
            "msgEncoding": "UTF8",
        }
        headers = {"Content-Type": "application/json"}
        return headers, json.dumps(payload, ensure_ascii=False).encode("utf-8")

    def result(self, status: int, body: bytes) -> str:
        data = _json(body)
        if not isinstance(data, dict):  # an older gateway answers the bare code
            plain = body.decode("utf-8", "replace").strip()
            data = {"code": plain if len(plain) <= 10 else ""}
        code = _text(data.get("code"))
        if 200 <= status < 300 and code in self.success:
            return _message_id(data.get("id") or data.get("messageId"))
        if 200 <= status < 300 and not code:
            self.fail(status, "answer")
        self.refused(status, code, _text(data.get("message")))


ADAPTERS: dict[str, type[Adapter]] = {"taqnyat": Taqnyat, "unifonic": Unifonic, "msegat": Msegat}


# --- the module's interface -----------------------------------------------------------------


def enabled(config: Mapping[str, Any]) -> bool:
    """Whether SMS is set up to be sent (a provider is named)."""
    return bool(str(config.get("PORTAL_SMS_PROVIDER") or "").strip())


def provider(config: Mapping[str, Any]) -> Adapter | None:
    """The configured provider's adapter, None when SMS is off; ValueError for an unknown
    provider, a missing token or sender, or a base address that is not allowed."""
    name = str(config.get("PORTAL_SMS_PROVIDER") or "").strip().lower()
    if not name:
        return None
    if name not in ADAPTERS:
        raise ValueError(
            f"PORTAL_SMS_PROVIDER={name!r} is not known: use {', '.join(PROVIDERS)} "
            "(or leave it empty for no SMS)"
        )
    token = str(config.get("PORTAL_SMS_TOKEN") or "").strip()
    sender = str(config.get("PORTAL_SMS_SENDER") or "").strip()
    if not token:
        raise ValueError(f"PORTAL_SMS_TOKEN is not set (the {name} credential)")
    if not sender:
        raise ValueError(f"PORTAL_SMS_SENDER is not set (the sender name registered with {name})")
    cls = ADAPTERS[name]
    return cls(token, sender, _base_url(str(config.get("PORTAL_SMS_URL") or ""), cls.default_base))


def send(
    config: Mapping[str, Any], mobile: str, text: str, *, hand_over: HandOver | None = None
) -> str:
    """Send one SMS through the configured provider; return its message id ("" if none).
    Raise SmsError when it was not sent (kind "off" when SMS is not set up), ValueError for
    a configuration that is wrong (see provider()), a bad number or an empty text;
    NotHandedOver when `hand_over` said no."""
    adapter = provider(config)
    if adapter is None:
        raise SmsError("SMS is off (PORTAL_SMS_PROVIDER is empty)", retry=False, kind="off")
    return adapter.send(mobile, text, hand_over=hand_over)


_CREDENTIAL = {
    "taqnyat": "the Bearer token made in the Taqnyat account's developer settings",
    "unifonic": "the AppSid of the application in Unifonic Cloud",
    "msegat": "USER:API_KEY, the Msegat account's user name and its API key",
}


def _advice(adapter: Adapter, error: SmsError) -> str:
    """What to check after a failed test message."""
    advice = {
        "credentials": f"Check PORTAL_SMS_TOKEN: it must be {_CREDENTIAL[adapter.name]}.",
        "sender": (
            "Check PORTAL_SMS_SENDER: it must be exactly a sender name registered and approved "
            f"for this {adapter.name} account (capitals count)."
        ),
        "number": "Check that the number is a working Saudi mobile.",
        "balance": f"Top up the {adapter.name} account's balance.",
        "timeout": (
            f"Check that this server can reach {adapter.host} and that PORTAL_SMS_URL is right; "
            "if it is, the provider may be slow: try again later."
        ),
        "unreachable": (
            f"Check PORTAL_SMS_URL (empty means {adapter.default_base}), this server's internet "
            "access, DNS and firewall."
        ),
        "tls": (
            "Check PORTAL_SMS_URL and the server's clock and trusted certificates; "
            "a proxy may be intercepting HTTPS."
        ),
        "redirect": (
            f"PORTAL_SMS_URL must be the API address itself (empty: {adapter.default_base})."
        ),
        "rate": "Wait a minute and try again.",
        "server": "The provider has a problem: try again later, or ask its support.",
    }
    return advice.get(
        error.kind, f"See the message log in the {adapter.name} account for the reason."
    )


def check_setup(config: Mapping[str, Any], mobile: str) -> str:
    """Send one test message to `mobile` (any common Saudi writing); a plain sentence saying
    it worked, with the message id, or what went wrong and what to check."""
    try:
        adapter = provider(config)
    except ValueError as error:
        return f"SMS is not set up correctly: {error}."
    if adapter is None:
        return (
            "SMS is off: set PORTAL_SMS_PROVIDER to one of "
            f"{', '.join(PROVIDERS)}, with PORTAL_SMS_TOKEN and PORTAL_SMS_SENDER."
        )
    number = normalise_mobile(mobile or "")
    if number is None:
        return "The mobile given is not a Saudi mobile number: write it as 05XXXXXXXX."
    try:
        message_id = adapter.send(number, TEST_TEXT)
    except SmsError as error:
        return f"SMS test failed: {error}. {_advice(adapter, error)}"
    shown = f"message id {message_id}" if message_id else "no message id given"
    return (
        f"SMS works: {adapter.name} accepted the test message from {adapter.sender} "
        f"({shown}); it should arrive within a minute."
    )
