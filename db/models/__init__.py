"""All SQLAlchemy models; importing this package registers every table on ``Base.metadata``."""

from db.models.core import AuditEntry, CalendarOverride, ChangeLogEntry, LocalMeta, Squad, User
from db.models.personnel import (
    Certificate,
    CertificateEvent,
    CertificateReview,
    Member,
    TrainingRecord,
)

__all__ = [
    "AuditEntry",
    "CalendarOverride",
    "Certificate",
    "CertificateEvent",
    "CertificateReview",
    "ChangeLogEntry",
    "LocalMeta",
    "Member",
    "Squad",
    "TrainingRecord",
    "User",
]
