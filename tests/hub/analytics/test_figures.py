"""Exact figures on the hand-built population of ``population.py``; each number is derived there."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from auth.permissions import PERMISSIONS, Permission
from auth.principal import Principal, RegionScope, Role
from hub.analytics import service as analytics
from hub.analytics.service import Dashboard, FlagKind, Protection, Section
from hub.errors import Forbidden, Invalid, NotFound
from tests.hub.analytics.population import (
    AS_OF,
    DISTRICT_AB,
    NOW,
    PROGRAMME_CODES,
    REGENCY,
    VILLAGE_A,
    VILLAGE_B,
    Population,
    build_population,
)

MANAGER = Principal("mgr", Role.manager, RegionScope.of(REGENCY))
MANAGER_A = Principal("mgr-a", Role.manager, RegionScope.of(VILLAGE_A))
FACILITATOR_A = Principal("fac-a", Role.facilitator, RegionScope.of(VILLAGE_A))
SUPERVISOR_AB = Principal("sup-ab", Role.supervisor, RegionScope.of(DISTRICT_AB))


@pytest.fixture
async def population(session: AsyncSession) -> Population:
    return await build_population(session)


async def dashboard(session: AsyncSession, principal: Principal, region: str | None = None,
                    codes: list[str] | None = PROGRAMME_CODES, **kw: Any) -> Dashboard:
    return await analytics.build_dashboard(session, principal, threshold=5, region_code=region,
                                           programme_codes=codes, as_of=AS_OF, now=NOW, **kw)


def by_decile(d: Dashboard, code: str, attr: str) -> dict[int, Any]:
    return {c.decile: getattr(c, attr) for c in d.coverage if c.programme_code == code
            and getattr(c, attr) not in (0, None)}


def overlap_cells(d: Dashboard) -> dict[tuple[str, ...], int | None]:
    assert d.overlap is not None
    return {c.programmes: c.households for c in d.overlap.cells if c.households != 0}


async def test_coverage_by_decile(session: AsyncSession, population: Population) -> None:
    d = await dashboard(session, MANAGER)
    assert not d.protection.applied
    assert d.name_matches == 1
    assert by_decile(d, "PKH", "registry_households") == {1: 10, 2: 2, 3: 1, 5: 1, 7: 1}
    assert by_decile(d, "PKH", "registry_persons") == {1: 13, 2: 2, 3: 2, 5: 1, 7: 1}
    assert by_decile(d, "PKH", "eligible_households") == {1: 10, 2: 2}
    assert by_decile(d, "PKH", "enrolled_households") == {1: 3, 2: 1, 7: 1}
    assert by_decile(d, "PKH", "enrolled_persons") == {1: 5, 2: 1, 7: 1}
    assert by_decile(d, "PKH", "coverage_rate") == {1: 0.3, 2: 0.5}
    assert by_decile(d, "BPNT", "eligible_households") == {1: 10, 2: 2, 3: 1}
    assert by_decile(d, "BPNT", "enrolled_households") == {1: 3, 5: 1}
    assert by_decile(d, "BPNT", "enrolled_persons") == {1: 6, 5: 1}
    # PIP is individual: A1's child, L1 (linked to A2 by NIK), L2 (to A4 by name), L3 (decile 0: unknown).
    assert by_decile(d, "PIP", "enrolled_households") == {0: 1, 1: 2, 3: 1}
    assert by_decile(d, "PIP", "enrolled_persons") == {0: 1, 1: 2, 3: 1}
    assert by_decile(d, "BAZNAS", "eligible_households") == {}
    assert by_decile(d, "BAZNAS", "enrolled_households") == {2: 1}
    assert {c.decile for c in d.coverage if c.programme_code == "PKH"} == set(range(11))


async def test_overlap_counts_every_combination(session: AsyncSession, population: Population) -> None:
    d = await dashboard(session, MANAGER)
    assert d.overlap is not None
    assert d.overlap.programmes == ("BAZNAS", "BPNT", "PIP", "PKH")
    assert len(d.overlap.cells) == 16
    assert overlap_cells(d) == {
        (): 7, ("PIP",): 2, ("BPNT",): 1, ("PKH",): 2, ("BPNT", "PIP"): 1, ("BAZNAS", "PKH"): 1,
        ("BPNT", "PKH"): 1, ("BPNT", "PIP", "PKH"): 1,
    }
    assert d.overlap.set_sizes == {"BAZNAS": 1, "BPNT": 4, "PIP": 4, "PKH": 5}


async def test_targeting_errors(session: AsyncSession, population: Population) -> None:
    d = await dashboard(session, MANAGER)
    rows = {t.programme_code: (t.exclusion, t.enrolled_households, t.inclusion_outside_band,
                               t.inclusion_not_in_registry, t.matched_in_registry, t.matched_by_nik,
                               t.matched_by_name) for t in d.targeting}
    assert rows == {
        "BAZNAS": (None, 1, 0, 0, 1, 0, 0),
        "BPNT": (10, 4, 1, 0, 4, 0, 0),
        "PIP": (10, 4, 0, 1, 1, 1, 1),
        "PKH": (8, 5, 1, 0, 5, 0, 0),
    }


async def test_flagged_households_for_follow_up(session: AsyncSession, population: Population) -> None:
    h = population.households
    page = await analytics.flagged_households(session, MANAGER, programme_code="PIP")
    assert page.total == 11
    assert not page.withheld
    kinds = {(item.household_id, item.kind) for item in page.items}
    exclusion = {"A3", "A7", "A8", "A9", "A10", "A11", "A12", "B1", "B2", "C1"}
    assert kinds == {(h[k].id, FlagKind.exclusion) for k in exclusion} | {(h["L3"].id, FlagKind.not_in_registry)}
    (l3,) = [i for i in page.items if i.kind is FlagKind.not_in_registry]
    assert (l3.head_name, l3.head_nik_masked, l3.match_method, l3.decile) == ("Joko Susilo", "***", None, None)

    outside = await analytics.flagged_households(session, MANAGER, programme_code="PKH",
                                                 kind=FlagKind.outside_band)
    assert [(i.household_id, i.decile, i.match_method, i.registry_id) for i in outside.items] == [
        (h["A6"].id, 7, "registry", "R-A6")]
    assert outside.total == 1

    second = await analytics.flagged_households(session, MANAGER, programme_code="PIP", limit=4, offset=8)
    assert second.total == 11
    assert [i.household_id for i in second.items] == [i.household_id for i in page.items[8:11]]


async def test_flagged_addresses_follow_the_read_api_masking(session: AsyncSession, population: Population,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A flagged household's address is a personal detail: null for a caller without
    ``see_personal_details`` (hub.masking), like a programme owner, even one allowed the lists."""
    rule = PERMISSIONS[Role.programme_owner]
    assert Permission.see_personal_details not in rule.permissions
    monkeypatch.setitem(PERMISSIONS, Role.programme_owner,
                        replace(rule, permissions=rule.permissions | {Permission.read_small_cells}))
    owner = Principal("own", Role.programme_owner, RegionScope.national(), programmes=frozenset({"PIP"}))
    masked = await analytics.flagged_households(session, owner, programme_code="PIP")
    shown = await analytics.flagged_households(session, MANAGER, programme_code="PIP")
    assert not masked.withheld
    assert masked.total == shown.total == 11
    assert {i.address for i in masked.items} == {None}
    assert all(i.address for i in shown.items)
    assert [i.household_id for i in masked.items] == [i.household_id for i in shown.items]


async def test_name_match_is_scored(session: AsyncSession, population: Population) -> None:
    h = population.households
    matches = analytics.best_name_matches(
        await analytics.AnalyticsRepository(session, MANAGER).name_match_candidates(
            [population.programmes["PIP"].id]))
    # L2 against A4 (same name) is accepted; against A5 (same birth date, other name) it is not.
    assert [(m.list_household_id, m.registry_household_id) for m in matches] == [(h["L2"].id, h["A4"].id)]
    assert matches[0].score == analytics.similarity("SITI AMINAH", "Dsn. Krajan RT 2 RW 1",
                                                    "Siti Aminah", "Dusun Krajan RT 02 RW 01")
    assert 85 <= matches[0].score < 100
    assert analytics.similarity("SITI AMINAH", "x", "Bambang Sutrisno", "x") < 85


async def test_profiles_by_sex_age_disability(session: AsyncSession, population: Population) -> None:
    d = await dashboard(session, MANAGER)
    cells = {(c.sex, c.age_group, c.has_disability): (c.persons, c.enrolled, c.with_need) for c in d.profiles}
    assert cells == {
        ("F", "18-59", False): (4, 4, 2),
        ("F", "6-17", False): (1, 1, 1),
        ("F", "60+", True): (1, 1, 0),
        ("M", "18-59", False): (9, 2, 1),
        ("M", "18-59", True): (1, 1, 0),
        ("M", "6-17", False): (2, 2, 0),
        ("M", "60+", True): (1, 1, 1),
    }


async def test_profiles_without_see_disability_are_merged_before_protection(
        session: AsyncSession, population: Population) -> None:
    # A programme owner has neither see_disability nor read_small_cells: M 18-59 is 9 + 1 persons, so
    # 10 released, where protecting the two cells apart would have released 10 and withheld 1.
    owner = Principal("own", Role.programme_owner, RegionScope.national(), programmes=frozenset({"PKH"}))
    d = await dashboard(session, owner, region=REGENCY)
    assert d.protection.applied
    assert {(c.sex, c.age_group, c.has_disability): (c.persons, c.enrolled, c.with_need) for c in d.profiles} == {
        ("F", "18-59", None): (None, None, None),
        ("F", "6-17", None): (None, None, None),
        ("F", "60+", None): (None, None, 0),
        ("M", "18-59", None): (10, None, None),
        ("M", "6-17", None): (None, None, 0),
        ("M", "60+", None): (None, None, None),
    }


@pytest.mark.parametrize("role", [Role.auditor, Role.api_client, Role.district_it_admin, Role.ministry_system])
async def test_roles_without_read_aggregates_get_forbidden(session: AsyncSession, population: Population,
                                                           role: Role) -> None:
    who = Principal("x", role, RegionScope.of(REGENCY), programmes=frozenset({"PKH"}))
    with pytest.raises(Forbidden):
        await dashboard(session, who)
    with pytest.raises(Forbidden):
        await analytics.flagged_households(session, who, programme_code="PKH")


async def test_workflow_summary_and_case_sla(session: AsyncSession, population: Population) -> None:
    d = await dashboard(session, MANAGER, sections=frozenset({Section.workflow}))
    w = d.workflow
    assert w is not None
    assert [(c.group, c.status, c.count) for c in w.proposals] == [
        ("correction", "approved", 1), ("new_household", "submitted", 1)]
    assert [(c.group, c.status, c.count) for c in w.reviews] == [("need", "approved", 1)]
    assert [(c.kind, c.group, c.status, c.count) for c in w.submissions] == [
        ("complaint", "service", "rejected", 1), ("complaint", "targeting", "submitted", 1),
        ("need", "disability_aid", "approved", 1), ("need", "education", "submitted", 1),
        ("need", "health", "submitted", 1)]
    sla = {s.district_code: (s.district_name, s.cases, s.open, s.overdue,
                             [(t.step, t.moves, t.median_hours) for t in s.steps]) for s in w.case_sla}
    assert sla == {
        "33.14.01": ("Kalijambe", 3, 2, 1, [("approved", 1, 48.0), ("informed", 1, 24.0), ("referred", 2, 30.0)]),
        "33.14.02": ("Plupuh", 1, 1, 1, []),
    }
    assert d.coverage == []
    assert d.overlap is None


async def test_region_choice_narrows_within_scope(session: AsyncSession, population: Population) -> None:
    d = await dashboard(session, MANAGER, VILLAGE_A)
    assert d.region is not None
    assert d.region.name == "Keden"
    assert by_decile(d, "PKH", "registry_households") == {1: 8, 2: 1, 3: 1, 5: 1, 7: 1}
    assert by_decile(d, "PKH", "enrolled_households") == {1: 1, 2: 1, 7: 1}
    assert overlap_cells(d) == {
        (): 6, ("PIP",): 2, ("BPNT",): 1, ("PKH",): 1, ("BPNT", "PIP"): 1, ("BAZNAS", "PKH"): 1,
        ("BPNT", "PIP", "PKH"): 1,
    }
    pkh = next(t for t in d.targeting if t.programme_code == "PKH")
    assert (pkh.exclusion, pkh.enrolled_households, pkh.inclusion_outside_band) == (7, 3, 1)


async def test_village_scope_sees_only_its_village(session: AsyncSession, population: Population) -> None:
    """A principal scoped to village A gets A's figures whatever region it asks for."""
    own = await dashboard(session, MANAGER_A)
    asked_wider = await dashboard(session, MANAGER_A, REGENCY)
    reference = await dashboard(session, MANAGER, VILLAGE_A)
    for d in (own, asked_wider):
        assert d.coverage == reference.coverage
        assert d.overlap == reference.overlap
        assert d.targeting == reference.targeting
        assert d.profiles == reference.profiles
    assert [r.code for r in own.scope] == [VILLAGE_A]
    elsewhere = await dashboard(session, MANAGER_A, VILLAGE_B)
    assert by_decile(elsewhere, "PKH", "registry_households") == {}
    assert overlap_cells(elsewhere) == {}
    assert elsewhere.workflow is not None
    assert elsewhere.workflow.case_sla == []


async def test_facilitator_of_a_gets_a_only_and_protected(session: AsyncSession, population: Population) -> None:
    d = await dashboard(session, FACILITATOR_A)
    assert d.protection == Protection(applied=True, threshold=5)
    # A: decile 1 has 8 registry households (released as 10), every other decile 1 (withheld).
    assert {c.decile: c.registry_households for c in d.coverage if c.programme_code == "PKH"} == {
        0: 0, 1: 10, 2: None, 3: None, 4: 0, 5: None, 6: 0, 7: None, 8: 0, 9: 0, 10: 0}
    pkh = [c for c in d.coverage if c.programme_code == "PKH"]
    assert {c.decile: c.registry_persons for c in pkh if c.registry_persons != 0} == {
        1: 10, 2: None, 3: None, 5: None, 7: None}  # exact: 11, 1, 2, 1, 1
    assert {c.decile: c.enrolled_households for c in pkh if c.enrolled_households != 0} == {
        1: None, 2: None, 7: None}
    assert by_decile(d, "PKH", "coverage_rate") == {}
    assert overlap_cells(d) == {(): 5, ("PIP",): None, ("BPNT",): None, ("PKH",): None, ("BPNT", "PIP"): None,
                                ("BAZNAS", "PKH"): None, ("BPNT", "PIP", "PKH"): None}
    targeting = next(t for t in d.targeting if t.programme_code == "PKH")
    assert (targeting.exclusion, targeting.enrolled_households, targeting.inclusion_outside_band) == (5, None, None)
    page = await analytics.flagged_households(session, FACILITATOR_A, programme_code="PKH")
    assert (page.total, page.items, page.withheld) == (0, [], True)


def consistent(protection: Protection, released: int | None) -> set[int]:
    """Every exact count that the protection would release as ``released``."""
    return {n for n in range(200) if protection.count(n) == released}


async def test_suppression_survives_differencing(session: AsyncSession, population: Population) -> None:
    """A supervisor of district A+B tries to recover village B's withheld cells by subtracting
    village A's figures from the district's, and a set's size from its other cells."""
    district = await dashboard(session, SUPERVISOR_AB, DISTRICT_AB)
    village_a = await dashboard(session, SUPERVISOR_AB, VILLAGE_A)
    village_b = await dashboard(session, SUPERVISOR_AB, VILLAGE_B)
    p = district.protection
    assert p.applied

    def decile1(d: Dashboard) -> int | None:
        return next(c.registry_households for c in d.coverage if c.programme_code == "PKH" and c.decile == 1)

    # Exact: district 9, A 8, B 1. Released: 10, 10, withheld.
    assert (decile1(district), decile1(village_a), decile1(village_b)) == (10, 10, None)
    naive = decile1(district) - decile1(village_a)  # type: ignore[operator]
    assert naive != 1
    candidates = {dn - an for dn in consistent(p, decile1(district)) for an in consistent(p, decile1(village_a))}
    assert len(candidates & consistent(p, decile1(village_b))) > 1  # B's cell is not pinned down

    # The "nobody enrolled" cell: district 7 (A 6, B 1) -> 5 and 5; B withheld.
    assert overlap_cells(district)[()] == 5
    assert overlap_cells(village_a)[()] == 5
    assert overlap_cells(village_b).get(()) is None

    # Total minus cells within one answer: PKH set size (A1 A3 A6 B1 = 4 -> withheld) and its cells.
    assert district.overlap is not None
    assert district.overlap.set_sizes["PKH"] is None
    assert district.overlap.set_sizes["BPNT"] is None

    # Exclusion for PKH: district 9 + 1 - 2 = 8 in A+B (A 7, B 1). Released 10 and 5; B withheld.
    def exclusion(d: Dashboard) -> int | None:
        return next(t.exclusion for t in d.targeting if t.programme_code == "PKH")

    assert (exclusion(district), exclusion(village_a), exclusion(village_b)) == (10, 5, None)
    candidates = {dn - an for dn in consistent(p, exclusion(district)) for an in consistent(p, exclusion(village_a))}
    assert len({c for c in candidates if c >= 0} & consistent(p, exclusion(village_b))) > 1


def test_protection_rounds_and_withholds() -> None:
    p = Protection(applied=True, threshold=5)
    assert [p.count(n) for n in (0, 1, 4, 5, 7, 8, 12, 13, 100)] == [0, None, None, 5, 5, 10, 10, 15, 100]
    assert Protection(applied=False, threshold=5).count(3) == 3
    assert p.median(12.345, 4) is None
    assert p.median(12.345, 5) == 12.35


async def test_bad_input(session: AsyncSession, population: Population) -> None:
    with pytest.raises(Invalid):
        await dashboard(session, MANAGER, codes=["PKH", "NOPE"])
    with pytest.raises(NotFound):
        await dashboard(session, MANAGER, "99.99")
    # Default date and clock; only the requested section is computed.
    only = await analytics.build_dashboard(session, MANAGER, threshold=5, programme_codes=PROGRAMME_CODES,
                                           sections=frozenset({Section.coverage}))
    assert len(only.coverage) == 44
    assert only.overlap is None
    assert only.workflow is None


async def test_prepared_tables_give_the_same_figures(session: AsyncSession, population: Population) -> None:
    """The dashboard reads the registry and effective enrolments from per-transaction tables; each
    figure alone computes them in its own statement. Both must agree."""
    repo = analytics.AnalyticsRepository(session, MANAGER)
    programmes = await analytics._programmes(repo, PROGRAMME_CODES)
    ids = [p.id for p in programmes]
    matches = await analytics.name_matches(repo, ids)
    protection = Protection(applied=False, threshold=5)

    async def figures(r: analytics.AnalyticsRepository) -> tuple[Any, ...]:
        return (await analytics.coverage(r, programmes, matches, protection),
                await analytics.overlap(r, programmes, matches, protection),
                await analytics.targeting(r, programmes, matches, protection),
                await analytics.profiles(r, ids, matches, protection, AS_OF))

    alone = await figures(repo)
    prepared = analytics.AnalyticsRepository(session, MANAGER)
    await prepared.prepare(ids, matches)
    assert await figures(prepared) == alone
    assert alone[2][2].exclusion == 10  # PIP, as in test_targeting_errors
