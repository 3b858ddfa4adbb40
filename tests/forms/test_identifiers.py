"""Identifiers as people write them: digits, IDs, mobiles, references."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms_service import identifiers as ids

DIGIT_SCRIPTS = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹"]


def in_scripts(digits: str, picks: list[int]) -> str:
    return "".join(DIGIT_SCRIPTS[p][int(d)] for d, p in zip(digits, picks, strict=True))


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=20).flatmap(
        lambda d: st.tuples(
            st.just(d), st.lists(st.integers(0, 2), min_size=len(d), max_size=len(d))
        )
    )
)
def test_any_mix_of_digit_scripts_normalises_to_the_same_ascii(case):
    digits, picks = case
    assert ids.clean_number(in_scripts(digits, picks)) == digits


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=12),
    st.sampled_from([" ", "-", "\u00a0", "\u200f", "–"]),
)
def test_spaces_dashes_and_marks_inside_numbers_are_ignored(digits, noise):
    assert ids.clean_number(noise.join(digits)) == digits


def luhn_check_digit(body: str) -> str:
    for check in "0123456789":
        if ids.luhn_valid(body + check):
            return check
    raise AssertionError


@given(st.sampled_from("12"), st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_only_luhn_valid_ids_pass(first, middle):
    body = first + middle
    good = body + luhn_check_digit(body)
    assert ids.national_id_valid(good)
    for wrong in "0123456789":
        if wrong != good[-1]:
            assert not ids.national_id_valid(body + wrong)


@pytest.mark.parametrize(
    "value", ["3000000001", "100000000", "10000000080", "١٠٠٠٠٠٠٠٠٨", "abcdefghij"]
)
def test_ids_of_the_wrong_shape_fail(value):
    assert not ids.national_id_valid(value)


@pytest.mark.parametrize(
    "typed",
    [
        "0512345678",
        "512345678",
        "+966512345678",
        "00966512345678",
        "966512345678",
        "٠٥١٢٣٤٥٦٧٨",
        "۰۵۱۲۳۴۵۶۷۸",
        "+٩٦٦ ٥١ ٢٣٤ ٥٦٧٨",
        "051-234-5678",
        " 05 1234 5678 ",
    ],
)
def test_every_common_saudi_writing_is_stored_the_same(typed):
    assert ids.normalise_mobile(typed) == "+966512345678"
    assert ids.display_mobile("+966512345678") == "051 234 5678"


@pytest.mark.parametrize(
    "typed", ["0112345678", "+971501234567", "05123", "hello", "", "05123456789"]
)
def test_not_a_saudi_mobile(typed):
    assert ids.normalise_mobile(typed) is None


@given(st.text(max_size=30))
def test_every_accepted_mobile_is_plus_9665_and_8_ascii_digits(text):
    result = ids.normalise_mobile(text)
    assert result is None or re.fullmatch(r"\+9665[0-9]{8}", result)


@given(st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹ -+", max_size=20))
def test_accepted_mobiles_from_any_digits_are_ascii(text):
    result = ids.normalise_mobile(text)
    assert result is None or result.isascii()


def test_references_avoid_look_alikes_and_read_back():
    seen = set()
    for _ in range(2000):
        ref = ids.new_reference()
        assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", ref)
        assert ids.parse_reference(ids.format_reference(ref).lower()) == ref
        seen.add(ref)
    assert len(seen) == 2000
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{2}", ids.format_reference("K7M4QX9T"))


@pytest.mark.parametrize("typed", ["K7M-4QX-9T0", "K7M4QX9", "O0O0O0O0", "K7M-4QX-9I"])
def test_references_that_cannot_be(typed):
    assert ids.parse_reference(typed) is None


def test_clean_text_drops_bidi_overrides_and_controls():
    assert ids.clean_text(" \u202eabc\u0000 ١٢ ") == "abc 12"
