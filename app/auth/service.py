"""Login with argon2 hashes; a run of failed logins locks the account for a while.

The lockout is stored on the user row, so it holds across restarts of the program and across
the GUI and the CLI. The failure is committed in its own transaction even though the login
raises, otherwise the counter would roll back with the error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import record_event
from app.auth.roles import Actor, Permission, Role, require
from app.errors import AccountLocked, AuthenticationFailed, ConflictError, NotFoundError, ValidationError
from app.settings import Settings
from db.models import User

if TYPE_CHECKING:
    from app.context import AppContext

_hasher = PasswordHasher()
MIN_PASSWORD = 8


@dataclass(frozen=True)
class UserView:
    id: str
    username: str
    display_name: str
    role: Role
    active: bool
    locked_until: dt.datetime | None
    last_login: dt.datetime | None


def _view(u: User) -> UserView:
    return UserView(u.id, u.username, u.display_name, Role(u.role), u.active, u.locked_until, u.last_login)


def _actor(u: User) -> Actor:
    return Actor(user_id=u.id, username=u.username, display_name=u.display_name, role=Role(u.role))


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"密码至少需要 {MIN_PASSWORD} 位，请重新设置。", field="password")
    if password.isdigit() or password.isalpha():
        raise ValidationError("密码需同时包含字母和数字，请重新设置。", field="password")


def _find(session: Session, username: str) -> User | None:
    return session.scalar(
        select(User).where(func.lower(User.username) == username.strip().lower(), User.deleted.is_(False))
    )


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    member_id: str | None = None,
) -> UserView:
    require(actor, Permission.MANAGE_USERS)
    username = username.strip()
    if not username:
        raise ValidationError("请填写登录名。", field="username")
    if not display_name.strip():
        raise ValidationError("请填写姓名。", field="display_name")
    if _find(session, username) is not None:
        raise ConflictError(f"登录名“{username}”已被使用，请换一个。")
    check_password_strength(password)
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=role.value,
        password_hash=_hasher.hash(password),
        member_id=member_id,
        active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return _view(user)


def list_users(session: Session, actor: Actor) -> list[UserView]:
    require(actor, Permission.MANAGE_USERS)
    return [
        _view(u) for u in session.scalars(select(User).where(User.deleted.is_(False)).order_by(User.username))
    ]


def set_user_active(session: Session, actor: Actor, user_id: str, active: bool) -> None:
    require(actor, Permission.MANAGE_USERS)
    user = session.get(User, user_id)
    if user is None or user.deleted:
        raise NotFoundError("找不到该用户，可能已被删除。")
    if user.id == actor.user_id and not active:
        raise ValidationError("不能停用自己正在使用的账户。")
    user.active = active
    if active:
        user.failed_logins, user.locked_until = 0, None


def change_password(session: Session, actor: Actor, user_id: str, new_password: str) -> None:
    if user_id != actor.user_id:
        require(actor, Permission.MANAGE_USERS)
    user = session.get(User, user_id)
    if user is None or user.deleted:
        raise NotFoundError("找不到该用户。")
    check_password_strength(new_password)
    user.password_hash = _hasher.hash(new_password)


def login(
    session: Session,
    settings: Settings,
    device_id: str,
    username: str,
    password: str,
    now: dt.datetime | None = None,
) -> Actor:
    """Check a password. The caller commits the session whether this returns or raises, so that
    a failure is counted; ``ctx.login`` does it for the GUI and CLI."""
    now = now or dt.datetime.now()
    user = _find(session, username)
    if user is None or not user.active:
        raise AuthenticationFailed("登录名或密码不正确。")
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() + 59) // 60)
        raise AccountLocked(f"连续输错密码次数过多，账户已锁定，请 {minutes} 分钟后再试，或请管理员解锁。")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins = (user.failed_logins or 0) + 1
        left = settings.login_max_failures - user.failed_logins
        if left <= 0:
            user.locked_until = now + dt.timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
            raise AccountLocked(
                f"密码连续输错 {settings.login_max_failures} 次，账户已锁定 {settings.login_lockout_minutes} 分钟。"
            ) from None
        raise AuthenticationFailed(f"登录名或密码不正确，再输错 {left} 次账户将被锁定。") from None
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
    user.last_login = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return _actor(user)


def verify_password(session: Session, actor: Actor, password: str) -> bool:
    """Unlock after the idle lock: the same user proves it is still them."""
    user = session.get(User, actor.user_id)
    if user is None:
        return False
    try:
        return bool(_hasher.verify(user.password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def authenticate(ctx: AppContext, username: str, password: str, now: dt.datetime | None = None) -> Actor:
    """Log in through an open data folder; failures and lockouts are committed and audited."""
    with ctx.raw_write_session(username or "?") as session:
        try:
            actor = login(session, ctx.settings, ctx.device_id, username, password, now)
        except AuthenticationFailed as exc:
            if isinstance(exc, AccountLocked):
                record_event(session, username, ctx.device_id, "locked", "users", "", exc.message)
            else:
                record_event(session, username, ctx.device_id, "login_failed", "users", "", exc.message)
            session.commit()
            raise
        record_event(session, actor.display_name, ctx.device_id, "login", "users", actor.user_id, "登录成功")
        session.info.update(actor=actor.display_name, summary="登录")  # for the last-login update
        session.commit()
        return actor
