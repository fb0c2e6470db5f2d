from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.errors import Invalid
from hub.identity.nik import (
    InvalidIdentifier,
    ParsedNik,
    build_nik,
    is_valid_nik,
    mask_nik,
    normalize_digits,
    parse_nik,
)
from hub.person.service import normalise_nik

TODAY = date(2025, 6, 30)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)

# Kab. Purworejo-style code; born 17 Aug 1985, serial 0001.
MALE = "3314011708850001"
FEMALE = "3314015708850002"  # same date, day + 40

KNOWN_REASONS = {
    "empty",
    "length",
    "non_digit",
    "non_ascii_digit",
    "invisible_character",
    "not_string",
}
INVISIBLES = ["\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u00a0"]
DIGIT_BASES = {
    "full-width": 0xFF10,
    "arabic-indic": 0x0660,
    "extended-arabic-indic": 0x06F0,
    "devanagari": 0x0966,
}


def reason_of(raw: str) -> str:
    with pytest.raises(InvalidIdentifier) as info:
        parse_nik(raw, today=TODAY)
    assert info.value.code == "INVALID_NIK"
    return info.value.reason


def test_valid_male() -> None:
    parsed = parse_nik(MALE, today=TODAY)
    assert parsed == ParsedNik(
        nik=MALE,
        province_code="33",
        regency_code="33.14",
        district_code="33.14.01",
        sex="M",
        birth_date=date(1985, 8, 17),
        serial=1,
        flags=frozenset(),
    )


def test_valid_female_day_plus_forty() -> None:
    parsed = parse_nik(FEMALE, today=TODAY)
    assert parsed.sex == "F"
    assert parsed.birth_date == date(1985, 8, 17)
    assert parsed.serial == 2
    assert parsed.flags == frozenset()


def test_recent_two_digit_year_resolves_to_2000s() -> None:
    assert parse_nik("3314010103100001", today=TODAY).birth_date == date(2010, 3, 1)
    # 1 July 2025 would be tomorrow, so it must be 1925.
    assert parse_nik("3314010107250001", today=TODAY).birth_date == date(1925, 7, 1)
    assert parse_nik("3314013006250001", today=TODAY).birth_date == date(2025, 6, 30)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   \t\r\n", "empty"),
        (MALE[:15], "length"),
        (MALE + "1", "length"),
        ("33140117O8850001", "non_digit"),  # letter O
        ("3314-01-170885-0001", "non_digit"),
        ("3314 0117 0885 0001", "non_digit"),
        ("３３１４０１１７０８８５０００１", "non_ascii_digit"),
        ("٣٣١٤٠١١٧٠٨٨٥٠٠٠١", "non_ascii_digit"),
        ("33140117\u200b08850001", "invisible_character"),
        (MALE + "\u00a0", "invisible_character"),
        ("\u00a0" + MALE, "invisible_character"),
        (MALE + "\u3000", "invisible_character"),
        ("3314011708850001\x0b", "invisible_character"),
        ("33140117\ufe0f08850001", "invisible_character"),
    ],
)
def test_structural_rejections(raw: str, reason: str) -> None:
    assert reason_of(raw) == reason
    assert not is_valid_nik(raw)


def test_superscript_digit_is_reported_as_non_ascii_digit() -> None:
    # NFKC folds '³' to '3'; it must still be refused, not converted.
    assert reason_of("³314011708850001") == "non_ascii_digit"


def test_invisible_reason_wins_over_length_and_other_problems() -> None:
    assert reason_of("33A\u200b") == "invisible_character"
    assert reason_of("３\u200b") == "invisible_character"
    assert reason_of("３A") == "non_ascii_digit"


def test_error_position_and_message_do_not_echo_the_value() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_nik("33140117\u200b08850001")
    assert info.value.position == 8
    assert "U+200B" in info.value.message
    assert "33140117" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_non_string_input_is_an_invalid_identifier() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_nik(3314011708850001)  # type: ignore[arg-type]
    assert info.value.reason == "not_string"


def test_surrounding_ascii_whitespace_is_accepted() -> None:
    assert parse_nik(f"  \t{MALE}\r\n ", today=TODAY).nik == MALE
    assert normalize_digits(f" {MALE} ") == MALE


def test_impossible_date_is_flagged_not_raised() -> None:
    day_zero = parse_nik("3314010008850001", today=TODAY)
    assert "impossible_date" in day_zero.flags
    assert day_zero.sex is None
    assert day_zero.birth_date is None

    day_35 = parse_nik("3314013508850001", today=TODAY)
    assert "impossible_date" in day_35.flags
    assert day_35.sex is None

    day_72 = parse_nik("3314017208850001", today=TODAY)
    assert "impossible_date" in day_72.flags
    assert day_72.sex is None

    month_13 = parse_nik("3314011713850001", today=TODAY)
    assert "impossible_date" in month_13.flags
    assert month_13.sex == "M"
    assert month_13.birth_date is None

    feb_30_female = parse_nik("3314017002850001", today=TODAY)
    assert "impossible_date" in feb_30_female.flags
    assert feb_30_female.sex == "F"
    assert feb_30_female.birth_date is None

    assert is_valid_nik("3314017002850001")
    assert not is_valid_nik("3314017002850001", strict=True)


def test_leap_day_uses_the_century_in_which_it_exists() -> None:
    # 29 Feb exists in 2000 but not in 1900.
    assert parse_nik("3314012902000001", today=TODAY).birth_date == date(2000, 2, 29)
    before = parse_nik("3314012902000001", today=date(1999, 1, 1))
    assert before.birth_date == date(2000, 2, 29)
    assert "future_birth_date" in before.flags
    assert "impossible_date" in parse_nik("3314012902010001", today=TODAY).flags


def test_unknown_region_flagged_only_when_regions_given() -> None:
    assert parse_nik(MALE, today=TODAY).flags == frozenset()
    assert parse_nik(MALE, known_regions={"33.14.01"}, today=TODAY).flags == frozenset()
    flagged = parse_nik(MALE, known_regions={"33.14.02"}, today=TODAY)
    assert flagged.flags == {"unknown_region"}
    assert flagged.district_code == "33.14.01"


def test_zero_serial_flagged() -> None:
    parsed = parse_nik("3314011708850000", today=TODAY)
    assert parsed.serial == 0
    assert parsed.flags == {"zero_serial"}


def test_masking() -> None:
    assert mask_nik(MALE) == "3314**********01"
    assert mask_nik(f" {MALE}\n") == "3314**********01"
    with pytest.raises(InvalidIdentifier):
        mask_nik("331401")


def test_build_nik_examples_and_argument_checks() -> None:
    assert build_nik("33.14.01", "M", date(1985, 8, 17), 1) == MALE
    assert build_nik("33.14.01", "F", date(1985, 8, 17), 2) == FEMALE
    with pytest.raises(ValueError, match="district code"):
        build_nik("331401", "M", date(1985, 8, 17), 1)
    with pytest.raises(ValueError, match="sex"):
        build_nik("33.14.01", "X", date(1985, 8, 17), 1)
    with pytest.raises(ValueError, match="serial"):
        build_nik("33.14.01", "M", date(1985, 8, 17), 0)
    with pytest.raises(ValueError, match="serial"):
        build_nik("33.14.01", "M", date(1985, 8, 17), 10000)


def test_parsed_nik_is_frozen() -> None:
    parsed = parse_nik(MALE, today=TODAY)
    with pytest.raises(AttributeError):
        parsed.nik = "0"  # type: ignore[misc]


# --- properties -----------------------------------------------------------

district_codes = st.tuples(st.integers(11, 99), st.integers(1, 99), st.integers(1, 99)).map(
    lambda t: f"{t[0]:02d}.{t[1]:02d}.{t[2]:02d}"
)
# Window in which a two-digit year is unambiguous relative to TODAY.
birth_dates = st.dates(min_value=date(1925, 7, 1), max_value=TODAY)
valid_niks = st.builds(
    build_nik,
    district_codes,
    st.sampled_from(["M", "F"]),
    birth_dates,
    st.integers(1, 9999),
)
any_text = st.one_of(
    st.text(),
    # Includes lone surrogates, which st.text() leaves out by default.
    st.text(st.characters(exclude_categories=())),
    st.from_regex(r"[ \t\r\n]*[0-9]{14,18}[ \t\r\n]*", fullmatch=True),
    valid_niks,
    st.tuples(valid_niks, st.text(max_size=3), st.integers(0, 16)).map(
        lambda t: t[0][: t[2]] + t[1] + t[0][t[2] :]
    ),
)


@PROPERTY_SETTINGS
@given(any_text)
def test_parse_returns_16_ascii_digits_or_raises_invalid_identifier(raw: str) -> None:
    # Any other exception type propagates and fails the test.
    try:
        parsed = parse_nik(raw, today=TODAY)
    except InvalidIdentifier as error:
        rejected = error
    else:
        assert len(parsed.nik) == 16
        assert all(c in "0123456789" for c in parsed.nik)
        assert parsed.nik == raw.strip(" \t\r\n")
        return
    assert rejected.code == "INVALID_NIK"
    assert rejected.reason in KNOWN_REASONS


@PROPERTY_SETTINGS
@given(
    st.text(),
    st.characters(min_codepoint=0x80, exclude_categories=()),
    st.text(),
)
def test_any_non_ascii_character_is_rejected(before: str, non_ascii: str, after: str) -> None:
    assert not is_valid_nik(before + non_ascii + after)


@PROPERTY_SETTINGS
@given(valid_niks)
def test_generated_niks_are_valid(nik: str) -> None:
    # Control case for the property above: real NIKs do parse.
    assert is_valid_nik(nik)


@PROPERTY_SETTINGS
@given(district_codes, st.sampled_from(["M", "F"]), birth_dates, st.integers(1, 9999))
def test_build_then_parse_round_trips(district: str, sex: str, born: date, serial: int) -> None:
    parsed = parse_nik(build_nik(district, sex, born, serial), today=TODAY)
    assert parsed.district_code == district
    assert parsed.regency_code == district[:5]
    assert parsed.province_code == district[:2]
    assert parsed.sex == sex
    assert parsed.birth_date == born
    assert parsed.serial == serial
    assert parsed.flags == frozenset()


@PROPERTY_SETTINGS
@given(valid_niks, st.sampled_from(INVISIBLES), st.integers(0, 16))
def test_inserting_an_invisible_character_anywhere_invalidates(
    nik: str, invisible: str, position: int
) -> None:
    tampered = nik[:position] + invisible + nik[position:]
    assert reason_of(tampered) == "invisible_character"
    assert reason_of(f" {tampered}\n") == "invisible_character"


@PROPERTY_SETTINGS
@given(valid_niks, st.sampled_from(sorted(DIGIT_BASES)), st.integers(0, 15))
def test_replacing_a_digit_with_a_unicode_digit_invalidates(nik: str, script: str, position: int) -> None:
    lookalike = chr(DIGIT_BASES[script] + int(nik[position]))
    tampered = nik[:position] + lookalike + nik[position + 1 :]
    assert reason_of(tampered) == "non_ascii_digit"


def test_huge_input_is_rejected_quickly() -> None:
    assert reason_of("A" * 1_000_000) == "non_digit"
    assert reason_of("1" * 1_000_000) == "length"


@settings(max_examples=300)
@given(st.one_of(
    st.text(alphabet="0123456789", min_size=14, max_size=18),
    st.text(alphabet="0123456789 \t\u00a0\u0663x", min_size=0, max_size=20),
    st.builds(lambda d, m, y, rest: f"331401{d:02d}{m:02d}{y:02d}{rest}", st.integers(0, 99), st.integers(0, 99),
              st.integers(0, 99), st.text(alphabet="0123456789", min_size=4, max_size=4)),
))
def test_person_lookup_normalises_as_parse_nik_does(raw: str) -> None:
    # hub.person.service checks a NIK with normalize_digits alone: the same NIK, the same refusals.
    def outcome(check: Callable[[str], str], error: type[Exception]) -> tuple[str, ...]:
        try:
            return ("ok", check(raw))
        except error as exc:
            return ("refused", exc.code, exc.message, getattr(exc, "reason", None) or exc.details["reason"])  # type: ignore[attr-defined]

    assert outcome(normalise_nik, Invalid) == outcome(lambda r: parse_nik(r).nik, InvalidIdentifier)
