from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.identity.kk import ParsedKk, build_kk, is_valid_kk, mask_kk, parse_kk
from hub.identity.nik import InvalidIdentifier

TODAY = date(2025, 6, 30)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)

# Issued in 33.14.01 on 5 Mar 2012, serial 0042.
KK = "3314010503120042"


def reason_of(raw: str) -> str:
    with pytest.raises(InvalidIdentifier) as info:
        parse_kk(raw, today=TODAY)
    assert info.value.code == "INVALID_KK"
    return info.value.reason


def test_valid_kk() -> None:
    assert parse_kk(f"  {KK}\n", today=TODAY) == ParsedKk(
        kk=KK,
        province_code="33",
        regency_code="33.14",
        district_code="33.14.01",
        issue_date=date(2012, 3, 5),
        serial=42,
        flags=frozenset(),
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        (KK[:15], "length"),
        (KK + "0", "length"),
        ("3314O10503120042", "non_digit"),
        ("３３１４０１０５０３１２００４２", "non_ascii_digit"),
        ("٣٣١٤٠١٠٥٠٣١٢٠٠٤٢", "non_ascii_digit"),
        ("33140105\u200b03120042", "invisible_character"),
        (KK + "\u00a0", "invisible_character"),
    ],
)
def test_structural_rejections(raw: str, reason: str) -> None:
    assert reason_of(raw) == reason
    assert not is_valid_kk(raw)


def test_day_plus_forty_is_not_a_kk_convention() -> None:
    parsed = parse_kk("3314014503120042", today=TODAY)
    assert parsed.issue_date is None
    assert "impossible_date" in parsed.flags


def test_semantic_problems_are_flags() -> None:
    assert "impossible_date" in parse_kk("3314013002120042", today=TODAY).flags
    assert "impossible_date" in parse_kk("3314010513120042", today=TODAY).flags
    assert parse_kk("3314010503120000", today=TODAY).flags == {"zero_serial"}
    unknown = parse_kk(KK, known_regions={"33.14.02"}, today=TODAY)
    assert unknown.flags == {"unknown_region"}
    future = parse_kk("3314012902000042", today=date(1999, 1, 1))
    assert future.issue_date == date(2000, 2, 29)
    assert future.flags == {"future_issue_date"}
    assert is_valid_kk("3314013002120042")
    assert not is_valid_kk("3314013002120042", strict=True)


def test_masking() -> None:
    assert mask_kk(KK) == "3314**********42"
    with pytest.raises(InvalidIdentifier) as info:
        mask_kk("3314")
    assert info.value.code == "INVALID_KK"


def test_build_kk_checks_arguments() -> None:
    assert build_kk("33.14.01", date(2012, 3, 5), 42) == KK
    with pytest.raises(ValueError, match="district code"):
        build_kk("33.14", date(2012, 3, 5), 42)
    with pytest.raises(ValueError, match="serial"):
        build_kk("33.14.01", date(2012, 3, 5), 0)


district_codes = st.tuples(st.integers(11, 99), st.integers(1, 99), st.integers(1, 99)).map(
    lambda t: f"{t[0]:02d}.{t[1]:02d}.{t[2]:02d}"
)
issue_dates = st.dates(min_value=date(1925, 7, 1), max_value=TODAY)


@PROPERTY_SETTINGS
@given(district_codes, issue_dates, st.integers(1, 9999))
def test_build_then_parse_round_trips(district: str, issued: date, serial: int) -> None:
    parsed = parse_kk(build_kk(district, issued, serial), today=TODAY)
    assert parsed.district_code == district
    assert parsed.issue_date == issued
    assert parsed.serial == serial
    assert parsed.flags == frozenset()


@PROPERTY_SETTINGS
@given(st.text())
def test_parse_kk_only_raises_invalid_identifier(raw: str) -> None:
    try:
        parsed = parse_kk(raw, today=TODAY)
    except InvalidIdentifier as error:
        rejected = error
    else:
        assert len(parsed.kk) == 16
        assert all(c in "0123456789" for c in parsed.kk)
        return
    assert rejected.code == "INVALID_KK"
