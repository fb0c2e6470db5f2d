"""The ministry's own figures: small, fixed and synthetic. Keyed by Kemendagri region code and by
programme code, the only identifiers the ministry shares with the hub."""

from __future__ import annotations

from dataclasses import dataclass

YEAR = 2025


@dataclass(frozen=True, slots=True)
class RegionEducation:
    schools: int
    students: int
    pip_recipients: int
    pip_budget_million_idr: int
    pip_disbursed_million_idr: int


@dataclass(frozen=True, slots=True)
class ProgrammeBudget:
    programme_code: str
    allocated_million_idr: int
    disbursed_million_idr: int


# Jawa Tengah, Kabupaten Sragen and three of its districts.
EDUCATION_BY_REGION: dict[str, RegionEducation] = {
    "33": RegionEducation(24_310, 5_102_400, 1_210_500, 1_089_450, 903_200),
    "33.14": RegionEducation(1_020, 141_800, 33_900, 30_510, 25_020),
    "33.14.01": RegionEducation(58, 7_420, 1_830, 1_647, 1_402),
    "33.14.02": RegionEducation(44, 5_610, 1_460, 1_314, 1_050),
    "33.14.03": RegionEducation(71, 9_980, 2_270, 2_043, 1_780),
}

# National budget lines the ministry reports per programme; the codes are the hub's programme codes.
PROGRAMME_BUDGETS: dict[str, ProgrammeBudget] = {
    "PIP": ProgrammeBudget("PIP", 9_700_000, 8_215_000),
    "BSM": ProgrammeBudget("BSM", 1_250_000, 1_012_500),
}
