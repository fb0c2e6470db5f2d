"""A deterministic synthetic population: households, family cards, persons, programme enrolments,
needs, complaints and cases.

Pure and streaming: no database, no web framework. Household ``i`` of a population is computed from
``(seed, i)`` alone, so a mock government system can serve page 5,000 without generating pages
0-4,999, and the database seeder and the mocks agree on every record. Identifiers (UUIDs, NIKs, KK
numbers, registry ids) are deterministic too.

What the data is meant to exercise:

* NIKs built from the household's district, the person's sex and birth date (``build_nik``), with
  ~0.5 % of persons carrying a malformed NIK (wrong length, a letter, an impossible date) and
  ~0.15 % carrying a copy of another household's head's NIK (so ~0.3 % of persons share a NIK).
  The generator only *produces* these; flagging them is the writer's job.
* Welfare deciles skewed to the poor, each household with 1-3 registry versions of history.
* Enrolments following each programme's decile band (:data:`PROGRAMMES`) with deliberate
  targeting errors: ~10 % of eligible units left out (exclusion) and ~5 % of enrolments outside
  the band (inclusion).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Final

from faker.providers.address.id_ID import Provider as _AddressProvider
from faker.providers.person.id_ID import Provider as _PersonProvider

from hub.identity import build_kk, build_nik
from hub.regions.loader import iter_regions

__all__ = [
    "DEFAULT_REGENCIES",
    "PARTNERS",
    "PROGRAMMES",
    "REFERENCE_DATE",
    "SOURCE_SYSTEM",
    "CaseEventRecord",
    "CaseRecord",
    "ComplaintRecord",
    "DecileRecord",
    "EnrolmentRecord",
    "FamilyRecord",
    "HouseholdRecord",
    "NeedRecord",
    "PartnerSpec",
    "PersonRecord",
    "Population",
    "ProgrammeSpec",
]

SOURCE_SYSTEM: Final = "synthetic"

# Kabupaten Sragen, Kota Surakarta, Kabupaten Bandung, Kabupaten Malang, Kota Makassar:
# rural and urban, Java and beyond, ~1,100 villages between them.
DEFAULT_REGENCIES: Final = ("33.14", "33.72", "32.04", "35.07", "73.71")

# Ages and dates are computed against this fixed day, never the clock, so a population generated
# next year is the same population.
REFERENCE_DATE: Final = date(2025, 6, 30)


# --- the programme catalogue -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartnerSpec:
    code: str
    name: str
    kind: str
    region_code: str | None


@dataclass(frozen=True, slots=True)
class ProgrammeSpec:
    code: str
    name: str
    owner_agency: str
    level: str  # hub.models.ProgrammeLevel values
    target_unit: str  # hub.models.TargetUnit values
    decile_min: int | None
    decile_max: int | None
    eligibility: str
    partner_code: str | None = None

    def in_band(self, decile: int) -> bool:
        lo = self.decile_min if self.decile_min is not None else 1
        hi = self.decile_max if self.decile_max is not None else 10
        return lo <= decile <= hi


BAZNAS: Final = PartnerSpec(
    code="BAZNAS", name="Badan Amil Zakat Nasional (BAZNAS RI)", kind="baznas", region_code=None
)
PARTNERS: Final = (BAZNAS,)

PROGRAMMES: Final = (
    ProgrammeSpec(
        code="PKH", name="Program Keluarga Harapan", owner_agency="Kementerian Sosial",
        level="central", target_unit="household", decile_min=1, decile_max=2,
        eligibility="Conditional cash transfer for households in deciles 1-2 with at least one "
        "component: a child under 18, a member aged 60 or over, or a member with a disability.",
    ),
    ProgrammeSpec(
        code="BPNT", name="Bantuan Pangan Non Tunai (Program Sembako)", owner_agency="Kementerian Sosial",
        level="central", target_unit="household", decile_min=1, decile_max=3,
        eligibility="Monthly food assistance on an electronic card for households in deciles 1-3.",
    ),
    ProgrammeSpec(
        code="PBI-JK", name="Penerima Bantuan Iuran Jaminan Kesehatan (KIS)",
        owner_agency="Kementerian Kesehatan / BPJS Kesehatan",
        level="central", target_unit="individual", decile_min=1, decile_max=4,
        eligibility="State-paid national health insurance premium for every living member of a "
        "household in deciles 1-4.",
    ),
    ProgrammeSpec(
        code="PIP", name="Program Indonesia Pintar (KIP)",
        owner_agency="Kementerian Pendidikan Dasar dan Menengah / Kementerian Agama",
        level="central", target_unit="individual", decile_min=1, decile_max=4,
        eligibility="Cash for school costs for school-age members (6-21) of households in deciles 1-4.",
    ),
    ProgrammeSpec(
        code="BAZNAS-ZAKAT", name="Bantuan Zakat Mustahik BAZNAS", owner_agency="BAZNAS",
        level="non_government", target_unit="household", decile_min=1, decile_max=2,
        eligibility="Zakat assistance for households in deciles 1-2 headed by a woman or by someone "
        "aged 60 or over, or with a member with a disability.",
        partner_code=BAZNAS.code,
    ),
)
_PROGRAMME_BY_CODE: Final = {p.code: p for p in PROGRAMMES}


# --- records ---------------------------------------------------------------------------------


@dataclass(slots=True)
class DecileRecord:
    id: uuid.UUID
    decile: int
    registry_version: str
    registry_date: date


@dataclass(slots=True)
class FamilyRecord:
    id: uuid.UUID
    source_record_id: str
    kk_number: str
    issue_date: date


@dataclass(slots=True)
class PersonRecord:
    id: uuid.UUID
    source_record_id: str
    nik: str
    name: str
    sex: str  # "M" or "F"
    birth_date: date
    birth_place: str
    relationship: str  # hub.models.Relationship values
    disabilities: tuple[str, ...]
    life_status: str  # hub.models.LifeStatus values
    family_id: uuid.UUID | None
    # What the generator did to the NIK on purpose: None, "length", "letter", "date" or
    # "duplicate". Kept for tests and mocks; the database learns it from parse_nik instead.
    nik_defect: str | None = None

    def age_on(self, day: date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass(slots=True)
class EnrolmentRecord:
    id: uuid.UUID
    source_record_id: str
    programme_code: str
    person_id: uuid.UUID | None
    status: str  # hub.models.EnrolmentStatus values
    period_start: date
    period_end: date | None
    in_band: bool  # False for a deliberate inclusion error


@dataclass(slots=True)
class NeedRecord:
    id: uuid.UUID
    person_id: uuid.UUID | None
    category: str
    description: str
    status: str  # hub.models.SubmissionStatus values
    recorded_by: str
    recorded_at: datetime


ComplaintRecord = NeedRecord


@dataclass(slots=True)
class CaseEventRecord:
    id: uuid.UUID
    actor: str
    role: str
    from_status: str | None
    to_status: str
    reason: str
    at: datetime


@dataclass(slots=True)
class CaseRecord:
    id: uuid.UUID
    need_id: uuid.UUID | None
    complaint_id: uuid.UUID | None
    programme_code: str | None
    partner_code: str | None
    status: str  # hub.models.CaseStatus values
    recommendation: str | None
    opened_at: datetime
    due_at: datetime | None
    events: tuple[CaseEventRecord, ...]


@dataclass(slots=True)
class HouseholdRecord:
    index: int
    id: uuid.UUID
    registry_id: str
    source_record_id: str
    village_code: str
    address: str
    decile: int
    deciles: tuple[DecileRecord, ...]
    families: tuple[FamilyRecord, ...]
    persons: tuple[PersonRecord, ...]
    enrolments: tuple[EnrolmentRecord, ...]
    needs: tuple[NeedRecord, ...]
    complaints: tuple[ComplaintRecord, ...]
    cases: tuple[CaseRecord, ...]

    @property
    def district_code(self) -> str:
        return self.village_code[:8]

    @property
    def source_version(self) -> str:
        return self.deciles[-1].registry_version


# --- reference lists, extracted once ---------------------------------------------------------

_FIRST_MALE: Final = tuple(_PersonProvider.first_names_male)
_FIRST_FEMALE: Final = tuple(_PersonProvider.first_names_female)
_LAST_MALE: Final = tuple(_PersonProvider.last_names_male)
_LAST_FEMALE: Final = tuple(_PersonProvider.last_names_female)
_STREETS: Final = tuple(_AddressProvider.streets)
_CITIES: Final = tuple(_AddressProvider.cities)


@dataclass(frozen=True, slots=True)
class _Village:
    code: str
    district_code: str
    birth_place: str  # the regency's name without "Kabupaten"/"Kota"


@lru_cache(maxsize=8)
def _villages(regencies: tuple[str, ...]) -> tuple[_Village, ...]:
    wanted = set(regencies)
    names: dict[str, str] = {}
    villages: list[tuple[str, str]] = []
    for code, name, level, _parent in iter_regions():
        if level == 2 and code in wanted:
            names[code] = name.removeprefix("Kabupaten ").removeprefix("Kota ")
        elif level == 4 and code[:5] in wanted:
            villages.append((code, code[:5]))
    missing = sorted(wanted - names.keys())
    if missing:
        raise ValueError(f"unknown regency code(s): {', '.join(missing)} (expected codes like '33.14')")
    return tuple(_Village(code, code[:8], names[regency]) for code, regency in villages)


# Registry versions a household may carry; the newest one holds its current decile.
_REGISTRY_VERSIONS: Final = (
    ("DTKS-2023-06", date(2023, 6, 30)),
    ("DTKS-2024-06", date(2024, 6, 30)),
    ("DTKS-2025-03", date(2025, 3, 31)),
)

# The registry holds the poorest 40 %: most of its households sit in the low deciles.
_DECILE_WEIGHTS: Final = (20, 18, 16, 14, 10, 8, 6, 4, 2, 2)
_DECILE_CUM: Final = tuple(accumulate(_DECILE_WEIGHTS))
_DECILES: Final = tuple(range(1, 11))

# Household size 1-7, mean ~4.0.
_SIZE_WEIGHTS: Final = (6, 13, 21, 25, 17, 10, 8)
_SIZE_CUM: Final = tuple(accumulate(_SIZE_WEIGHTS))
_SIZES: Final = tuple(range(1, 8))

_DISABILITIES: Final = ("physical", "visual", "hearing", "speech", "intellectual", "mental")
_DISABILITY_CUM: Final = tuple(accumulate((35, 20, 15, 5, 15, 10)))

_NEED_CATEGORIES: Final = {
    # category: (programme code or None, partner code or None, description)
    "health": ("PBI-JK", None, "Needs health insurance to cover treatment"),
    "education": ("PIP", None, "School-age child needs help with school costs"),
    "food": ("BPNT", None, "Household short of food"),
    "cash_assistance": ("PKH", None, "Household needs regular cash support"),
    "housing": ("BAZNAS-ZAKAT", BAZNAS.code, "House unfit to live in, needs repair"),
    "disability_aid": ("BAZNAS-ZAKAT", BAZNAS.code, "Member with a disability needs an assistive device"),
    "elderly_care": ("BAZNAS-ZAKAT", BAZNAS.code, "Elderly member needs care"),
    "employment": (None, BAZNAS.code, "Working-age member needs work or business capital"),
}
_NEED_KEYS: Final = tuple(_NEED_CATEGORIES)

_COMPLAINT_CATEGORIES: Final = {
    "aid_not_received": ("BPNT", None, "Assistance for this period has not arrived"),
    "aid_amount": ("PKH", None, "Amount received is less than announced"),
    "wrong_data": ("PBI-JK", None, "Registry data about a member is wrong"),
    "not_registered": ("PKH", None, "Household is poor but not in the registry"),
    "excluded_from_programme": ("BPNT", None, "Eligible household not enrolled"),
    "service_quality": (None, BAZNAS.code, "Rude or slow service at the distribution point"),
}
_COMPLAINT_KEYS: Final = tuple(_COMPLAINT_CATEGORIES)

_SUBMISSION_STATUSES: Final = ("submitted", "approved", "rejected", "returned")
_SUBMISSION_CUM: Final = tuple(accumulate((35, 45, 10, 10)))

# Final case states and the path that leads to each.
_CASE_PATHS: Final = {
    "open": ("open",),
    "referred": ("open", "referred"),
    "further_study": ("open", "referred", "further_study"),
    "approved": ("open", "referred", "approved"),
    "rejected": ("open", "referred", "rejected"),
    "informed": ("open", "referred", "approved", "informed"),
}
_CASE_FINAL: Final = tuple(_CASE_PATHS)
_CASE_CUM: Final = tuple(accumulate((15, 25, 10, 20, 10, 20)))
_CASE_ROLES: Final = {
    "open": "supervisor",
    "referred": "manager",
    "further_study": "programme_owner",
    "approved": "programme_owner",
    "rejected": "programme_owner",
    "informed": "facilitator",
}

_ENROLMENT_STATUSES: Final = ("active", "suspended", "ended")
_ENROLMENT_CUM: Final = tuple(accumulate((85, 5, 10)))

# Targeting error model. Exclusion: an eligible unit is left out with this probability.
EXCLUSION_RATE: Final = 0.10
# Inclusion: this share of a programme's enrolments lies outside its decile band.
INCLUSION_SHARE: Final = 0.05

# Defects, per non-head member (heads are never altered: a duplicate copies a head's NIK, so the
# original must stay intact). About 70 % of persons are not heads.
_P_INVALID_NIK: Final = 0.007
_P_DUPLICATE_NIK: Final = 0.0021
_DUPLICATE_LOOKBACK: Final = 1000

_LETTER_FOR_DIGIT: Final = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B"}


def _inclusion_rates(spec: ProgrammeSpec) -> dict[int, float]:
    """Per out-of-band decile, the chance a unit is enrolled anyway.

    Decays by half per decile away from the band (near-poor households are the usual inclusion
    errors) and is scaled so that, with the decile weights above, ~INCLUSION_SHARE of enrolments
    are out of band.
    """
    total = sum(_DECILE_WEIGHTS)
    p_band = sum(w for d, w in zip(_DECILES, _DECILE_WEIGHTS, strict=True) if spec.in_band(d)) / total
    hi = spec.decile_max or 10
    lo = spec.decile_min or 1
    decay = {d: 0.5 ** (min(abs(d - hi), abs(d - lo)) - 1) for d in _DECILES if not spec.in_band(d)}
    mass = sum(_DECILE_WEIGHTS[d - 1] / total * f for d, f in decay.items())
    if mass == 0:
        return {}
    target = INCLUSION_SHARE / (1 - INCLUSION_SHARE) * (1 - EXCLUSION_RATE) * p_band
    scale = target / mass
    return {d: min(1.0, scale * f) for d, f in decay.items()}


_INCLUSION: Final = {p.code: _inclusion_rates(p) for p in PROGRAMMES}

_UTC: Final = UTC
_REF_ORDINAL: Final = REFERENCE_DATE.toordinal()

# UUID layout (version 8, "custom"): 64 bits from the seed | variant | 38 bits household index |
# 8 bits kind | 16 bits sub-index. Collision-free within a seed for any realistic population.
_KIND_HOUSEHOLD, _KIND_FAMILY, _KIND_PERSON, _KIND_DECILE = 1, 2, 3, 4
_KIND_ENROLMENT, _KIND_NEED, _KIND_COMPLAINT, _KIND_CASE, _KIND_EVENT = 5, 6, 7, 8, 9
_MAX_INDEX: Final = 1 << 38


def _mix64(x: int) -> int:
    # splitmix64 finaliser: spreads nearby seeds over the whole 64-bit space.
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


class Population:
    """The synthetic population for one seed over a set of regencies.

    ``household(i)`` is a pure function of ``(seed, regencies, i)``; ``households(start, stop)``
    streams a range of them with constant memory. An instance reuses one random stream, so it
    must not be shared between threads; instances are cheap (the village list is cached).
    """

    def __init__(self, seed: int = 1, regencies: Sequence[str] = DEFAULT_REGENCIES) -> None:
        if seed < 0:
            raise ValueError("seed must be a non-negative integer")
        self.seed = seed
        self.regencies = tuple(dict.fromkeys(regencies))
        if not self.regencies:
            raise ValueError("at least one regency is needed")
        self._villages = _villages(self.regencies)
        if not self._villages:
            raise ValueError("the chosen regencies have no villages")
        mix = _mix64(seed)
        # Version nibble 8 in the high half, variant bits 10 in the low half.
        self._uuid_high = ((mix & ~(0xF << 12)) | (0x8 << 12)) << 64
        self._uuid_variant = 1 << 63
        self._rng_base = seed << 40
        self._rng = random.Random()

    def households(self, start: int = 0, stop: int | None = None) -> Iterator[HouseholdRecord]:
        i = start
        while stop is None or i < stop:
            yield self.household(i)
            i += 1

    def household(self, i: int) -> HouseholdRecord:
        if not 0 <= i < _MAX_INDEX:
            raise ValueError(f"household index out of range: {i}")
        return self._generate(i, with_defects=True)

    # -- internals ----------------------------------------------------------------------------

    def _uuid(self, i: int, kind: int, k: int) -> uuid.UUID:
        return uuid.UUID(int=self._uuid_high | self._uuid_variant | (i << 24) | (kind << 16) | k)

    def _generate(self, i: int, *, with_defects: bool) -> HouseholdRecord:
        # A fresh stream per household: the draws below consume it in a fixed order, so a record
        # depends on nothing but (seed, i). Defects are drawn last, which lets another household
        # regenerate this one's undamaged base (see _head_nik).
        rng = random.Random(self._rng_base | i) if not with_defects else self._rng
        if with_defects:
            rng.seed(self._rng_base | i)
        rand = rng.random
        randrange = rng.randrange

        village = self._villages[randrange(len(self._villages))]
        district = village.district_code
        hh_id = self._uuid(i, _KIND_HOUSEHOLD, 0)
        source_id = f"{self.seed}:{i}"
        registry_id = f"{village.code.replace('.', '')}{i:010d}"
        address = (
            f"{'Jl.' if rand() < 0.7 else 'Gg.'} {_STREETS[randrange(len(_STREETS))]} "
            f"No. {randrange(1, 200)}, RT {randrange(1, 16):03d}/RW {randrange(1, 10):03d}"
        )

        decile = rng.choices(_DECILES, cum_weights=_DECILE_CUM)[0]
        n_versions = 1 + randrange(3)
        history = []
        d = decile
        for v in range(n_versions):
            version, vdate = _REGISTRY_VERSIONS[len(_REGISTRY_VERSIONS) - 1 - v]
            history.append(DecileRecord(self._uuid(i, _KIND_DECILE, v), d, version, vdate))
            d = min(10, max(1, d + (-1, 0, 0, 1)[randrange(4)]))
        history.reverse()

        persons = self._members(rng, i, district, village.birth_place)
        families = self._families(rng, i, district, persons)

        enrolments = self._enrolments(rng, i, decile, persons)
        needs, complaints, cases = self._submissions(rng, i, district, persons)

        if with_defects:
            self._defects(rng, i, persons)

        return HouseholdRecord(
            index=i, id=hh_id, registry_id=registry_id, source_record_id=source_id,
            village_code=village.code, address=address, decile=decile, deciles=tuple(history),
            families=families, persons=tuple(persons), enrolments=enrolments, needs=needs,
            complaints=complaints, cases=cases,
        )

    def _person(
        self, rng: random.Random, i: int, k: int, district: str, birth_place: str,
        sex: str, age: int, relationship: str,
    ) -> PersonRecord:
        rand = rng.random
        randrange = rng.randrange
        birth = date.fromordinal(_REF_ORDINAL - age * 365 - age // 4 - randrange(365))
        if sex == "M":
            name = _FIRST_MALE[randrange(len(_FIRST_MALE))]
            if rand() < 0.55:
                name = f"{name} {_LAST_MALE[randrange(len(_LAST_MALE))]}"
        else:
            name = _FIRST_FEMALE[randrange(len(_FIRST_FEMALE))]
            if rand() < 0.55:
                name = f"{name} {_LAST_FEMALE[randrange(len(_LAST_FEMALE))]}"
        if rand() < 0.15:
            birth_place = _CITIES[randrange(len(_CITIES))]
        nik = build_nik(district, sex, birth, randrange(1, 10000))

        disabilities: tuple[str, ...] = ()
        if rand() < 0.02 + 0.0015 * max(0, age - 40):
            first = rng.choices(_DISABILITIES, cum_weights=_DISABILITY_CUM)[0]
            if rand() < 0.1:
                second = rng.choices(_DISABILITIES, cum_weights=_DISABILITY_CUM)[0]
                disabilities = (first,) if second == first else (first, second)
            else:
                disabilities = (first,)

        life_status = "alive"
        if relationship != "head":
            roll = rand()
            if roll < 0.01 + (0.06 if age >= 70 else 0.0):
                life_status = "deceased"
            elif 18 <= age <= 40 and roll > 0.96:
                life_status = "moved"

        return PersonRecord(
            id=self._uuid(i, _KIND_PERSON, k), source_record_id=f"{self.seed}:{i}:{k}", nik=nik,
            name=name, sex=sex, birth_date=birth, birth_place=birth_place, relationship=relationship,
            disabilities=disabilities, life_status=life_status, family_id=None,
        )

    def _members(self, rng: random.Random, i: int, district: str, place: str) -> list[PersonRecord]:
        rand = rng.random
        randrange = rng.randrange
        size = rng.choices(_SIZES, cum_weights=_SIZE_CUM)[0]
        head_sex = "F" if rand() < 0.16 else "M"
        head_age = int(rng.triangular(20, 86, 42))
        people = [self._person(rng, i, 0, district, place, head_sex, head_age, "head")]
        remaining = size - 1

        mother_age: int | None = head_age if head_sex == "F" else None
        married = remaining > 0 and rand() < (0.93 if head_sex == "M" else 0.2)
        if married:
            spouse_sex = "F" if head_sex == "M" else "M"
            spouse_age = max(18, min(90, head_age + (randrange(-8, 3) if head_sex == "M" else randrange(-2, 8))))
            people.append(self._person(rng, i, 1, district, place, spouse_sex, spouse_age, "spouse"))
            if spouse_sex == "F":
                mother_age = spouse_age
            remaining -= 1

        if remaining > 0 and head_age < 55 and rand() < 0.15:
            parents = 2 if remaining >= 2 and rand() < 0.4 else 1
            for p in range(parents):
                age = head_age + randrange(20, 33)
                if age > 90:
                    break
                sex = "F" if p == 0 else "M"
                people.append(self._person(rng, i, len(people), district, place, sex, age, "parent"))
                remaining -= 1

        grandchildren = remaining if head_age >= 50 and rand() < 0.35 else 0
        grandchildren = min(grandchildren, randrange(1, 4)) if grandchildren else 0
        for _ in range(grandchildren):
            age = randrange(0, max(1, min(16, head_age - 38)))
            sex = "M" if rand() < 0.51 else "F"
            people.append(self._person(rng, i, len(people), district, place, sex, age, "grandchild"))
            remaining -= 1

        for _ in range(remaining):
            sex = "M" if rand() < 0.51 else "F"
            base = mother_age if mother_age is not None else head_age
            age = base - randrange(18, 41)
            relationship = "child"
            if age < 0:
                age = randrange(5, 60)
                relationship = "other_relative"
            people.append(self._person(rng, i, len(people), district, place, sex, age, relationship))
        return people

    def _families(
        self, rng: random.Random, i: int, district: str, persons: list[PersonRecord]
    ) -> tuple[FamilyRecord, ...]:
        # The head's family card holds everyone, unless the head's parents or the grandchildren
        # (a married child's family) keep a card of their own.
        second = None
        if any(p.relationship == "parent" for p in persons) and rng.random() < 0.6:
            second = "parent"
        elif any(p.relationship == "grandchild" for p in persons) and rng.random() < 0.5:
            second = "grandchild"
        cards = 2 if second else 1
        families = []
        for k in range(cards):
            issued = date.fromordinal(date(2008, 1, 1).toordinal() + rng.randrange(6000))
            if issued > REFERENCE_DATE:
                issued = REFERENCE_DATE
            kk = build_kk(district, issued, rng.randrange(1, 10000))
            families.append(FamilyRecord(self._uuid(i, _KIND_FAMILY, k), f"{self.seed}:{i}:kk{k}", kk, issued))
        for p in persons:
            p.family_id = families[1 if second is not None and p.relationship == second else 0].id
        return tuple(families)

    def _enrolments(
        self, rng: random.Random, i: int, decile: int, persons: list[PersonRecord]
    ) -> tuple[EnrolmentRecord, ...]:
        rand = rng.random
        ages = [p.age_on(REFERENCE_DATE) for p in persons]
        present = [p.life_status == "alive" for p in persons]
        head = persons[0]
        component = any(
            ok and (a < 18 or a >= 60 or bool(p.disabilities))
            for p, a, ok in zip(persons, ages, present, strict=True)
        )
        mustahik = head.sex == "F" or ages[0] >= 60 or any(p.disabilities for p in persons)
        household_condition = {"PKH": component, "BPNT": True, "BAZNAS-ZAKAT": mustahik}

        out: list[EnrolmentRecord] = []

        def decide(spec: ProgrammeSpec) -> bool | None:
            # True: enrol in band; False: enrol out of band (inclusion error); None: not enrolled.
            if spec.in_band(decile):
                return True if rand() >= EXCLUSION_RATE else None
            return False if rand() < _INCLUSION[spec.code].get(decile, 0.0) else None

        def add(spec: ProgrammeSpec, person: PersonRecord | None, in_band: bool) -> None:
            k = len(out)
            status = rng.choices(_ENROLMENT_STATUSES, cum_weights=_ENROLMENT_CUM)[0]
            start = date.fromordinal(_REF_ORDINAL - 30 - rng.randrange(6 * 365))
            end = None
            if status == "ended":
                end = date.fromordinal(min(_REF_ORDINAL, start.toordinal() + 180 + rng.randrange(3 * 365)))
            out.append(EnrolmentRecord(
                id=self._uuid(i, _KIND_ENROLMENT, k), source_record_id=f"{self.seed}:{i}:{spec.code}:{k}",
                programme_code=spec.code, person_id=person.id if person else None, status=status,
                period_start=start, period_end=end, in_band=in_band,
            ))

        for spec in PROGRAMMES:
            if spec.target_unit == "household":
                if household_condition[spec.code]:
                    verdict = decide(spec)
                    if verdict is not None:
                        add(spec, None, verdict)
                continue
            for p, a, ok in zip(persons, ages, present, strict=True):
                if not ok or (spec.code == "PIP" and not 6 <= a <= 21):
                    continue
                verdict = decide(spec)
                if verdict is not None:
                    add(spec, p, verdict)
        return tuple(out)

    def _submissions(
        self, rng: random.Random, i: int, district: str, persons: list[PersonRecord]
    ) -> tuple[tuple[NeedRecord, ...], tuple[ComplaintRecord, ...], tuple[CaseRecord, ...]]:
        rand = rng.random
        randrange = rng.randrange
        needs: list[NeedRecord] = []
        complaints: list[ComplaintRecord] = []
        cases: list[CaseRecord] = []
        facilitator = f"synthetic:facilitator:{district}"
        n_needs = (1 + (rand() < 0.3)) if rand() < 0.10 else 0
        n_complaints = 1 if rand() < 0.05 else 0
        for kind, count, keys, table in (
            (_KIND_NEED, n_needs, _NEED_KEYS, _NEED_CATEGORIES),
            (_KIND_COMPLAINT, n_complaints, _COMPLAINT_KEYS, _COMPLAINT_CATEGORIES),
        ):
            for k in range(count):
                category = keys[randrange(len(keys))]
                programme, partner, description = table[category]
                person = persons[randrange(len(persons))] if rand() < 0.5 else None
                status = rng.choices(_SUBMISSION_STATUSES, cum_weights=_SUBMISSION_CUM)[0]
                recorded = datetime.combine(
                    date.fromordinal(_REF_ORDINAL - 20 - randrange(365)), time(8 + randrange(9)), _UTC
                )
                record = NeedRecord(
                    id=self._uuid(i, kind, k), person_id=person.id if person else None, category=category,
                    description=description, status=status, recorded_by=facilitator, recorded_at=recorded,
                )
                (needs if kind == _KIND_NEED else complaints).append(record)
                if status == "approved" and rand() < 0.8:
                    cases.append(self._case(rng, i, len(cases), district, record, kind, programme, partner))
        return tuple(needs), tuple(complaints), tuple(cases)

    def _case(
        self, rng: random.Random, i: int, k: int, district: str, origin: NeedRecord, kind: int,
        programme: str | None, partner: str | None,
    ) -> CaseRecord:
        final = rng.choices(_CASE_FINAL, cum_weights=_CASE_CUM)[0]
        at = origin.recorded_at + timedelta(days=1 + rng.randrange(5))
        opened = at
        events = []
        previous: str | None = None
        due_at = None
        for n, state in enumerate(_CASE_PATHS[final]):
            role = _CASE_ROLES[state]
            if state == "referred":
                due_at = at + timedelta(days=30)
            events.append(CaseEventRecord(
                id=self._uuid(i, _KIND_EVENT, k * 8 + n), actor=f"synthetic:{role}:{district}", role=role,
                from_status=previous, to_status=state, reason="" if state != "rejected" else "Not eligible",
                at=at,
            ))
            previous = state
            at += timedelta(days=1 + rng.randrange(10), hours=rng.randrange(8))
        recommendation = f"Refer to {programme or partner}" if final != "open" else None
        return CaseRecord(
            id=self._uuid(i, _KIND_CASE, k),
            need_id=origin.id if kind == _KIND_NEED else None,
            complaint_id=origin.id if kind == _KIND_COMPLAINT else None,
            programme_code=programme, partner_code=partner if programme is None else
            _PROGRAMME_BY_CODE[programme].partner_code,
            status=final, recommendation=recommendation, opened_at=opened, due_at=due_at, events=tuple(events),
        )

    def _defects(self, rng: random.Random, i: int, persons: list[PersonRecord]) -> None:
        rand = rng.random
        for p in persons[1:]:
            roll = rand()
            if roll < _P_INVALID_NIK:
                p.nik, p.nik_defect = _damage(rng, p.nik)
            elif roll < _P_INVALID_NIK + _P_DUPLICATE_NIK and i > 0:
                p.nik = self._head_nik(i - 1 - rng.randrange(min(i, _DUPLICATE_LOOKBACK)))
                p.nik_defect = "duplicate"

    def _head_nik(self, j: int) -> str:
        # Heads are never damaged, so household j's head holds this NIK in the final data too.
        return self._generate(j, with_defects=False).persons[0].nik


def _damage(rng: random.Random, nik: str) -> tuple[str, str]:
    kind = ("length", "letter", "date")[rng.randrange(3)]
    if kind == "length":
        return (nik[:-1] if rng.random() < 0.5 else nik + str(rng.randrange(10))), kind
    if kind == "letter":
        positions = [n for n, c in enumerate(nik) if c in _LETTER_FOR_DIGIT]
        n = positions[rng.randrange(len(positions))] if positions else 15
        letter = _LETTER_FOR_DIGIT.get(nik[n], "O")
        return nik[:n] + letter + nik[n + 1:], kind
    # Month 13-19: no calendar date exists.
    return f"{nik[:8]}1{rng.randrange(3, 10)}{nik[10:]}", kind
