"""Users, roles, login and lockout. See :mod:`app.auth.roles` for the permission matrix."""

from app.auth.roles import SYSTEM, Actor, Permission, Role, require
from app.auth.service import (
    UserView,
    authenticate,
    change_password,
    create_user,
    list_users,
    login,
    set_user_active,
    verify_password,
)

__all__ = [
    "SYSTEM",
    "Actor",
    "Permission",
    "Role",
    "UserView",
    "authenticate",
    "change_password",
    "create_user",
    "list_users",
    "login",
    "require",
    "set_user_active",
    "verify_password",
]
