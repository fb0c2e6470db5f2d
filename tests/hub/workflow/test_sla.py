from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.config import DEFAULT_SLA_HOURS, Settings
from hub.models import CaseStatus
from hub.workflow import service as workflow_service


def test_sla_hours_come_from_the_environment_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLRT_SLA_HOURS", '{"decide": 240}')
    settings = Settings()
    assert settings.sla_hours == {"decide": 240}
    assert workflow_service.sla_table(settings.sla_hours) == DEFAULT_SLA_HOURS | {"decide": 240}


def test_due_dates_per_status() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    table = {"refer": 1, "decide": 2, "study": 3, "inform": 4}
    assert {status: workflow_service.due_at(status, now, table) for status in CaseStatus} == {
        CaseStatus.open: now + timedelta(hours=1),
        CaseStatus.referred: now + timedelta(hours=2),
        CaseStatus.further_study: now + timedelta(hours=3),
        CaseStatus.approved: now + timedelta(hours=4),
        CaseStatus.rejected: now + timedelta(hours=4),
        CaseStatus.informed: None,
    }
