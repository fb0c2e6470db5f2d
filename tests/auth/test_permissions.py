from __future__ import annotations

from pathlib import Path

import pytest

from auth.permissions import PERMISSIONS, Permission, ScopeError, ScopeKind, can, parse_scope, render_markdown
from auth.principal import Principal, RegionScope, Role
from hub.masking import disability_for, mask_kk_for, mask_nik_for

NIK = "3314016001900001"
KK = "3314010101200001"


def principal(role: Role, *codes: str, programmes: frozenset[str] = frozenset()) -> Principal:
    return Principal(subject="t", role=role, scope=RegionScope.of(*codes), programmes=programmes)


def test_every_role_has_exactly_one_rule() -> None:
    assert set(PERMISSIONS) == set(Role)


@pytest.mark.parametrize("role", [Role.auditor, Role.district_it_admin])
def test_roles_without_personal_data(role: Role) -> None:
    assert Permission.read_personal_data not in PERMISSIONS[role].permissions
    assert Permission.see_full_nik not in PERMISSIONS[role].permissions
    assert Permission.see_disability not in PERMISSIONS[role].permissions


def test_only_auditors_read_the_log_and_only_it_admins_manage_connectors() -> None:
    assert {r for r, rule in PERMISSIONS.items() if Permission.read_audit in rule.permissions} == {
        Role.auditor, Role.system}
    assert {r for r, rule in PERMISSIONS.items() if Permission.manage_connectors in rule.permissions} == {
        Role.district_it_admin, Role.system}


def test_no_permission_for_nobody() -> None:
    assert not any(can(None, p) for p in Permission)


@pytest.mark.parametrize(("role", "good", "bad"), [
    (Role.facilitator, ["33.14.01.2001", "33.14.01.2002"], ["33.14.01"]),
    (Role.supervisor, ["33.14.01"], ["33.14"]),
    (Role.manager, ["33.14"], ["33.14", "33.15"]),
    (Role.province_officer, ["33"], ["*"]),
    (Role.national_officer, ["*"], ["33"]),
    (Role.auditor, ["*"], ["33.14"]),
    (Role.district_it_admin, ["33.14"], ["33.14.01"]),
    (Role.api_client, ["33.14.01"], ["*", "33"]),
])
def test_scope_follows_the_role(role: Role, good: list[str], bad: list[str]) -> None:
    scope, _ = parse_scope(role, good)
    assert scope.codes == frozenset(good)
    with pytest.raises(ScopeError):
        parse_scope(role, bad)


@pytest.mark.parametrize("codes", [[], "", ["33.1"], ["33.14.01.201"], ["3314"], ["33.14.01.2001 "], [33], None])
def test_malformed_scopes(codes: object) -> None:
    with pytest.raises(ScopeError):
        parse_scope(Role.api_client, codes)


def test_programme_roles_need_programmes() -> None:
    with pytest.raises(ScopeError):
        parse_scope(Role.programme_owner, ["*"])
    assert parse_scope(Role.programme_owner, ["*"], ["PKH"])[1] == {"PKH"}
    with pytest.raises(ScopeError):
        parse_scope(Role.ministry_system, ["*"], ["pkh; drop"])
    with pytest.raises(ScopeError):
        parse_scope(Role.system, ["*"])


def test_masking_follows_the_table() -> None:
    facilitator = principal(Role.facilitator, "33.14.01.2001")
    manager = principal(Role.manager, "33.14")
    auditor = principal(Role.auditor, "*")
    assert mask_nik_for(facilitator, NIK) == NIK
    assert mask_nik_for(manager, NIK) == "3314**********01"
    assert mask_nik_for(auditor, NIK) == "3314**********01"
    assert mask_nik_for(None, NIK) == "3314**********01"
    assert mask_nik_for(manager, "not-a-nik") == "*" * 16
    assert mask_nik_for(manager, None) is None
    assert mask_kk_for(facilitator, KK) == KK
    assert mask_kk_for(manager, KK) == "3314**********01"
    assert disability_for(manager, True) is True
    assert disability_for(principal(Role.province_officer, "33"), True) is None
    assert disability_for(principal(Role.programme_owner, "*", programmes=frozenset({"PKH"})), ["netra"]) is None


def test_docs_carry_the_rendered_table() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "auth.md").read_text()
    assert render_markdown() in docs, "docs/auth.md is stale: paste auth.permissions.render_markdown() into it"
    assert all(kind.value in docs for kind in ScopeKind)


def test_programme_roles_read_only_what_their_programmes_need() -> None:
    owner = principal(Role.programme_owner, "*", programmes=frozenset({"PKH"}))
    disability_owner = principal(Role.programme_owner, "*", programmes=frozenset({"ASPD"}))
    ministry = principal(Role.ministry_system, "*", programmes=frozenset({"PKH"}))
    assert [can(owner, p) for p in (Permission.read_personal_data, Permission.see_full_nik,
                                    Permission.see_personal_details, Permission.see_disability)] == [
        True, False, False, False]
    assert can(disability_owner, Permission.see_disability)
    assert not can(disability_owner, Permission.see_personal_details)
    assert mask_nik_for(owner, NIK) == "3314**********01"
    assert {p for p in Permission if can(ministry, p)} == {Permission.push, Permission.read_programme_enrolments}
    # push stays a ministry system's alone; partial rights are marked in the rendered table
    assert {r for r, rule in PERMISSIONS.items() if Permission.push in rule.permissions} == {
        Role.ministry_system, Role.system}
    assert "◐ `programme_owner` has `see_disability` only with one of the programmes `ASPD`" in render_markdown()
