"""ORM classes only. Importing this package registers every table on ``Base.metadata``."""

from hub.models.access import AccessLog, ApiClient
from hub.models.programme import (
    Enrolment,
    EnrolmentStatus,
    Partner,
    Programme,
    ProgrammeLevel,
    ProgrammeRegion,
    TargetUnit,
)
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
