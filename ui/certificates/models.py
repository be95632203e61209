"""Table models of the certificate ledger (执法证台账) and of one certificate's history (履历)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QIcon

from app.certificates import Alert, CertificateView, EventView, ReviewView
from app.personnel.labels import CERT_STATE_LABELS
from ui.icons import icon
from ui.tablemodel import Column, RowTableModel

ALERT_BACKGROUNDS = {Alert.RED: QColor("#ffebee"), Alert.AMBER: QColor("#fff8e1")}
ALERT_ICONS = {Alert.RED: "alert.red", Alert.AMBER: "alert.amber"}

EVENT_LABELS = {"issued": "登记", "renewed": "换证/延期", "state": "状态变更"}


class CertificateModel(RowTableModel[CertificateView]):
    columns = (
        Column("姓名", lambda c: c.member_name),
        Column("证件类型", lambda c: c.kind_label),
        Column("编号", lambda c: c.number, tooltip=lambda c: c.scope and f"执法区域/范围：{c.scope}"),
        Column("发证机关", lambda c: c.issuer),
        Column("有效期自", lambda c: c.valid_from),
        Column("有效期至", lambda c: c.valid_to, tooltip=lambda c: "" if c.valid_to else "长期有效"),
        Column("状态", lambda c: c.state_label),
        Column("上次年审", lambda c: c.last_review),
        Column("提醒", lambda c: c.alert_text, tooltip=lambda c: c.alert_text),
    )
    ALERT_COLUMN = 8

    def __init__(self, parent: object = None) -> None:
        super().__init__(parent)
        self._icons: dict[Alert, QIcon] = {}

    def row_background(self, item: CertificateView) -> QColor | None:
        return ALERT_BACKGROUNDS.get(item.alert)

    def decoration(self, item: CertificateView, column: int) -> QIcon | None:
        if column != self.ALERT_COLUMN or item.alert not in ALERT_ICONS:
            return None
        if item.alert not in self._icons:
            self._icons[item.alert] = icon(ALERT_ICONS[item.alert])
        return self._icons[item.alert]


class ReviewModel(RowTableModel[ReviewView]):
    columns = (
        Column("年审日期", lambda r: r.review_date),
        Column("结果", lambda r: "合格" if r.passed else "不合格"),
        Column("备注", lambda r: r.note),
    )

    def row_background(self, item: ReviewView) -> QColor | None:
        return None if item.passed else ALERT_BACKGROUNDS[Alert.RED]


def _state(value: str) -> str:
    try:
        return CERT_STATE_LABELS[next(s for s in CERT_STATE_LABELS if s.value == value)]
    except StopIteration:
        return value


class EventModel(RowTableModel[EventView]):
    columns = (
        Column("日期", lambda e: e.day),
        Column("事项", lambda e: EVENT_LABELS.get(e.kind, e.kind)),
        Column("原状态", lambda e: _state(e.old_state)),
        Column("新状态", lambda e: _state(e.new_state)),
        Column("说明", lambda e: e.note, tooltip=lambda e: e.note),
    )
