"""All SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from db.models.cases import Case, CaseEvidence, CaseParty, CasePause, CaseStep, CaseStepOfficer
from db.models.core import AuditEntry, CalendarOverride, ChangeLogEntry, LocalMeta, Squad, User
from db.models.district import (
    DistrictDevice,
    DistrictFile,
    DistrictRelease,
    DistrictSetting,
    DistrictSquad,
    EnrollmentCode,
    NumberBlock,
    PushRejection,
    RequestNonce,
    ServerChange,
    SyncConflict,
)
from db.models.documents import IssuedDocument, NumberLease, NumberRegister
from db.models.due_index import CaseDueIndex
from db.models.leads import Lead, LeadPhoto
from db.models.parties import Party
from db.models.personnel import (
    Certificate,
    CertificateEvent,
    CertificateReview,
    Member,
    TrainingRecord,
)
from db.models.reference import DiscretionTier, ReferenceRelease, ReferenceThreshold, ViolationItem
from db.models.rosters import (
    MemberLeave,
    Roster,
    RosterAssignment,
    RosterChange,
    ShiftDemand,
    ShiftType,
)

__all__ = [
    "AuditEntry",
    "CalendarOverride",
    "Case",
    "CaseDueIndex",
    "CaseEvidence",
    "CaseParty",
    "CasePause",
    "CaseStep",
    "CaseStepOfficer",
    "Certificate",
    "CertificateEvent",
    "CertificateReview",
    "ChangeLogEntry",
    "DiscretionTier",
    "DistrictDevice",
    "DistrictFile",
    "DistrictRelease",
    "DistrictSetting",
    "DistrictSquad",
    "EnrollmentCode",
    "IssuedDocument",
    "Lead",
    "LeadPhoto",
    "LocalMeta",
    "Member",
    "MemberLeave",
    "NumberBlock",
    "NumberLease",
    "NumberRegister",
    "Party",
    "PushRejection",
    "ReferenceRelease",
    "ReferenceThreshold",
    "RequestNonce",
    "Roster",
    "RosterAssignment",
    "RosterChange",
    "ServerChange",
    "ShiftDemand",
    "ShiftType",
    "Squad",
    "SyncConflict",
    "TrainingRecord",
    "User",
    "ViolationItem",
]
