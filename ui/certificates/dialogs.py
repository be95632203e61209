"""Dialogs of the certificate ledger: register or edit a certificate, record an annual review
(年审), change its state (暂扣 / 注销 / 挂失 / 恢复有效), and read its history (履历).

Each dialog saves in one unit of work when the user presses 保存. A DomainError is shown and
the dialog stays open with everything the user typed, so nothing has to be entered twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor
from app.certificates import (
    CertificateInput,
    CertificateKind,
    CertificateState,
    CertificateView,
    add_certificate,
    add_review,
    history,
    set_state,
    update_certificate,
)
from app.context import AppContext
from app.personnel.labels import CERT_KIND_LABELS, CERT_STATE_LABELS
from app.personnel.members import MemberQuery, search_members
from ui.certificates.models import EventModel, ReviewModel
from ui.errors import show_error
from ui.forms import (
    MEMBER_LIMIT,
    OptionalDateEdit,
    buttons,
    chosen_member,
    date_edit,
    focus_field,
    from_qdate,
    member_combo,
)


class CertificateDialog(QDialog):
    """新增证件 / 编辑证件."""

    def __init__(
        self,
        ctx: AppContext,
        actor: Actor,
        cert: CertificateView | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.cert = ctx, actor, cert
        self.saved_id: str | None = None
        self.setWindowTitle("编辑证件" if cert else "新增证件")
        if cert is None:
            with ctx.read() as session:
                members = search_members(session, actor, MemberQuery(include_left=False), limit=MEMBER_LIMIT)
            self.member = member_combo(members)
        else:
            # A certificate stays with the member it was issued to.
            self.member = QComboBox(enabled=False)
            self.member.addItem(cert.member_name, cert.member_id)
        self.kind = QComboBox()
        for kind, label in CERT_KIND_LABELS.items():
            self.kind.addItem(label, kind)
        self.number = QLineEdit(placeholderText="证件上的编号")
        self.issuer = QLineEdit(placeholderText="如：广州市人民政府")
        self.scope = QLineEdit(placeholderText="如：市容环境卫生、城乡规划等综合行政执法")
        self.valid_from = OptionalDateEdit("不详")
        self.valid_to = OptionalDateEdit("长期有效")
        self.state = QComboBox()
        for state, label in CERT_STATE_LABELS.items():
            self.state.addItem(label, state)
        self.note = QLineEdit()
        form = QFormLayout()
        form.addRow("队员", self.member)
        form.addRow("证件类型", self.kind)
        form.addRow("证件编号", self.number)
        form.addRow("发证机关", self.issuer)
        form.addRow("执法区域/范围", self.scope)
        form.addRow("有效期自", self.valid_from)
        form.addRow("有效期至", self.valid_to)
        form.addRow("状态", self.state)
        form.addRow("备注", self.note)
        self.fields: dict[str, QWidget] = {
            "member_id": self.member,
            "kind": self.kind,
            "number": self.number,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "state": self.state,
        }
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if cert is not None:
            hint = QLabel(
                "改变有效期会记作换证/延期，改变状态会记作状态变更（日期为今天）；"
                "要指定状态变更的日期，请用“变更状态”。"
            )
            hint.setWordWrap(True)
            hint.setStyleSheet("color:#607d8b")
            layout.addWidget(hint)
        layout.addWidget(buttons(self, self.save))
        self.kind.currentIndexChanged.connect(self._kind_changed)
        if cert is None:
            today = dt.date.today()
            self.valid_from.set_value(today)
            # 行政执法证 are usually issued for five years.
            self.valid_to.set_value(today + dt.timedelta(days=5 * 365 + 1))
        else:
            self.kind.setCurrentIndex(self.kind.findData(cert.kind))
            self.number.setText(cert.number)
            self.issuer.setText(cert.issuer)
            self.scope.setText(cert.scope)
            self.valid_from.set_value(cert.valid_from)
            self.valid_to.set_value(cert.valid_to)
            self.state.setCurrentIndex(self.state.findData(cert.state))
            self.note.setText(cert.note)
        self.resize(520, self.sizeHint().height())

    def _kind_changed(self) -> None:
        # 法律职业资格证书 does not expire; 行政执法证 always does.
        # Qt hands enum item data back as plain str, hence the conversions.
        kind = CertificateKind(self.kind.currentData())
        if kind is CertificateKind.LEGAL:
            self.valid_to.none_box.setChecked(True)
        elif kind is CertificateKind.ENFORCEMENT:
            self.valid_to.none_box.setChecked(False)

    def data(self) -> CertificateInput:
        return CertificateInput(
            member_id=chosen_member(self.member) if self.cert is None else self.cert.member_id,
            kind=CertificateKind(self.kind.currentData()),
            number=self.number.text(),
            issuer=self.issuer.text(),
            scope=self.scope.text(),
            valid_from=self.valid_from.value(),
            valid_to=self.valid_to.value(),
            state=CertificateState(self.state.currentData()),
            note=self.note.text(),
        )

    def save(self) -> bool:
        try:
            data = self.data()
            summary = (
                f"{'编辑' if self.cert else '新增'}证件：{self.member.currentText()} {data.number.strip()}"
            )
            with self.ctx.unit_of_work(self.actor, summary) as session:
                if self.cert is None:
                    self.saved_id = add_certificate(session, self.actor, data)
                else:
                    update_certificate(session, self.actor, self.cert.id, data, self.cert.version)
                    self.saved_id = self.cert.id
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法保存证件")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, cert: CertificateView | None = None, parent: QWidget | None = None
    ) -> str | None:
        """The id of the certificate saved, or None when the user cancelled."""
        dialog = cls(ctx, actor, cert, parent)
        return dialog.saved_id if dialog.exec() else None


@dataclass(frozen=True)
class ReviewResult:
    review_date: dt.date
    passed: bool
    note: str


class ReviewDialog(QDialog):
    """登记年审."""

    def __init__(
        self, ctx: AppContext, actor: Actor, cert: CertificateView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.cert = ctx, actor, cert
        self.result_value: ReviewResult | None = None
        self.setWindowTitle("登记年审")
        self.day = date_edit(latest=dt.date.today())
        self.passed = QComboBox()
        self.passed.addItem("合格", True)
        self.passed.addItem("不合格", False)
        self.note = QLineEdit(placeholderText="如：年审合格 / 未完成学时，限期补训")
        form = QFormLayout()
        form.addRow("证件", QLabel(f"{cert.member_name}　{cert.kind_label}　{cert.number}"))
        form.addRow("年审日期", self.day)
        form.addRow("结果", self.passed)
        form.addRow("备注", self.note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons(self, self.save))
        self.resize(440, self.sizeHint().height())

    def save(self) -> bool:
        result = ReviewResult(from_qdate(self.day.date()), bool(self.passed.currentData()), self.note.text())
        try:
            summary = f"登记年审：{self.cert.member_name} {self.cert.number}"
            with self.ctx.unit_of_work(self.actor, summary) as session:
                add_review(session, self.actor, self.cert.id, result.review_date, result.passed, result.note)
        except Exception as exc:
            show_error(self, exc, "无法登记年审")
            return False
        self.result_value = result
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, cert: CertificateView, parent: QWidget | None = None
    ) -> ReviewResult | None:
        dialog = cls(ctx, actor, cert, parent)
        return dialog.result_value if dialog.exec() else None


#: The changes a clerk makes by hand; 已过期 follows from the dates by itself.
STATE_CHOICES = (
    (CertificateState.SUSPENDED, "暂扣"),
    (CertificateState.REVOKED, "注销"),
    (CertificateState.LOST, "挂失"),
    (CertificateState.VALID, "恢复有效"),
)


@dataclass(frozen=True)
class StateResult:
    state: CertificateState
    day: dt.date
    note: str


class StateDialog(QDialog):
    """变更状态: from which day a certificate is suspended, revoked, lost or valid again."""

    def __init__(
        self, ctx: AppContext, actor: Actor, cert: CertificateView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.cert = ctx, actor, cert
        self.result_value: StateResult | None = None
        self.setWindowTitle("变更证件状态")
        self.state = QComboBox()
        for state, label in STATE_CHOICES:
            if state is not cert.state:
                self.state.addItem(label, state)
        self.day = date_edit()
        self.note = QLineEdit(placeholderText="原因或依据，如：涉嫌违规执法，暂扣待查")
        form = QFormLayout()
        form.addRow("证件", QLabel(f"{cert.member_name}　{cert.kind_label}　{cert.number}"))
        form.addRow("当前状态", QLabel(cert.state_label))
        form.addRow("变更为", self.state)
        form.addRow("自何日起", self.day)
        form.addRow("原因", self.note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons(self, self.save))
        self.resize(440, self.sizeHint().height())

    def save(self) -> bool:
        result = StateResult(
            CertificateState(self.state.currentData()), from_qdate(self.day.date()), self.note.text()
        )
        try:
            summary = f"证件{self.state.currentText()}：{self.cert.member_name} {self.cert.number}"
            with self.ctx.unit_of_work(self.actor, summary) as session:
                set_state(session, self.actor, self.cert.id, result.state, result.day, result.note)
        except Exception as exc:
            show_error(self, exc, "无法变更证件状态")
            return False
        self.result_value = result
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, cert: CertificateView, parent: QWidget | None = None
    ) -> StateResult | None:
        dialog = cls(ctx, actor, cert, parent)
        return dialog.result_value if dialog.exec() else None


def _table(model: ReviewModel | EventModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return view


class HistoryDialog(QDialog):
    """履历: the annual reviews and every registration, renewal and change of state."""

    def __init__(
        self, ctx: AppContext, actor: Actor, cert: CertificateView, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"证件履历 — {cert.member_name}")
        with ctx.read() as session:
            reviews, events = history(session, actor, cert.id)
        self.reviews, self.events = ReviewModel(self), EventModel(self)
        self.reviews.set_rows(reviews)
        self.events.set_rows(events)
        layout = QVBoxLayout(self)
        to = f"{cert.valid_to:%Y-%m-%d}" if cert.valid_to else "长期"
        since = f"{cert.valid_from:%Y-%m-%d}" if cert.valid_from else "—"
        layout.addWidget(
            QLabel(
                f"<b>{cert.member_name}</b>　{cert.kind_label}　{cert.number}<br>"
                f"有效期 {since} 至 {to}　当前状态：{cert.state_label}"
            )
        )
        layout.addWidget(QLabel(f"年审记录（{len(reviews)}）"))
        layout.addWidget(_table(self.reviews), 1)
        layout.addWidget(QLabel(f"变动记录（{len(events)}）"))
        layout.addWidget(_table(self.events), 2)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        close.rejected.connect(self.reject)
        layout.addWidget(close)
        self.resize(640, 480)

    @classmethod
    def show_for(
        cls, ctx: AppContext, actor: Actor, cert: CertificateView, parent: QWidget | None = None
    ) -> None:
        cls(ctx, actor, cert, parent).exec()
