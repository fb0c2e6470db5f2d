"""GraphQL for the SLRT dashboard: the ``dashboard`` and ``targetingFlags`` query fields.

Every number is computed by ``hub.analytics.service`` over the rows the caller may read. A null
count means "withheld": the caller's role is below regency level and the exact count is below the
small-cell threshold (see ``SmallCellProtection``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from auth.principal import Principal
from hub.analytics import service as analytics
from hub.db.engine import unit_of_work
from hub.errors import HubError
from schema.context import Info
from schema.ids import to_global_id

COUNT = "Null when withheld by small-cell protection."


def _principal(info: Info) -> Principal:
    principal = info.context.principal
    if principal is None:
        raise GraphQLError("authentication required", extensions={"code": "UNAUTHENTICATED"})
    return principal


def _error(exc: HubError) -> GraphQLError:
    return GraphQLError(exc.message, extensions={"code": exc.code, **exc.details})


def _selected(info: Info) -> set[str]:
    names: set[str] = set()

    def walk(selections: list[Any]) -> None:
        for s in selections:
            if isinstance(s, SelectedField):
                names.add(s.name)
            elif isinstance(s, FragmentSpread | InlineFragment):
                walk(s.selections)

    walk(info.selected_fields[0].selections)
    return names


@strawberry.type(description="How counts were protected for this caller.")
class SmallCellProtection:
    applied: bool = strawberry.field(description="True for roles without the permission read_small_cells (below "
                                     "regency level): "
                                     "counts from 1 to threshold-1 are null and every other count is rounded "
                                     "to the nearest multiple of the threshold, each on its own.")
    threshold: int = strawberry.field(description="The threshold (setting SLRT_SMALL_CELL_THRESHOLD, default 5).")


@strawberry.type(description="A region named in the answer.")
class AnalyticsRegion:
    code: str
    name: str
    level: int = strawberry.field(description="1 province, 2 regency/city, 3 district, 4 village.")


@strawberry.type(description="A programme of the catalogue and its target band of welfare deciles.")
class ProgrammeBand:
    code: str
    name: str
    decile_min: int | None = strawberry.field(description="Lowest decile targeted; null with decileMax null "
                                              "means the programme is not targeted by decile.")
    decile_max: int | None


@strawberry.type(description="One programme and one decile: the registry's households against the enrolled.")
class CoverageCell:
    programme_code: str
    decile: int = strawberry.field(description="1 (poorest) to 10; 0 collects enrolled households that the "
                                   "registry does not know (no NIK or name match).")
    in_band: bool = strawberry.field(description="Whether this decile is in the programme's target band.")
    registry_households: int | None = strawberry.field(description=f"Registry households in this decile. {COUNT}")
    registry_persons: int | None = strawberry.field(description=f"Their living members. {COUNT}")
    eligible_households: int | None = strawberry.field(
        description=f"Registry households in this decile when it is in the band, else 0. {COUNT}")
    enrolled_households: int | None = strawberry.field(
        description=f"Households with an active enrolment, placed in the decile of the registry household they "
        f"were matched to. {COUNT}")
    enrolled_persons: int | None = strawberry.field(
        description=f"Persons covered: the enrolled person, or the living members of an enrolled household. {COUNT}")
    coverage_rate: float | None = strawberry.field(description="enrolledHouseholds / eligibleHouseholds, from the "
                                                   "released numbers; null outside the band or when withheld.")


@strawberry.type(description="Households that receive exactly this combination of the chosen programmes "
                 "(an UpSet chart's bar; the empty combination counts registry households that receive none).")
class OverlapCell:
    programmes: list[str]
    households: int | None = strawberry.field(description=COUNT)


@strawberry.type(description="Households that receive one programme, whatever else they receive.")
class OverlapSetSize:
    programme_code: str
    households: int | None = strawberry.field(description=COUNT)


@strawberry.type(description="Programme overlap and complementarity: every combination of the chosen programmes.")
class Overlap:
    programmes: list[str]
    set_sizes: list[OverlapSetSize]
    cells: list[OverlapCell]


@strawberry.type(description="Targeting errors for one programme. Programme lists are matched to the registry "
                 "by a valid NIK, else by name + birth date + address (similarity score >= 85).")
class TargetingSummary:
    programme_code: str
    band_applies: bool = strawberry.field(description="False when the programme is not targeted by decile.")
    exclusion: int | None = strawberry.field(
        description=f"Registry households in the band that are not enrolled. {COUNT} Null too when the band "
        "does not apply.")
    enrolled_households: int | None = strawberry.field(description=COUNT)
    inclusion_outside_band: int | None = strawberry.field(
        description=f"Enrolled households whose registry decile is outside the band. {COUNT}")
    inclusion_not_in_registry: int | None = strawberry.field(
        description=f"Enrolled households matched to no registry household. {COUNT}")
    matched_in_registry: int | None = strawberry.field(description=f"Enrolled as a registry household. {COUNT}")
    matched_by_nik: int | None = strawberry.field(description=f"Linked to the registry by NIK. {COUNT}")
    matched_by_name: int | None = strawberry.field(description=f"Linked by name, birth date, address. {COUNT}")


@strawberry.type(description="Registry members of one sex, age group and disability status.")
class ProfileCell:
    sex: str = strawberry.field(description="M, F or unknown.")
    age_group: str = strawberry.field(description="0-5, 6-17, 18-59, 60+ or unknown, at `asOf`.")
    has_disability: bool | None = strawberry.field(
        description="Null for callers without the right to see disability (permission see_disability): their "
        "cells add up both disability statuses of a sex and age group.")
    persons: int | None = strawberry.field(description=COUNT)
    enrolled: int | None = strawberry.field(
        description=f"Living in a household that receives at least one chosen programme. {COUNT}")
    with_need: int | None = strawberry.field(
        description=f"With a programme need recorded for them or their household. {COUNT}")


@strawberry.type(description="A count of workflow items by group and status.")
class StatusCount:
    kind: str = strawberry.field(description="proposal, review, need or complaint.")
    group: str = strawberry.field(description="The proposal kind (new_household, new_person, correction), the "
                                  "reviewed subject type, or the need/complaint category.")
    status: str
    count: int | None = strawberry.field(description=COUNT)


@strawberry.type(description="One step of the case workflow: moves into `step` and how long they took.")
class CaseStep:
    step: str = strawberry.field(description="The status a case moved to.")
    moves: int | None = strawberry.field(description=COUNT)
    median_hours: float | None = strawberry.field(
        description="Median hours since the case's previous step (or its creation). Null when withheld.")


@strawberry.type(description="Case service levels in one district (kecamatan).")
class DistrictSla:
    district_code: str
    district_name: str | None
    cases: int | None = strawberry.field(description=COUNT)
    open: int | None = strawberry.field(description=f"Cases not yet `informed`. {COUNT}")
    overdue: int | None = strawberry.field(description=f"Open cases past their due date. {COUNT}")
    steps: list[CaseStep]


@strawberry.type(description="Registry proposals, reviews, needs and complaints, and case SLAs.")
class WorkflowSummary:
    proposals: list[StatusCount]
    reviews: list[StatusCount]
    submissions: list[StatusCount] = strawberry.field(description="Needs and complaints by category and status.")
    case_sla: list[DistrictSla]


@strawberry.type(description="Everything the SLRT dashboard shows, for the caller's regions (optionally narrowed "
                 "to one region) and the chosen programmes, computed in one transaction.")
class Dashboard:
    region: AnalyticsRegion | None = strawberry.field(description="The region asked for; null for the caller's "
                                                      "whole scope.")
    scope: list[AnalyticsRegion] = strawberry.field(description="The regions the caller may read "
                                                    "(empty with nationalScope).")
    national_scope: bool
    protection: SmallCellProtection
    programmes: list[ProgrammeBand] = strawberry.field(description="The programmes the figures are about.")
    catalogue: list[ProgrammeBand] = strawberry.field(description="Every programme in the catalogue.")
    name_matches: int = strawberry.field(description="Programme-list households linked to the registry by name.")
    coverage: list[CoverageCell]
    overlap: Overlap | None
    targeting: list[TargetingSummary]
    profiles: list[ProfileCell]
    workflow: WorkflowSummary | None
    refreshed_at: datetime | None = strawberry.field(
        description="When coverage, overlap, targeting and profiles come from the analytics summary (a whole "
        "regency's figures): the time it was rebuilt, after the last sync run or seed; ages are as of that day. "
        "Null: computed live now. Workflow figures are always live.")

    @classmethod
    def from_result(cls, d: analytics.Dashboard) -> Dashboard:
        def region(r: analytics.RegionInfo) -> AnalyticsRegion:
            return AnalyticsRegion(code=r.code, name=r.name, level=r.level)

        def band(p: analytics.ProgrammeInfo) -> ProgrammeBand:
            return ProgrammeBand(code=p.code, name=p.name, decile_min=p.decile_min, decile_max=p.decile_max)

        def counts(rows: list[analytics.StatusCount]) -> list[StatusCount]:
            return [StatusCount(kind=c.kind, group=c.group, status=c.status, count=c.count) for c in rows]

        overlap = None
        if d.overlap is not None:
            overlap = Overlap(
                programmes=list(d.overlap.programmes),
                set_sizes=[OverlapSetSize(programme_code=k, households=v) for k, v in d.overlap.set_sizes.items()],
                cells=[OverlapCell(programmes=list(c.programmes), households=c.households) for c in d.overlap.cells])
        workflow = None
        if d.workflow is not None:
            w = d.workflow
            workflow = WorkflowSummary(
                proposals=counts(w.proposals), reviews=counts(w.reviews), submissions=counts(w.submissions),
                case_sla=[DistrictSla(district_code=s.district_code, district_name=s.district_name, cases=s.cases,
                                      open=s.open, overdue=s.overdue,
                                      steps=[CaseStep(step=t.step, moves=t.moves, median_hours=t.median_hours)
                                             for t in s.steps]) for s in w.case_sla])
        return cls(
            region=region(d.region) if d.region else None,
            scope=[region(r) for r in d.scope],
            national_scope=d.national_scope,
            protection=SmallCellProtection(applied=d.protection.applied, threshold=d.protection.threshold),
            programmes=[band(p) for p in d.programmes],
            catalogue=[band(p) for p in d.catalogue],
            name_matches=d.name_matches,
            coverage=[CoverageCell(**_fields(c)) for c in d.coverage],
            overlap=overlap,
            targeting=[TargetingSummary(**_fields(t)) for t in d.targeting],
            profiles=[ProfileCell(**_fields(p)) for p in d.profiles],
            workflow=workflow,
            refreshed_at=d.refreshed_at,
        )


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


@strawberry.enum(description="Why a household is flagged for follow-up.")
class FlagKind(Enum):
    EXCLUSION = "exclusion"
    OUTSIDE_BAND = "outside_band"
    NOT_IN_REGISTRY = "not_in_registry"


@strawberry.type(description="A household to follow up: eligible and left out, or enrolled and outside the target.")
class FlaggedHousehold:
    id: strawberry.ID = strawberry.field(description="The household's global ID.")
    kind: FlagKind
    decile: int | None = strawberry.field(description="Registry decile; null when not in the registry.")
    match_method: str | None = strawberry.field(
        description="How the enrolment was matched: registry (enrolled as a registry household), nik, name; "
        "null when unmatched or for exclusions.")
    match_score: float | None = strawberry.field(description="Similarity 0-100 of a name match (100 for NIK).")
    address: str | None = strawberry.field(description="Null without `see_personal_details`, as in the read API.")
    village_code: str
    registry_id: str | None
    head_name: str | None
    head_nik_masked: str | None = strawberry.field(description="The head's NIK with the middle ten digits masked.")


@strawberry.type(description="One page of flagged households.")
class FlaggedHouseholdPage:
    total: int
    withheld: bool = strawberry.field(description="True for roles below regency level: the list is not given to "
                                      "them, since a list is a count by another name.")
    items: list[FlaggedHousehold]


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(description="The dashboard's figures. `regionCode` narrows to one region inside the caller's "
                      "scope (a wider region gives the caller's part of it); `programmeCodes` defaults to the whole "
                      "catalogue (at most 5 when `overlap` is selected). Only the selected sections are computed.")
    async def dashboard(self, info: Info, region_code: str | None = None,
                        programme_codes: list[str] | None = None, as_of: date | None = None) -> Dashboard:
        principal = _principal(info)
        sections = frozenset(s for s in analytics.Section if s.value in _selected(info))
        try:
            async with unit_of_work(info.context.sessionmaker, principal) as session:
                result = await analytics.build_dashboard(
                    session, principal, threshold=info.context.settings.small_cell_threshold,
                    region_code=region_code, programme_codes=programme_codes, sections=sections, as_of=as_of)
        except HubError as exc:
            raise _error(exc) from exc
        return Dashboard.from_result(result)

    @strawberry.field(description="The households behind one programme's targeting figures, for follow-up by a "
                      "manager. Empty with `withheld` for roles below regency level.")
    async def targeting_flags(self, info: Info, programme_code: str, region_code: str | None = None,
                              kind: FlagKind | None = None, first: int = 50, offset: int = 0) -> FlaggedHouseholdPage:
        principal = _principal(info)
        if not 0 < first <= info.context.settings.page_max or offset < 0:
            raise GraphQLError(f"first must be 1..{info.context.settings.page_max} and offset >= 0",
                               extensions={"code": "PAGE_TOO_LARGE"})
        try:
            async with unit_of_work(info.context.sessionmaker, principal) as session:
                page = await analytics.flagged_households(
                    session, principal, programme_code=programme_code, region_code=region_code,
                    kind=analytics.FlagKind(kind.value) if kind else None, limit=first, offset=offset)
        except HubError as exc:
            raise _error(exc) from exc
        return FlaggedHouseholdPage(total=page.total, withheld=page.withheld, items=[
            FlaggedHousehold(id=to_global_id("Household", i.household_id), kind=FlagKind(i.kind.value),
                             decile=i.decile, match_method=i.match_method, match_score=i.match_score,
                             address=i.address, village_code=i.village_code, registry_id=i.registry_id,
                             head_name=i.head_name, head_nik_masked=i.head_nik_masked) for i in page.items])
