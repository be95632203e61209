"""The squad's identity and the first-run set-up (首次设置): squad name, enforcing body
(执法主体), district code, document-number prefix, and the first administrator."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import SYSTEM, Actor, Permission, Role, require
from app.auth.service import check_password_strength, create_user
from app.context import AppContext
from app.errors import DomainError, ValidationError
from app.reference import install_bundled
from db.ids import new_id
from db.models import LocalMeta, Squad

_DISTRICT = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class SquadInput:
    name: str
    enforcing_body: str
    district_code: str
    doc_prefix: str


@dataclass(frozen=True)
class SquadView:
    id: str
    name: str
    enforcing_body: str
    district_code: str
    doc_prefix: str
    version: int


def validate(data: SquadInput) -> SquadInput:
    name, body = data.name.strip(), data.enforcing_body.strip()
    code, prefix = data.district_code.strip(), data.doc_prefix.strip()
    if not name:
        raise ValidationError("请填写中队名称，如“车陂街综合行政执法队”。", field="name")
    if not body:
        raise ValidationError(
            "请填写执法主体（通常是街道办事处全称），文书将以它的名义出具。", field="enforcing_body"
        )
    if not _DISTRICT.match(code):
        raise ValidationError("区划代码应为 6 位数字（如 440106），请向区局确认。", field="district_code")
    if not prefix or len(prefix) > 20:
        raise ValidationError("请填写文号前缀（如“车综执”），最多 20 个字。", field="doc_prefix")
    return SquadInput(name, body, code, prefix)


def initialize(
    ctx: AppContext, squad: SquadInput, admin_username: str, admin_name: str, admin_password: str
) -> Actor:
    """Create the squad, its first administrator and the bundled reference data in one transaction."""
    if ctx.squad_id is not None:
        raise DomainError("本机已完成初始设置，不能重复设置。")
    clean = validate(squad)
    check_password_strength(admin_password)
    squad_id = new_id()
    ctx.set_squad(squad_id)
    try:
        with ctx.unit_of_work(SYSTEM, "首次设置") as session:
            session.add(
                Squad(
                    id=squad_id,
                    squad_id=squad_id,
                    name=clean.name,
                    enforcing_body=clean.enforcing_body,
                    district_code=clean.district_code,
                    doc_prefix=clean.doc_prefix,
                )
            )
            session.add(LocalMeta(key="squad_id", value=squad_id))
            user = create_user(session, SYSTEM, admin_username, admin_name, Role.ADMIN, admin_password)
            install_bundled(session)  # the sample catalog, until the district ships its own
    except Exception:
        ctx.squad_id = None
        raise
    return Actor(user.id, user.username, user.display_name, Role.ADMIN)


def get_squad(session: Session, squad_id: str) -> SquadView:
    s = session.get(Squad, squad_id)
    if s is None:
        raise DomainError("找不到中队信息，请重新运行首次设置。")
    return SquadView(s.id, s.name, s.enforcing_body, s.district_code, s.doc_prefix, s.version)


def update_squad(session: Session, actor: Actor, squad_id: str, data: SquadInput) -> None:
    require(actor, Permission.EDIT_SETTINGS)
    clean = validate(data)
    s = session.scalar(select(Squad).where(Squad.id == squad_id))
    if s is None:
        raise DomainError("找不到中队信息。")
    s.name, s.enforcing_body, s.district_code, s.doc_prefix = (
        clean.name,
        clean.enforcing_body,
        clean.district_code,
        clean.doc_prefix,
    )
