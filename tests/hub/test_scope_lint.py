"""Region scope is written once (hub/db/repository.py). Any other code filtering on region columns
is how scope checks drift apart; this lint fails on it (modelled on polar's org_scope linter)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGION_COLUMNS = {"province_code", "regency_code", "district_code", "village_code"}
# The scoped repository is the one place. Writers set region columns, they never filter on them.
ALLOWED = {"hub/db/repository.py"}


def _offences(source: str) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {
            "where", "filter", "filter_by"
        }:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Attribute) and inner.attr in REGION_COLUMNS:
                    lines.append(node.lineno)
                if isinstance(inner, ast.keyword) and inner.arg in REGION_COLUMNS:
                    lines.append(node.lineno)
    return sorted(set(lines))


def test_no_region_filter_outside_the_scoped_repository() -> None:
    offences = []
    for package in ("hub", "schema", "auth"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED or "/migrations/" in rel:
                continue
            offences += [f"{rel}:{line}" for line in _offences(path.read_text())]
    assert offences == []


def test_lint_detects_a_hand_written_region_filter() -> None:
    source = "stmt = select(Household).where(Household.district_code == code)\n"
    assert _offences(source) == [1]
    assert _offences("stmt = select(Household).filter_by(village_code=code)\n") == [1]
    assert _offences("stmt = select(Household).where(Household.id == id_)\n") == []
