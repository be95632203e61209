"""Roles and permissions. Every service checks the permission it needs with :func:`require`,
so a rule holds whether the call comes from the GUI, the CLI or (later) the district server."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.errors import PermissionDenied


class Role(StrEnum):
    CLERK = "clerk"  # 内勤
    OFFICER = "officer"  # 执法队员
    LEGAL = "legal"  # 法制员
    LEADER = "leader"  # 队长
    ADMIN = "admin"  # 管理员

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.CLERK: "内勤",
    Role.OFFICER: "执法队员",
    Role.LEGAL: "法制员",
    Role.LEADER: "队长",
    Role.ADMIN: "管理员",
}


class Permission(StrEnum):
    VIEW_PERSONNEL = "view_personnel"
    EDIT_PERSONNEL = "edit_personnel"
    VIEW_FULL_ID = "view_full_id"
    EDIT_CERTIFICATES = "edit_certificates"
    EDIT_TRAINING = "edit_training"
    IMPORT_LEDGER = "import_ledger"
    EXPORT_LEDGER = "export_ledger"
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"
    EDIT_SETTINGS = "edit_settings"
    BACKUP = "backup"
    RESTORE = "restore"
    VIEW_CASES = "view_cases"
    REGISTER_LEADS = "register_leads"
    EDIT_PARTIES = "edit_parties"
    EDIT_REFERENCE = "edit_reference"
    HANDLE_CASES = "handle_cases"
    APPROVE_CASES = "approve_cases"
    LEGAL_REVIEW = "legal_review"
    EDIT_ROSTERS = "edit_rosters"
    PUBLISH_ROSTERS = "publish_rosters"
    SYNC = "sync"
    RESOLVE_CONFLICTS = "resolve_conflicts"

    @property
    def label(self) -> str:
        return PERMISSION_LABELS[self]


PERMISSION_LABELS = {
    Permission.VIEW_PERSONNEL: "查看人员台账",
    Permission.EDIT_PERSONNEL: "编辑人员信息",
    Permission.VIEW_FULL_ID: "查看完整身份证号",
    Permission.EDIT_CERTIFICATES: "编辑执法证信息",
    Permission.EDIT_TRAINING: "编辑培训记录",
    Permission.IMPORT_LEDGER: "导入台账",
    Permission.EXPORT_LEDGER: "导出台账",
    Permission.VIEW_AUDIT: "查看审计日志",
    Permission.MANAGE_USERS: "管理用户",
    Permission.EDIT_SETTINGS: "修改系统设置",
    Permission.BACKUP: "备份数据",
    Permission.RESTORE: "恢复数据",
    Permission.VIEW_CASES: "查看案件",
    Permission.REGISTER_LEADS: "登记和处置案源",
    Permission.EDIT_PARTIES: "登记当事人",
    Permission.EDIT_REFERENCE: "维护执法事项与裁量基准",
    Permission.HANDLE_CASES: "办理案件",
    Permission.APPROVE_CASES: "审批案件",
    Permission.LEGAL_REVIEW: "法制审核",
    Permission.EDIT_ROSTERS: "编排值班表",
    Permission.PUBLISH_ROSTERS: "发布值班表",
    Permission.SYNC: "与区局同步",
    Permission.RESOLVE_CONFLICTS: "处理同步冲突",
}

P = Permission
#: Who may do what. The clerk keeps the ledgers and registers leads and parties; officers read
#: the ledgers and register what they find in the field; clerks and officers handle cases step by
#: step; the legal reviewer reads and does the legal review (法制审核); the leader reads everything,
#: sees the audit and approves filing, decision and closure — approving is kept apart from
#: handling, so the one who investigates is not the one who approves; the admin runs the installation and, until the district
#: ships it, keeps the reference data (catalog, discretion benchmarks, thresholds). Rosters
#: follow the same split: the clerk draws up the month (shift types, demand, leave, cells) and the
#: leader publishes it; changes after publication are the clerk's, each recorded with its reason.
#: Everyone who writes data may sync it (a field station's officer too); the clerk resolves sync
#: conflicts; enrolling the installation with the district is the admin's (修改系统设置).
MATRIX: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset(
        {
            P.VIEW_PERSONNEL,
            P.EDIT_PERSONNEL,
            P.VIEW_FULL_ID,
            P.EDIT_CERTIFICATES,
            P.EDIT_TRAINING,
            P.IMPORT_LEDGER,
            P.EXPORT_LEDGER,
            P.BACKUP,
            P.VIEW_CASES,
            P.REGISTER_LEADS,
            P.EDIT_PARTIES,
            P.HANDLE_CASES,
            P.EDIT_ROSTERS,
            P.SYNC,
            P.RESOLVE_CONFLICTS,
        }
    ),
    Role.OFFICER: frozenset(
        {P.VIEW_PERSONNEL, P.VIEW_CASES, P.REGISTER_LEADS, P.EDIT_PARTIES, P.HANDLE_CASES, P.SYNC}
    ),
    Role.LEGAL: frozenset({P.VIEW_PERSONNEL, P.VIEW_CASES, P.LEGAL_REVIEW}),
    Role.LEADER: frozenset(
        {
            P.VIEW_PERSONNEL,
            P.VIEW_FULL_ID,
            P.EXPORT_LEDGER,
            P.VIEW_AUDIT,
            P.BACKUP,
            P.VIEW_CASES,
            P.REGISTER_LEADS,
            P.APPROVE_CASES,
            P.PUBLISH_ROSTERS,
            P.SYNC,
        }
    ),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Actor:
    """The logged-in user a service acts for."""

    user_id: str
    username: str
    display_name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in MATRIX[self.role]


#: The program itself (start-up, migrations, demo data); holds every permission.
SYSTEM = Actor(user_id="", username="system", display_name="系统", role=Role.ADMIN)


def require(actor: Actor, permission: Permission) -> None:
    if not actor.can(permission):
        raise PermissionDenied(
            f"“{actor.display_name}”（{actor.role.label}）没有“{permission.label}”的权限，"
            "请由有权限的人员操作或联系管理员调整角色。"
        )
