"""Qt item model of the member ledger: fetches pages of members lazily as the view scrolls,
so 2,000 members open as fast as 40."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from app.auth.roles import Actor
from app.context import AppContext
from app.personnel.members import MemberQuery, MemberView, count_members, search_members
from ui.lazymodel import Index, LazyTableModel

COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "姓名"),
    ("gender", "性别"),
    ("id_number", "身份证号"),
    ("phone", "手机"),
    ("category", "人员类别"),
    ("unit", "分队"),
    ("position", "职务"),
    ("status", "状态"),
    ("cert", "执法证号"),
    ("cert_to", "执法证有效期至"),
)


class MemberTableModel(LazyTableModel):
    columns = COLUMNS

    def __init__(self, ctx: AppContext, actor: Actor, parent: Any = None) -> None:
        super().__init__(ctx, actor, MemberQuery(), count_members, search_members, parent)
        self.today = dt.date.today()

    def reload(self) -> None:
        self.today = dt.date.today()  # expiry colours are relative to today; the app may run for days
        super().reload()

    def member(self, row: int) -> MemberView:
        return self.rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        m = self.rows[index.row()]
        key = COLUMNS[index.column()][0]
        if role == Qt.ItemDataRole.DisplayRole:
            return {
                "name": m.name,
                "gender": m.gender,
                "id_number": m.id_number,
                "phone": m.phone,
                "category": m.category_label,
                "unit": m.unit,
                "position": m.position,
                "status": m.status_label,
                "cert": m.enforcement_cert_no,
                "cert_to": f"{m.enforcement_cert_to:%Y-%m-%d}" if m.enforcement_cert_to else "",
            }[key]
        if role == Qt.ItemDataRole.ForegroundRole and key == "cert_to" and m.enforcement_cert_to:
            days = (m.enforcement_cert_to - self.today).days
            if days <= self.ctx.settings.cert_urgent_days:
                return QColor("#c62828")
            if days <= self.ctx.settings.cert_warn_days:
                return QColor("#ef8f00")
        if role == Qt.ItemDataRole.ForegroundRole and key == "status" and m.status_label != "在岗":
            return QColor("#78909c")
        if role == Qt.ItemDataRole.UserRole:
            return m.id
        return None
