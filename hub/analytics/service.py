"""Analytics for the SLRT dashboard: coverage, overlap, targeting errors, profiles and workflow.

The repository computes every figure in SQL over the caller's rows; this module chooses the region
and programmes, links programme lists to the registry by name where the NIK cannot, and applies
small-cell protection before anything leaves the hub.

Every figure needs the ``read_aggregates`` permission. Small-cell protection (roles without
``read_small_cells``, i.e. below regency level; see ``auth/permissions.py``): a count between 1 and
``threshold - 1`` is withheld (``None``), and every other count is rounded to the nearest multiple
of ``threshold``. Zero stays zero. Every released number, totals included, is rounded on its own from
the exact count, so subtracting one released number from another (a district minus a village, a
total minus its cells, one programme set minus another) leaves an error of up to ``threshold - 1``
and never recovers a withheld cell exactly. Rates are computed from the released numbers. The
household lists behind the targeting figures are withheld altogether from these roles, since a list
is a count by another name. Roles without ``see_disability`` get the profiles by sex and age group
only: the disability split is merged before protection and ``has_disability`` is ``None``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy.ext.asyncio import AsyncSession

from auth.permissions import Permission, can
from auth.principal import NATIONAL, Principal, RegionScope
from hub.analytics.repository import (
    NOT_IN_REGISTRY,
    AnalyticsRepository,
    MatchCandidate,
    NameMatch,
    SummaryReader,
)
from hub.errors import Forbidden, Invalid, NotFound
from hub.identity import mask_nik
from hub.masking import detail_for
from hub.models import Programme

MAX_OVERLAP_PROGRAMMES = 5
# A list household is linked to a registry household by name when the weighted score reaches this.
NAME_MATCH_THRESHOLD = 85.0
NAME_WEIGHT, ADDRESS_WEIGHT = 0.7, 0.3


class Section(StrEnum):
    coverage = "coverage"
    overlap = "overlap"
    targeting = "targeting"
    profiles = "profiles"
    workflow = "workflow"


class FlagKind(StrEnum):
    exclusion = "exclusion"
    outside_band = "outside_band"
    not_in_registry = "not_in_registry"


@dataclass(frozen=True, slots=True)
class Protection:
    applied: bool
    threshold: int

    @classmethod
    def for_principal(cls, principal: Principal, threshold: int) -> Protection:
        return cls(applied=not can(principal, Permission.read_small_cells), threshold=threshold)

    def count(self, n: int) -> int | None:
        if not self.applied or n == 0:
            return n
        if n < self.threshold:
            return None
        # Round half up to a multiple of the threshold, in integers (no float ties).
        return ((2 * n + self.threshold) // (2 * self.threshold)) * self.threshold

    def median(self, value: float | None, moves: int) -> float | None:
        if value is None or (self.applied and moves < self.threshold):
            return None
        return round(value, 2)


def rate(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole, 4)


@dataclass(frozen=True, slots=True)
class ProgrammeInfo:
    id: uuid.UUID
    code: str
    name: str
    decile_min: int | None
    decile_max: int | None

    @classmethod
    def from_model(cls, row: Programme) -> ProgrammeInfo:
        return cls(row.id, row.code, row.name, row.decile_min, row.decile_max)


@dataclass(frozen=True, slots=True)
class CoverageCell:
    programme_code: str
    decile: int  # 1-10; 0 for enrolled households the registry does not know
    in_band: bool
    registry_households: int | None
    registry_persons: int | None
    eligible_households: int | None
    enrolled_households: int | None
    enrolled_persons: int | None
    coverage_rate: float | None


@dataclass(frozen=True, slots=True)
class OverlapCell:
    programmes: tuple[str, ...]  # exactly these and no other of the chosen programmes; () = none
    households: int | None


@dataclass(frozen=True, slots=True)
class Overlap:
    programmes: tuple[str, ...]
    set_sizes: dict[str, int | None]
    cells: list[OverlapCell]


@dataclass(frozen=True, slots=True)
class Targeting:
    programme_code: str
    exclusion: int | None  # None also when the programme has no decile band
    band_applies: bool
    enrolled_households: int | None
    inclusion_outside_band: int | None
    inclusion_not_in_registry: int | None
    matched_in_registry: int | None
    matched_by_nik: int | None
    matched_by_name: int | None


@dataclass(frozen=True, slots=True)
class FlaggedHousehold:
    household_id: uuid.UUID
    kind: FlagKind
    decile: int | None
    match_method: str | None
    match_score: float | None
    address: str | None  # None without ``see_personal_details``, as in the read API (hub.masking)
    village_code: str
    registry_id: str | None
    head_name: str | None
    head_nik_masked: str | None


@dataclass(frozen=True, slots=True)
class FlaggedPage:
    total: int
    items: list[FlaggedHousehold]
    withheld: bool


@dataclass(frozen=True, slots=True)
class ProfileCell:
    sex: str
    age_group: str
    has_disability: bool | None  # None: merged, for a caller without ``see_disability``
    persons: int | None
    enrolled: int | None
    with_need: int | None


@dataclass(frozen=True, slots=True)
class StatusCount:
    group: str  # proposal kind, review subject, need/complaint category ...
    kind: str
    status: str
    count: int | None


@dataclass(frozen=True, slots=True)
class StepTime:
    step: str
    moves: int | None
    median_hours: float | None


@dataclass(frozen=True, slots=True)
class DistrictSla:
    district_code: str
    district_name: str | None
    cases: int | None
    open: int | None
    overdue: int | None
    steps: list[StepTime]


@dataclass(frozen=True, slots=True)
class Workflow:
    proposals: list[StatusCount]  # kind new_household counts the households proposed for the registry
    reviews: list[StatusCount]
    submissions: list[StatusCount]
    case_sla: list[DistrictSla]


@dataclass(frozen=True, slots=True)
class RegionInfo:
    code: str
    name: str
    level: int


@dataclass
class Dashboard:
    region: RegionInfo | None  # None: the caller's whole scope
    scope: list[RegionInfo]
    national_scope: bool
    protection: Protection
    programmes: list[ProgrammeInfo]
    catalogue: list[ProgrammeInfo]
    name_matches: int = 0
    coverage: list[CoverageCell] = field(default_factory=list)
    overlap: Overlap | None = None
    targeting: list[Targeting] = field(default_factory=list)
    profiles: list[ProfileCell] = field(default_factory=list)
    workflow: Workflow | None = None
    # When coverage, overlap, targeting and profiles come from the summary: its refresh time (ages as
    # of its day). ``None``: computed live, as of now.
    refreshed_at: datetime | None = None


# -- region and programme choice ----------------------------------------------------------------

def require_aggregates(principal: Principal) -> None:
    if not can(principal, Permission.read_aggregates):
        raise Forbidden("this role may not read aggregate figures")


def narrow(principal: Principal, region_code: str | None) -> Principal:
    """The principal restricted to ``region_code``: the intersection of its scope and that region.

    The figures then go through ``ScopedRepository`` with this principal, so choosing a region never
    widens what the caller may read, and no region column is filtered outside the repository base.
    """
    if region_code is None:
        return principal
    scope = principal.scope
    if scope.contains(region_code):
        codes = frozenset({region_code})
    else:
        codes = frozenset(c for c in scope.codes if c != NATIONAL and c.startswith(region_code + "."))
    return replace(principal, scope=RegionScope(codes))


async def _programmes(repo: AnalyticsRepository, codes: Sequence[str] | None) -> list[ProgrammeInfo]:
    rows = [ProgrammeInfo.from_model(p) for p in await repo.programmes(codes)]
    if codes is not None:
        missing = sorted(set(codes) - {p.code for p in rows})
        if missing:
            raise Invalid(f"unknown programme code(s): {', '.join(missing)}", field="programmeCodes")
    return rows


# -- name matching --------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^\w\s]")


@functools.lru_cache(maxsize=65_536)
def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(_NON_WORD.sub(" ", folded.lower()).split())


def similarity(list_name: str, list_address: str, registry_name: str, registry_address: str) -> float:
    """0-100: names weigh 0.7 (word order ignored), addresses 0.3 (shared words count)."""
    name = fuzz.token_sort_ratio(normalise(list_name), normalise(registry_name))
    address = fuzz.token_set_ratio(normalise(list_address), normalise(registry_address))
    return round(NAME_WEIGHT * name + ADDRESS_WEIGHT * address, 1)


def best_name_matches(candidates: Sequence[MatchCandidate],
                      threshold: float = NAME_MATCH_THRESHOLD) -> list[NameMatch]:
    """For each list household, the best-scoring registry household at or above ``threshold``;
    ties go to the lowest household id so the result never depends on row order."""
    best: dict[uuid.UUID, NameMatch] = {}
    # A name too far off cannot reach the threshold even with identical addresses: skip the address.
    name_floor = (threshold - ADDRESS_WEIGHT * 100) / NAME_WEIGHT
    for c in candidates:
        if fuzz.token_sort_ratio(normalise(c.list_name), normalise(c.registry_name)) < name_floor:
            continue
        score = similarity(c.list_name, c.list_address, c.registry_name, c.registry_address)
        if score < threshold:
            continue
        current = best.get(c.list_household_id)
        if current is None or (score, -c.registry_household_id.int) > (current.score,
                                                                        -current.registry_household_id.int):
            best[c.list_household_id] = NameMatch(c.list_household_id, c.registry_household_id, score)
    return sorted(best.values(), key=lambda m: m.list_household_id)


# -- the dashboard --------------------------------------------------------------------------------

async def build_dashboard(
    session: AsyncSession,
    principal: Principal,
    *,
    threshold: int,
    region_code: str | None = None,
    programme_codes: Sequence[str] | None = None,
    sections: frozenset[Section] = frozenset(Section),
    as_of: date | None = None,
    now: datetime | None = None,
    use_summary: bool = True,
) -> Dashboard:
    """Every figure the dashboard shows, for ``principal`` narrowed to ``region_code``, computed in
    one transaction so that the figures agree with each other.

    For a scope of exactly one regency with a summary (``hub.analytics.summary``), coverage, overlap,
    targeting and profiles are read from it when ``as_of`` is not given or is the summary's day;
    ``refreshed_at`` then says how old they are. Workflow figures are always live."""
    require_aggregates(principal)
    now = now or datetime.now().astimezone()
    lookup = AnalyticsRepository(session, principal)
    await lookup.tune()
    region: RegionInfo | None = None
    if region_code is not None:
        row = await lookup.region(region_code)
        if row is None:
            raise NotFound(f"no region with code {region_code}")
        region = RegionInfo(row.code, row.name, row.level)
    scope_codes = sorted(c for c in principal.scope.codes if c != NATIONAL)
    scope = [RegionInfo(r.code, r.name, r.level) for r in await lookup.regions(scope_codes)]
    repo = AnalyticsRepository(session, narrow(principal, region_code))
    protection = Protection.for_principal(principal, threshold)
    catalogue = await _programmes(repo, None)
    programmes = await _programmes(repo, programme_codes) if programme_codes is not None else catalogue
    if Section.overlap in sections and len(programmes) > MAX_OVERLAP_PROGRAMMES:
        raise Invalid(f"choose at most {MAX_OVERLAP_PROGRAMMES} programmes for the overlap",
                      field="programmeCodes")
    result = Dashboard(region=region, scope=scope, national_scope=principal.scope.is_national,
                       protection=protection, programmes=programmes, catalogue=catalogue)
    ids = [p.id for p in programmes]
    needs_matching = bool(sections - {Section.workflow}) and bool(ids)
    summary, state = None, None
    if use_summary and sections - {Section.workflow}:
        summary = SummaryReader(session, narrow(principal, region_code))
        state = await summary.state()
    if summary is not None and state is not None and (as_of is None or as_of == state.as_of):
        # The regency's summary: the same figures, summed from per-village counts written at its last
        # refresh (see hub.analytics.summary), whose time the dashboard shows.
        repo, as_of, matches = summary, state.as_of, []
        result.refreshed_at = state.refreshed_at
        result.name_matches = await summary.name_match_count(ids) if ids else 0
    else:
        as_of = as_of or date.today()
        matches = await name_matches(repo, ids) if needs_matching else []
        result.name_matches = len(matches)
        if needs_matching:
            await repo.prepare(ids, matches)
    if Section.coverage in sections and ids:
        result.coverage = await coverage(repo, programmes, matches, protection)
    if Section.overlap in sections and ids:
        result.overlap = await overlap(repo, programmes, matches, protection)
    if Section.targeting in sections and ids:
        result.targeting = await targeting(repo, programmes, matches, protection)
    if Section.profiles in sections:
        result.profiles = await profiles(repo, ids, matches, protection, as_of,
                                         disability=can(principal, Permission.see_disability))
    if Section.workflow in sections:
        result.workflow = await workflow(repo, protection, now)
    return result


async def name_matches(repo: AnalyticsRepository, programme_ids: Sequence[uuid.UUID]) -> list[NameMatch]:
    return best_name_matches(await repo.name_match_candidates(programme_ids))


async def coverage(repo: AnalyticsRepository, programmes: Sequence[ProgrammeInfo], matches: Sequence[NameMatch],
                   protection: Protection) -> list[CoverageCell]:
    codes = {p.id: p.code for p in programmes}
    cells = []
    for pid, decile, in_band, reg_h, reg_p, enr_h, enr_p in await repo.coverage(list(codes), matches):
        eligible = protection.count(reg_h) if in_band and decile != NOT_IN_REGISTRY else 0
        enrolled = protection.count(enr_h)
        cells.append(CoverageCell(
            programme_code=codes[pid], decile=decile, in_band=bool(in_band),
            registry_households=protection.count(reg_h) if decile != NOT_IN_REGISTRY else 0,
            registry_persons=protection.count(reg_p) if decile != NOT_IN_REGISTRY else 0,
            eligible_households=eligible, enrolled_households=enrolled,
            enrolled_persons=protection.count(enr_p),
            coverage_rate=rate(enrolled, eligible) if in_band else None,
        ))
    return cells


async def overlap(repo: AnalyticsRepository, programmes: Sequence[ProgrammeInfo], matches: Sequence[NameMatch],
                  protection: Protection) -> Overlap:
    ids = [p.id for p in programmes]
    codes = tuple(p.code for p in programmes)
    exact: dict[int, int] = {}
    for mask, n in await repo.overlap(ids, matches):
        exact[mask] = exact.get(mask, 0) + n
    cells = [OverlapCell(tuple(code for i, code in enumerate(codes) if mask >> i & 1),
                         protection.count(exact.get(mask, 0)))
             for mask in range(1 << len(codes))]
    cells.sort(key=lambda c: (len(c.programmes), c.programmes))
    sizes = {code: protection.count(sum(n for mask, n in exact.items() if mask >> i & 1))
             for i, code in enumerate(codes)}
    return Overlap(programmes=codes, set_sizes=sizes, cells=cells)


async def targeting(repo: AnalyticsRepository, programmes: Sequence[ProgrammeInfo], matches: Sequence[NameMatch],
                    protection: Protection) -> list[Targeting]:
    codes = {p.id: p.code for p in programmes}
    out = []
    for pid, exclusion, enrolled, outside, missing, direct, by_nik, by_name in await repo.targeting(
            list(codes), matches):
        out.append(Targeting(
            programme_code=codes[pid], band_applies=exclusion is not None,
            exclusion=None if exclusion is None else protection.count(exclusion),
            enrolled_households=protection.count(enrolled), inclusion_outside_band=protection.count(outside),
            inclusion_not_in_registry=protection.count(missing), matched_in_registry=protection.count(direct),
            matched_by_nik=protection.count(by_nik), matched_by_name=protection.count(by_name),
        ))
    return out


async def flagged_households(
    session: AsyncSession,
    principal: Principal,
    *,
    programme_code: str,
    region_code: str | None = None,
    kind: FlagKind | None = None,
    limit: int = 50,
    offset: int = 0,
) -> FlaggedPage:
    """The households behind one programme's targeting figures, for follow-up by a manager.
    Withheld (empty, ``withheld=True``) for roles below regency level."""
    require_aggregates(principal)
    if not can(principal, Permission.read_small_cells):
        return FlaggedPage(total=0, items=[], withheld=True)
    repo = AnalyticsRepository(session, narrow(principal, region_code))
    await repo.tune()
    (programme,) = await _programmes(repo, [programme_code])
    matches = await name_matches(repo, [programme.id])
    total, rows = await repo.flagged(programme.id, matches, kind=kind.value if kind else None,
                                     limit=limit, offset=offset)
    items = [FlaggedHousehold(household_id=hid, kind=FlagKind(k), decile=decile, match_method=method,
                              match_score=score, address=detail_for(principal, address), village_code=village,
                              registry_id=registry_id, head_name=head, head_nik_masked=_mask(nik))
             for _, hid, k, decile, method, score, address, village, registry_id, head, nik in rows]
    return FlaggedPage(total=total, items=items, withheld=False)


def _mask(nik: str | None) -> str | None:
    if not nik:
        return None
    try:
        return mask_nik(nik)
    except ValueError:
        return "*" * len(nik)


async def profiles(repo: AnalyticsRepository, programme_ids: Sequence[uuid.UUID], matches: Sequence[NameMatch],
                   protection: Protection, as_of: date, *, disability: bool = True) -> list[ProfileCell]:
    """By sex, age group and disability; without ``disability`` (the caller may not see it) the two
    disability cells of each sex and age group are added up exactly first, then protected."""
    exact: dict[tuple[str, str, bool | None], list[int]] = {}
    for sex, age, disabled, n, enrolled, need in await repo.profiles(programme_ids, matches, as_of):
        sums = exact.setdefault((sex, age, bool(disabled) if disability else None), [0, 0, 0])
        for i, value in enumerate((n, enrolled, need)):
            sums[i] += value
    return [ProfileCell(sex=sex, age_group=age, has_disability=disabled, persons=protection.count(n),
                        enrolled=protection.count(enrolled), with_need=protection.count(need))
            for (sex, age, disabled), (n, enrolled, need) in exact.items()]


def _counts(rows: Sequence[Any], protection: Protection, kind: str | None = None) -> list[StatusCount]:
    out = []
    for row in rows:
        if kind is None:
            row_kind, group, status, n = row
        else:
            (group, status, n), row_kind = row, kind
        out.append(StatusCount(group=str(group), kind=str(row_kind), status=str(status), count=protection.count(n)))
    return out


async def workflow(repo: AnalyticsRepository, protection: Protection, now: datetime) -> Workflow:
    steps: dict[str, list[StepTime]] = {}
    for district, step, moves, median in await repo.case_step_times():
        steps.setdefault(district, []).append(
            StepTime(step=step, moves=protection.count(moves), median_hours=protection.median(median, moves)))
    sla = [DistrictSla(district_code=code, district_name=name, cases=protection.count(total),
                       open=protection.count(unfinished), overdue=protection.count(late),
                       steps=steps.get(code, []))
           for code, name, total, unfinished, late in await repo.case_sla(now)]
    return Workflow(
        proposals=_counts(await repo.proposals_by_status(), protection, kind="proposal"),
        reviews=_counts(await repo.reviews_by_decision(), protection, kind="review"),
        submissions=[StatusCount(group=str(category), kind=str(kind), status=str(status),
                                 count=protection.count(n))
                     for kind, category, status, n in await repo.submissions_by_category()],
        case_sla=sla,
    )
