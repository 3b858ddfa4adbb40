"""Text that goes into a log line: control characters written out, so that a value sent by
a visitor (a path with %0a in it) can never start a line of its own."""

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def log_safe(text: str) -> str:
    """'a\\nb' → 'a\\\\x0ab': line breaks, other controls and bidi overrides as escapes."""
    return _CONTROL.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", text
    )
