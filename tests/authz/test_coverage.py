"""Every root Query field is either in the authorisation matrix or named here as public on purpose.

A new root field fails this test until it is added to ``MATRIX`` (with a test in ``test_matrix.py`` that
queries it) or to ``PUBLIC`` (with the reason), so the matrix cannot silently fall behind the schema.
"""

from __future__ import annotations

import inspect

from graphql import ObjectTypeDefinitionNode, ObjectTypeExtensionNode, parse

from schema.export import schema_sdl
from tests.authz import test_matrix as matrix
from tests.authz import test_programme_roles as programme_roles

# root field -> the matrix test that queries it over HTTP for every caller
MATRIX = {
    "node": matrix.test_single_reads_out_of_scope_look_absent,
    "household": matrix.test_single_reads_out_of_scope_look_absent,
    "households": matrix.test_households_list_and_count,
    "personByNik": matrix.test_person_by_nik_and_person_to_household,
    "familyByKk": matrix.test_family_by_kk,
    "programme": matrix.test_programme_enrolments_household_across_regions,
    "programmeByCode": matrix.test_programme_enrolments_household_across_regions,
    "programmes": matrix.test_programme_enrolments_household_across_regions,
    "needs": matrix.test_workflow_lists,
    "complaints": matrix.test_workflow_lists,
    "proposals": matrix.test_workflow_lists,
    "cases": matrix.test_workflow_lists,
    "case": matrix.test_case_by_id,
    "_entities": matrix.test_federation_entities,
    "connectors": matrix.test_connectors,
    "connector": matrix.test_connectors,
    "outbox": matrix.test_outbox,
    "accessLogs": matrix.test_access_logs_and_api_clients_need_their_permission,
    "apiClients": matrix.test_access_logs_and_api_clients_need_their_permission,
    "dashboard": matrix.test_dashboard_counts,
    "targetingFlags": matrix.test_targeting_flags,
}

# root fields with no personal or scoped data, and why
PUBLIC = {
    "_service": "the federation SDL",
    "region": "the Kemendagri region list is public reference data",
    "regions": "the Kemendagri region list is public reference data",
    "partners": "the partner catalogue is public reference data",
}


# Mutations that only a programme-scoped role may call -> the test that tries them as every caller.
PROGRAMME_MUTATIONS = {
    "upsertEnrolments": programme_roles.test_only_a_ministry_system_pushes_and_only_for_its_programmes,
    "upsertProgramme": programme_roles.test_only_a_ministry_system_pushes_and_only_for_its_programmes,
}


def root_fields(type_name: str = "Query") -> set[str]:
    fields: set[str] = set()
    for definition in parse(schema_sdl()).definitions:
        if isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode) and \
                definition.name.value == type_name:
            fields |= {f.name.value for f in definition.fields or ()}
    return fields


def root_query_fields() -> set[str]:
    return root_fields("Query")


def test_every_root_field_is_in_the_matrix_or_public() -> None:
    fields = root_query_fields()
    assert "households" in fields  # the enumeration itself works
    assert fields - MATRIX.keys() - PUBLIC.keys() == set(), "add the new root field to the authz matrix"
    assert (MATRIX.keys() | PUBLIC.keys()) - fields == set(), "a covered root field no longer exists"
    assert MATRIX.keys().isdisjoint(PUBLIC)


def test_each_matrix_test_queries_its_field() -> None:
    for field, test in MATRIX.items():
        assert test.__module__ == matrix.__name__
        source = inspect.getsource(test)
        assert any(form in source for form in (f"{field}(", f"{{ {field} ", f'"{field}"')), field


def test_push_mutations_are_tried_by_every_caller() -> None:
    assert PROGRAMME_MUTATIONS.keys() <= root_fields("Mutation")
    for field, test in PROGRAMME_MUTATIONS.items():
        source = inspect.getsource(programme_roles)
        assert f"{field}(" in source, field
        assert "PRINCIPALS.items()" in inspect.getsource(test), field
