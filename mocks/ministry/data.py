"""The ministry's own figures: small, fixed and synthetic. Keyed by Kemendagri region code, by
programme code and, for school enrolment, by the hub's Person ID: the identifiers the ministry
shares with the hub."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import date
from functools import cache

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


# --- school enrolment (the ministry's Dapodik), by the hub's Person ID ----------------------------

# The synthetic population the demo seeds (`slrt-hub seed`/`demo`: seed 1): the ministry's register
# covers the school-age members of its first STUDENT_HOUSEHOLDS households. A real ministry would
# hold the hub IDs it has learned; the mock derives them from the same generator.
POPULATION_SEED = 1
STUDENT_HOUSEHOLDS = 120
SCHOOL_YEAR_START = date(YEAR, 7, 14)
PIP_DECILE_MAX = 4  # PIP goes to students from households in deciles 1-4


@dataclass(frozen=True, slots=True)
class SchoolEnrolment:
    person_id: str  # the hub's global Person ID
    npsn: str  # Nomor Pokok Sekolah Nasional of the school
    school_name: str
    level: str  # SD, SMP or SMA
    grade: int
    district_code: str  # where the school is: the student's district
    pip_recipient: bool


def hub_person_id(person_uuid: uuid.UUID) -> str:
    """The hub's global ID of a person (``base64url("Person:<uuid>")``, as the hub hands it out)."""
    return base64.urlsafe_b64encode(f"Person:{person_uuid}".encode()).decode().rstrip("=")


def _school(district_code: str, level: str, household_index: int) -> tuple[str, str]:
    number = 1 + household_index % 3
    digits = district_code.replace(".", "")
    npsn = f"{digits[2:6]}{'123'[('SD', 'SMP', 'SMA').index(level)]}{number:03d}"
    return npsn, f"{level} Negeri {number} kecamatan {district_code}"


@cache
def school_enrolments() -> dict[str, SchoolEnrolment]:
    """Every enrolled student of the school year, by the hub's Person ID."""
    from hub.seed.population import Population

    found: dict[str, SchoolEnrolment] = {}
    for household in Population(POPULATION_SEED).households(0, STUDENT_HOUSEHOLDS):
        for person in household.persons:
            age = person.age_on(SCHOOL_YEAR_START)
            if person.life_status != "alive" or not 7 <= age <= 18:
                continue
            grade = min(12, age - 6)
            level = "SD" if grade <= 6 else "SMP" if grade <= 9 else "SMA"
            npsn, name = _school(household.district_code, level, household.index)
            person_id = hub_person_id(person.id)
            found[person_id] = SchoolEnrolment(person_id=person_id, npsn=npsn, school_name=name, level=level,
                                               grade=grade, district_code=household.district_code,
                                               pip_recipient=household.decile <= PIP_DECILE_MAX)
    return found
