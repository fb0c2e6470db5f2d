"""ORM classes only. Importing this package registers every table on ``Base.metadata``."""

from hub.models.access import AccessLog, ApiClient
from hub.models.analytics import SummaryEnrolled, SummaryNameMatches, SummaryPersons, SummaryRefresh, SummaryUnit
from hub.models.programme import (
    Enrolment,
    EnrolmentStatus,
    Partner,
    Programme,
    ProgrammeLevel,
    ProgrammeRegion,
    TargetUnit,
)
from hub.models.push import IdempotencyKey, PendingEnrolment
from hub.models.region import Region
from hub.models.registry import (
    Family,
    Household,
    HouseholdDecile,
    LifeStatus,
    Person,
    RecordStatus,
    Relationship,
    Sex,
)
from hub.models.sync import (
    Connector,
    NikCheck,
    OutboxMessage,
    OutboxStatus,
    QuarantinedRecord,
    RunStatus,
    SyncCheckpoint,
    SyncConflict,
    SyncRun,
)
from hub.models.workflow import (
    Case,
    CaseEvent,
    CaseStatus,
    Complaint,
    Need,
    Proposal,
    Review,
    SubmissionStatus,
)

__all__ = [
    "AccessLog", "ApiClient",
    "Case", "CaseEvent", "CaseStatus", "Complaint", "Enrolment", "EnrolmentStatus", "Family",
    "Household", "HouseholdDecile", "LifeStatus", "Need", "Partner", "Person", "Programme",
    "ProgrammeLevel", "ProgrammeRegion", "Proposal", "RecordStatus", "Region", "Relationship",
    "Review", "Sex", "SubmissionStatus", "TargetUnit",
]
__all__ += ["IdempotencyKey", "PendingEnrolment"]
__all__ += [  # sync (issue 6)
    "Connector", "NikCheck", "OutboxMessage", "OutboxStatus", "QuarantinedRecord", "RunStatus",
    "SyncCheckpoint", "SyncConflict", "SyncRun",
]
__all__ += ["SummaryEnrolled", "SummaryNameMatches", "SummaryPersons", "SummaryRefresh", "SummaryUnit"]
