"""The one permission table: what each role may do, and at which region level its scope sits.

Everything that decides "may this caller do X" reads ``PERMISSIONS`` through ``can``; nothing else
in the code base maps roles to rights. ``docs/auth.md`` is rendered from this module by
``render_markdown`` (a test keeps the two in step).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from auth.principal import NATIONAL, Principal, RegionScope, Role, region_level


class Permission(StrEnum):
    read_personal_data = "read_personal_data"
    read_programme_enrolments = "read_programme_enrolments"
    see_personal_details = "see_personal_details"
    see_full_nik = "see_full_nik"
    see_disability = "see_disability"
    record = "record"
    review = "review"
    refer = "refer"
    decide = "decide"
    push = "push"
    read_aggregates = "read_aggregates"
    read_small_cells = "read_small_cells"
    manage_connectors = "manage_connectors"
    manage_clients = "manage_clients"
    read_audit = "read_audit"


P = Permission

PERMISSION_HELP: Mapping[Permission, str] = {
    P.read_personal_data: "read persons, households, families, enrolments, needs, complaints and cases in scope",
    P.read_programme_enrolments: "read the enrolments of one's own programmes (and so one's push results), "
                                 "without the households, persons or families behind them",
    P.see_personal_details: "see address and exact date and place of birth (otherwise null; `birthYear` is shown)",
    P.see_full_nik: "see NIK and KK numbers unmasked (otherwise `3314**********01`)",
    P.see_disability: "see disability and health fields, and the dashboard's profiles by disability (otherwise null)",
    P.record: "record data changes, programme participation, needs and complaints",
    P.review: "accept or return what facilitators recorded",
    P.refer: "refer needs and complaints to a programme owner",
    P.decide: "approve, reject or study further a referral for one's own programmes",
    P.push: "push programme catalogue changes and enrolments for one's own programmes",
    P.read_aggregates: "read the dashboard's counts, coverage, overlap, targeting, profile and workflow figures",
    P.read_small_cells: "see those figures exact (otherwise counts below the small-cell threshold are null and the "
                        "others rounded to it) and the household lists behind the targeting figures",
    P.manage_connectors: "configure and run the connectors to source systems",
    P.manage_clients: "register, list and revoke API clients",
    P.read_audit: "query the access log",
}


class ScopeKind(StrEnum):
    """What a role's region claim must hold."""

    villages = "villages"
    districts = "districts"
    regency = "regency"
    province = "province"
    nation = "nation"
    registration = "registration"  # any level, as the API client's registration says


@dataclass(frozen=True, slots=True)
class RoleRule:
    permissions: frozenset[Permission]
    scope: ScopeKind
    needs_programmes: bool = False
    note: str = ""
    # A permission granted only when one of the principal's programmes is in the given set.
    by_programme: Mapping[Permission, frozenset[str]] = field(default_factory=dict)


def _perms(*items: Permission) -> frozenset[Permission]:
    return frozenset(items)


# Health insurance (PBI-JK / KIS / PIS) and disability assistance (ASPD): their owners need the disability
# and health fields; other programme owners do not.
HEALTH_PROGRAMMES = frozenset({"PBI-JK", "KIS", "PIS", "ASPD"})

# THE table. Changing a right means changing one line here (and the generated docs).
PERMISSIONS: Mapping[Role, RoleRule] = {
    Role.facilitator: RoleRule(
        _perms(P.read_personal_data, P.see_personal_details, P.see_full_nik, P.see_disability, P.record,
               P.read_aggregates),
        ScopeKind.villages, note="verifies identity cards in the field, so sees full NIK"),
    Role.supervisor: RoleRule(
        _perms(P.read_personal_data, P.see_personal_details, P.see_full_nik, P.see_disability, P.review,
               P.read_aggregates),
        ScopeKind.districts),
    Role.manager: RoleRule(
        _perms(P.read_personal_data, P.see_personal_details, P.see_disability, P.refer, P.read_aggregates,
               P.read_small_cells),
        ScopeKind.regency),
    Role.province_officer: RoleRule(
        _perms(P.read_personal_data, P.see_personal_details, P.read_aggregates, P.read_small_cells),
        ScopeKind.province),
    Role.national_officer: RoleRule(
        _perms(P.read_personal_data, P.see_personal_details, P.read_aggregates, P.read_small_cells,
               P.manage_clients),
        ScopeKind.nation),
    Role.programme_owner: RoleRule(
        _perms(P.read_personal_data, P.decide, P.read_aggregates), ScopeKind.nation,
        needs_programmes=True, by_programme={P.see_disability: HEALTH_PROGRAMMES},
        note="nationally, but only households enrolled in or referred to their programmes, only their "
             "programmes' enrolments, and only the fields a programme needs (docs/authz.md); disability and "
             "health fields for health and disability programmes only"),
    Role.district_it_admin: RoleRule(
        _perms(P.manage_connectors), ScopeKind.regency,
        note="no registry data; the quarantined source records of their connectors (the payloads as "
             "received, to fix at the source), each read in the access log"),
    Role.auditor: RoleRule(
        _perms(P.read_audit), ScopeKind.nation, note="no personal data beyond the identifiers in the log"),
    Role.api_client: RoleRule(
        _perms(P.read_personal_data, P.see_personal_details), ScopeKind.registration,
        note="scope from its registration; registered programmes narrow it to those programmes' households"),
    Role.ministry_system: RoleRule(
        _perms(P.push, P.read_programme_enrolments), ScopeKind.registration, needs_programmes=True,
        note="pushes for the programmes it is registered for and reads back their enrolments; no registry "
             "browsing"),
    Role.system: RoleRule(frozenset(Permission), ScopeKind.nation, note="the hub's own jobs; never in a token"),
}

_LEVEL_OF_KIND = {ScopeKind.villages: 4, ScopeKind.districts: 3, ScopeKind.regency: 2, ScopeKind.province: 1}

REGION_CODE = re.compile(r"\d{2}(?:\.\d{2}(?:\.\d{2}(?:\.\d{4})?)?)?")
PROGRAMME_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
MAX_SCOPE_CODES = 200


class ScopeError(ValueError):
    """A role, region scope or programme list that the table does not allow."""


def permissions_of(role: Role) -> frozenset[Permission]:
    return PERMISSIONS[role].permissions


def can(principal: Principal | None, permission: Permission) -> bool:
    if principal is None:
        return False
    rule = PERMISSIONS[principal.role]
    if permission in rule.permissions:
        return True
    programmes = rule.by_programme.get(permission)
    return programmes is not None and not programmes.isdisjoint(principal.programmes)


def programme_scoped(principal: Principal) -> bool:
    """Whether the principal reads only what concerns its own programmes: roles that need programmes
    (``RoleRule.needs_programmes``), and an API client whose registration names programmes."""
    if principal.role is Role.api_client:
        return bool(principal.programmes)
    return PERMISSIONS[principal.role].needs_programmes


def parse_scope(role: Role, codes: object, programmes: object = ()) -> tuple[RegionScope, frozenset[str]]:
    """Check a claimed scope against the table and return it; raises ``ScopeError``.

    Used for tokens and for API-client registrations alike, so a scope the table forbids can
    neither be minted nor accepted.
    """
    if role is Role.system:
        raise ScopeError("the system role is never granted to a caller")
    if isinstance(codes, str):
        codes = [codes]
    if not isinstance(codes, list | tuple | frozenset | set) or not codes or len(codes) > MAX_SCOPE_CODES:
        raise ScopeError("region scope must be a non-empty list of region codes")
    if not all(isinstance(c, str) and (c == NATIONAL or REGION_CODE.fullmatch(c)) for c in codes):
        raise ScopeError("malformed region code")
    scope = RegionScope(frozenset(codes))
    rule = PERMISSIONS[role]
    if rule.scope is ScopeKind.nation:
        if scope.codes != {NATIONAL}:
            raise ScopeError(f"{role} has national scope")
    elif rule.scope is not ScopeKind.registration:
        if scope.is_national or any(region_level(c) != _LEVEL_OF_KIND[rule.scope] for c in scope.codes):
            raise ScopeError(f"{role} scope must be {rule.scope}")
        if rule.scope in (ScopeKind.regency, ScopeKind.province) and len(scope.codes) != 1:
            raise ScopeError(f"{role} scope is exactly one {rule.scope}")
    elif scope.is_national and len(scope.codes) != 1:
        raise ScopeError("national scope cannot be mixed with region codes")
    if isinstance(programmes, str):
        programmes = [programmes]
    if not isinstance(programmes, list | tuple | frozenset | set) or not all(
        isinstance(p, str) and PROGRAMME_CODE.fullmatch(p) for p in programmes
    ):
        raise ScopeError("malformed programme list")
    programme_set = frozenset(programmes)
    if rule.needs_programmes and not programme_set:
        raise ScopeError(f"{role} needs at least one programme")
    return scope, programme_set


def render_markdown() -> str:
    """The permission table as Markdown, for ``docs/auth.md``."""
    perms = list(Permission)
    header = "| role | region scope | " + " | ".join(p.value for p in perms) + " | note |"
    rule_line = "|---|---|" + "---|" * len(perms) + "---|"
    rows = [header, rule_line]
    for role, rule in PERMISSIONS.items():
        if role is Role.system:
            continue
        scope = rule.scope.value + (" + programmes" if rule.needs_programmes else "")
        marks = " | ".join("✔" if p in rule.permissions else "◐" if p in rule.by_programme else ""
                           for p in perms)
        rows.append(f"| `{role.value}` | {scope} | {marks} | {rule.note} |")
    legend = "\n".join(f"- `{p.value}`: {PERMISSION_HELP[p]}" for p in perms)
    partial = "\n".join(
        f"- ◐ `{role.value}` has `{p.value}` only with one of the programmes "
        + ", ".join(f"`{c}`" for c in sorted(codes))
        for role, rule in PERMISSIONS.items() for p, codes in rule.by_programme.items())
    return "\n".join(rows) + "\n\n" + legend + "\n" + (f"\n{partial}\n" if partial else "")
