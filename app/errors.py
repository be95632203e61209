"""The one family of errors a service raises. Each message tells a clerk, in Chinese, what is
wrong and what to do about it; the GUI and the CLI show it as it is."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a clerk may see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(DomainError):
    """Input that cannot be accepted; ``field`` names the form field at fault when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFoundError(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class AuthenticationFailed(DomainError):
    pass


class AccountLocked(AuthenticationFailed):
    pass


class ConflictError(DomainError):
    """Someone else changed the record meanwhile, or a unique value is taken."""


class SetupRequired(DomainError):
    pass


class BackupError(DomainError):
    pass


class Cancelled(DomainError):
    def __init__(self, message: str = "操作已取消。") -> None:
        super().__init__(message)
