"""A small deterministic synthetic population for the mock systems.

Everything the five mocks serve derives from ``population(seed, size)``: the same seed gives the
same households, people and NIKs, so the sources agree and disagree the same way on every run.
This is the one function to switch to the shared generator (``hub.seed.population``) once it lands.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

VILLAGES = (
    "33.14.01.2001", "33.14.01.2002", "33.14.01.2003", "33.14.01.2004",
    "33.14.02.2001", "33.14.02.2002", "33.14.02.2003",
    "33.14.03.2001", "33.14.03.2002",
)
MALE = ("Budi", "Agus", "Slamet", "Joko", "Bambang", "Eko", "Hadi", "Sugeng", "Wahyu", "Teguh", "Rudi", "Yanto")
FEMALE = ("Sri", "Siti", "Wati", "Dewi", "Endang", "Rina", "Yuni", "Lestari", "Ani", "Tri", "Sumini", "Ratna")
FAMILY = ("Santoso", "Wibowo", "Susanto", "Purnomo", "Hartono", "Setiawan", "Rahayu", "Suparman", "Widodo")
PLACES = ("Sragen", "Surakarta", "Karanganyar", "Boyolali", "Klaten", "Sukoharjo")
STREETS = ("Jl. Raya", "Dukuh", "RT 01 RW 02", "Jl. Desa", "Gang Mawar", "Jl. Kenanga")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Person:
    """``name``/``birth_*`` are the civil registry's truth; ``registry_*`` what SIKS-NG holds (sometimes wrong)."""

    member_id: str
    nik: str
    nik_in_civil_registry: bool
    name: str
    registry_name: str
    sex: str  # "M" / "F"
    birth_date: date
    registry_birth_date: date
    birth_place: str
    relationship: int  # SIKS-NG hub_krt code, 1 = head
    kk_number: str
    has_disability: bool


@dataclass(slots=True)
class Household:
    household_id: str
    version: int
    updated_at: datetime
    village_code: str
    address: str
    decile: int
    members: list[Person] = field(default_factory=list)
    deleted: bool = False  # deleted at the source: served as a tombstone (status DIHAPUS), left out of tallies


def build_nik(village_code: str, birth: date, female: bool, serial: int) -> str:
    district = village_code.replace(".", "")[:6]
    day = birth.day + (40 if female else 0)
    return f"{district}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial % 10000:04d}"


def _misspell(rng: random.Random, name: str) -> str:
    i = rng.randrange(len(name))
    return name[:i] + rng.choice("aiueo") + name[i + 1:]


def population(seed: int, size: int) -> Iterator[Household]:
    """``size`` households, each with 1-6 members, in ``VILLAGES``. Deterministic in ``seed``."""
    rng = random.Random(seed)
    serial = 0
    for h in range(size):
        village = VILLAGES[rng.randrange(len(VILLAGES))]
        household = Household(
            household_id=f"RT{seed:03d}{h:07d}",
            version=1 + rng.randrange(3),
            updated_at=EPOCH + timedelta(minutes=rng.randrange(60 * 24 * 300)),
            village_code=village,
            address=f"{rng.choice(STREETS)} {rng.randrange(1, 99)}",
            decile=min(10, 1 + int(rng.expovariate(0.45))),
        )
        kk = f"{village.replace('.', '')[:6]}{rng.randrange(10**9, 10**10)}"
        family = rng.choice(FAMILY)
        size_here = 1 + min(5, int(rng.expovariate(0.5)))
        for m in range(size_here):
            serial += 1
            relationship = 1 if m == 0 else (2 if m == 1 else rng.choice((3, 3, 3, 5, 6, 7)))
            female = (m == 1) if m < 2 else rng.random() < 0.5
            age = (rng.randrange(25, 70) if relationship in (1, 2, 6) else rng.randrange(0, 24))
            birth = date(2026 - age, 1 + rng.randrange(12), 1 + rng.randrange(28))
            first = rng.choice(FEMALE if female else MALE)
            name = f"{first} {family}"
            nik = build_nik(village, birth, female, serial)
            quality = rng.random()
            in_civil = True
            if quality < 0.02:
                nik = nik[:-1]  # 15 digits: a typing error the registry kept
                in_civil = False
            elif quality < 0.03:
                in_civil = False  # well-formed, but Dukcapil has no such NIK
            registry_name = _misspell(rng, name) if rng.random() < 0.08 else name
            registry_birth = birth + timedelta(days=rng.choice((1, 30, 365))) if rng.random() < 0.05 else birth
            household.members.append(Person(
                member_id=f"ART{seed:03d}{serial:08d}", nik=nik, nik_in_civil_registry=in_civil,
                name=name, registry_name=registry_name, sex="F" if female else "M",
                birth_date=birth, registry_birth_date=registry_birth,
                birth_place=rng.choice(PLACES), relationship=relationship, kk_number=kk,
                has_disability=rng.random() < 0.04,
            ))
        yield household
