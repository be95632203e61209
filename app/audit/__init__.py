"""全过程记录 — the audit log: reading it, recording events, and verifying it.

Entries for data changes are written by the flush hook (db.hooks); events that change no row
(login, failed login, backup, restore, export) are recorded with :func:`record_event`. Every
entry holds the hash of the one before, so :func:`verify` can name the first entry that was
altered, removed or inserted behind the program's back. It also compares every synced row with
the after-image of its last audit entry, which catches a row edited directly in the file.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from db.audit_chain import FIELDS as CHAIN_FIELDS
from db.audit_chain import GENESIS, entry_hash
from db.base import synced_tables
from db.hooks import audit_head, set_audit_head
from db.models import AuditEntry
from db.serialize import row_image

if TYPE_CHECKING:
    from app.context import AppContext

ACTION_LABELS = {
    "insert": "新增",
    "update": "修改",
    "delete": "删除",
    "login": "登录",
    "login_failed": "登录失败",
    "locked": "账户锁定",
    "backup": "备份",
    "restore": "恢复",
    "export": "导出",
    "import": "导入",
    "sync_in": "同步接收",
}


#: Column → Chinese name, for the audit viewer's "changed fields".
FIELD_LABELS = {
    "name": "姓名",
    "gender": "性别",
    "id_number": "身份证号",
    "phone": "手机",
    "category": "人员类别",
    "position": "职务",
    "unit": "分队",
    "join_date": "入职日期",
    "status": "状态",
    "legal_qualification_no": "法律职业资格证号",
    "note": "备注",
    "deleted": "删除标记",
    "kind": "类别",
    "number": "编号",
    "issuer": "发证机关",
    "scope": "执法区域",
    "valid_from": "有效期自",
    "valid_to": "有效期至",
    "state": "状态",
    "review_date": "年审日期",
    "passed": "年审结果",
    "day": "日期",
    "course": "课程",
    "hours": "学时",
    "organizer": "主办单位",
    "username": "登录名",
    "display_name": "姓名",
    "role": "角色",
    "password_hash": "密码",
    "active": "启用",
    "failed_logins": "连续登录失败次数",
    "locked_until": "锁定至",
    "last_login": "最近登录",
    "enforcing_body": "执法主体",
    "district_code": "区划代码",
    "doc_prefix": "文号前缀",
    "is_workday": "是否工作日",
    "member_id": "所属队员",
    "certificate_id": "所属证件",
    "credit_code": "统一社会信用代码",
    "legal_representative": "法定代表人",
    "address": "地址",
    "source": "案源类别",
    "source_ref": "来源编号",
    "reporter_name": "举报人",
    "reporter_phone": "举报人电话",
    "grid_zone": "网格",
    "occurred_at": "发生时间",
    "received_at": "受理时间",
    "description": "情况描述",
    "triage_reason": "处置理由",
    "transferred_to": "移送单位",
    "sha256": "文件指纹",
    "release_no": "版本号",
    "code": "事项编码",
    "breach_basis": "违法依据",
    "penalty_basis": "处罚依据",
    "penalty_types": "处罚种类",
    "conditions": "适用情形",
    "no_penalty": "不予处罚",
    "rank": "阶次序号",
    "value": "数值",
}

#: Table name → the entity's Chinese name, from the models' ``label_zh``.
ENTITY_LABELS = {m.__tablename__: m.label_zh for m in synced_tables() if m.label_zh}


@dataclass(frozen=True)
class AuditView:
    seq: int
    at: str
    user_name: str
    action: str
    entity: str
    entity_id: str
    summary: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    @property
    def entity_label(self) -> str:
        return ENTITY_LABELS.get(self.entity, self.entity)

    @property
    def changed_labels(self) -> list[str]:
        return [FIELD_LABELS.get(k, k) for k in self.changed_fields]

    @property
    def changed_fields(self) -> list[str]:
        if not self.before or not self.after:
            return []
        return sorted(
            k
            for k in self.after
            if k not in ("version", "updated_at", "updated_by") and self.before.get(k) != self.after.get(k)
        )


@dataclass(frozen=True)
class AuditProblem:
    seq: int | None
    message: str


@dataclass(frozen=True)
class AuditReport:
    entries: int
    rows_checked: int
    problems: list[AuditProblem]

    @property
    def ok(self) -> bool:
        return not self.problems


def record_event(
    session: Session,
    actor_name: str,
    device_id: str,
    action: str,
    entity: str = "",
    entity_id: str = "",
    summary: str = "",
) -> None:
    """Append an event that changes no synced row (its hash chains on like any other entry)."""
    seq, prev = audit_head(session)
    entry: dict[str, Any] = {
        "seq": seq + 1,
        "at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "user_name": actor_name,
        "device_id": device_id,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "summary": summary,
        "before": None,
        "after": None,
        "prev_hash": prev,
    }
    entry["hash"] = entry_hash(entry)
    session.connection().execute(insert(AuditEntry), [entry])
    set_audit_head(session, entry["seq"], entry["hash"])


def record(
    ctx: AppContext, actor: Actor, action: str, summary: str, entity: str = "", entity_id: str = ""
) -> None:
    """Record an event in a unit of work of its own (e.g. after an export made on a read session)."""
    with ctx.unit_of_work(actor, summary) as session:
        record_event(session, actor.display_name, ctx.device_id, action, entity, entity_id, summary)


def _view(e: AuditEntry) -> AuditView:
    return AuditView(
        seq=e.seq,
        at=e.at,
        user_name=e.user_name,
        action=e.action,
        entity=e.entity,
        entity_id=e.entity_id,
        summary=e.summary,
        before=json.loads(e.before) if e.before else None,
        after=json.loads(e.after) if e.after else None,
    )


def list_entries(
    session: Session,
    actor: Actor,
    *,
    text: str = "",
    entity_id: str = "",
    limit: int = 500,
    before_seq: int | None = None,
) -> list[AuditView]:
    """Newest first; ``before_seq`` pages further back."""
    require(actor, Permission.VIEW_AUDIT)
    q = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if before_seq is not None:
        q = q.where(AuditEntry.seq < before_seq)
    if entity_id:
        q = q.where(AuditEntry.entity_id == entity_id)
    if text:
        like = f"%{text}%"
        q = q.where(
            AuditEntry.user_name.like(like)
            | AuditEntry.summary.like(like)
            | AuditEntry.after.like(like)
            | AuditEntry.entity.like(like)
        )
    return [_view(e) for e in session.scalars(q)]


def count_entries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def verify(session: Session) -> AuditReport:
    """Check the whole chain, then every synced row against its last audited image."""
    problems: list[AuditProblem] = []
    prev, expected_seq, count = GENESIS, 1, 0
    latest: dict[tuple[str, str], str | None] = {}
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(2000):
        count += 1
        fields = {c: getattr(e, c) for c in CHAIN_FIELDS}
        where = f"第 {e.seq} 条审计记录（{e.at}，{e.user_name}，{ACTION_LABELS.get(e.action, e.action)} {e.entity}）"
        if e.seq != expected_seq:
            problems.append(
                AuditProblem(e.seq, f"审计记录第 {expected_seq} 条至第 {e.seq - 1} 条缺失：记录被删除。")
            )
            break
        if e.prev_hash != prev:
            problems.append(AuditProblem(e.seq, f"{where}与前一条记录衔接不上：前一条记录被改动或删除。"))
            break
        if entry_hash(fields) != e.hash:
            problems.append(AuditProblem(e.seq, f"{where}的内容与其校验值不符：该记录被改动过。"))
            break
        prev, expected_seq = e.hash, e.seq + 1
        if e.after is not None:
            latest[(e.entity, e.entity_id)] = e.after
    rows = 0
    if not problems:
        for model in synced_tables():
            for obj in session.scalars(select(model)).yield_per(2000):
                rows += 1
                after = latest.get((model.__tablename__, obj.id))
                label = model.label_zh or model.__tablename__
                name = getattr(obj, "name", "") or getattr(obj, "number", "") or getattr(obj, "username", "")
                if after is None:
                    problems.append(
                        AuditProblem(None, f"{label}“{name}”（{obj.id}）没有审计记录：它是在程序之外写入的。")
                    )
                elif json.loads(after) != row_image(obj, redact=True):
                    problems.append(
                        AuditProblem(
                            None,
                            f"{label}“{name}”（{obj.id}）与最后一条审计记录不一致：它在程序之外被修改过。",
                        )
                    )
    return AuditReport(entries=count, rows_checked=rows, problems=problems)
