"""Identifiers as people write them: digits in any script, Saudi IDs, mobiles, references.

Normalise first, then match with [0-9] (never \\d, which accepts Arabic-Indic digits).
"""

import re
import secrets

import phonenumbers

# Arabic-Indic (U+0660–0669) and Persian/Urdu (U+06F0–06F9) digits → ASCII.
_DIGITS = {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)}}
# Spaces, dashes and direction marks people (or their phones) put inside numbers.
_NUMBER_NOISE = re.compile(
    r"[\s\u00a0\u2000-\u200f\u202a-\u202e\u2066-\u2069\-\u2010-\u2015\u2212_.]"
)
# Text that must never be stored: control and bidi-override characters (keep \t\n\r).
_UNSAFE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def ascii_digits(text: str) -> str:
    return text.translate(_DIGITS)


def clean_text(text: str) -> str:
    """Trim, turn every digit to ASCII and drop control and bidi-override characters."""
    return _UNSAFE_TEXT.sub("", ascii_digits(text)).strip()


def clean_number(text: str) -> str:
    """A number as typed → ASCII digits (and a leading +) with spaces and dashes dropped."""
    return _NUMBER_NOISE.sub("", clean_text(text))


_ARABIC_FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و", "ئ": "ي"}
)
_ARABIC_MARKS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")


def fold_arabic(text: str) -> str:
    """Search form of a name: no diacritics or tatweel, one form of alif, ه for ة, ي for ى."""
    text = _ARABIC_MARKS.sub("", clean_text(text or "")).translate(_ARABIC_FOLD).lower()
    return " ".join(text.split())


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def national_id_shape(value: str) -> bool:
    """10 ASCII digits, first 1 (citizen) or 2 (resident)."""
    return re.fullmatch(r"[12][0-9]{9}", value) is not None


def national_id_valid(value: str) -> bool:
    return national_id_shape(value) and luhn_valid(value)


def mask_national_id(value: str) -> str:
    return "•" * 6 + value[-4:] if value else ""


def normalise_mobile(text: str) -> str | None:
    """Any common Saudi writing (05…, 5…, +966…, 00966…, 966…) → +9665XXXXXXXX, else None."""
    number = clean_number(text)
    if number.startswith("00"):
        number = "+" + number[2:]
    elif number.startswith("966"):
        number = "+" + number
    if not re.fullmatch(r"\+?[0-9]{9,13}", number):
        return None
    try:
        parsed = phonenumbers.parse(number, "SA")
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not re.fullmatch(r"\+9665[0-9]{8}", e164) or not phonenumbers.is_valid_number(parsed):
        return None
    return e164


def display_mobile(e164: str | None) -> str:
    """+966512345678 → 051 234 5678."""
    if not e164 or not re.fullmatch(r"\+9665[0-9]{8}", e164):
        return e164 or ""
    local = "0" + e164[4:]
    return f"{local[:3]} {local[3:6]} {local[6:]}"


# References: no 0/O, 1/I/L; 31 symbols ** 8 ≈ 8.5e11, drawn from the OS's CSPRNG.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 8


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def format_reference(reference: str) -> str:
    """K7M4QX9T → K7M-4QX-9T, for reading aloud."""
    return f"{reference[:3]}-{reference[3:6]}-{reference[6:]}"


def parse_reference(text: str) -> str | None:
    """What a person typed → the stored reference, or None if it cannot be one."""
    value = clean_number(text).upper()
    if len(value) == REFERENCE_LENGTH and all(c in REFERENCE_ALPHABET for c in value):
        return value
    return None
