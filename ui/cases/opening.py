"""Where cases begin: 立案 from a lead (ordinary procedure) and 当场处罚 (summary procedure).

Both need a party: :class:`PartyPicker` finds one already registered (by name, pinyin initials,
ID number or credit code — and shows the party's earlier cases, so a repeat offence is seen
before the case is opened) or registers a new one. The new party and the case are written in one
unit of work: a refused case leaves no orphan party behind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QRadioButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.auth.roles import Actor, Permission
from app.cases import CaseOpening, CaseView, SpotDecision, decide_on_the_spot, open_case_from_lead
from app.cases.query import CaseQuery, search_cases
from app.context import AppContext
from app.errors import ValidationError
from app.leads import LeadView
from app.parties import PartyInput, PartyView, create_party, search_parties
from app.personnel.members import MemberQuery, search_members
from app.reference import ItemView, PartyKind, PenaltyType, list_items, parse_yuan, tiers_for
from ui.cases.steps import MemberChecklist, text_edit, yuan_edit
from ui.errors import show_error
from ui.forms import MEMBER_LIMIT, OptionalDateEdit, buttons, date_edit, focus_field, from_qdate, search_box

#: How many matches the party search lists: enough to scroll, few enough to stay instant.
PARTY_MATCHES = 50


class PartyPicker(QTabWidget):
    """The case's party: one already registered, or a new one registered with the case."""

    def __init__(self, ctx: AppContext, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor = ctx, actor
        self.matches: list[PartyView] = []
        # -- existing
        existing = QWidget()
        column = QVBoxLayout(existing)
        self.search = search_box("姓名 / 名称 / 拼音首字母 / 身份证号 / 信用代码", 200)
        self.results = QListWidget(objectName="party_results")
        self.results.setMinimumHeight(90)
        self.results.setMaximumHeight(160)
        self.history = QLabel(objectName="party_history", wordWrap=True)
        self.history.setStyleSheet("color:#546e7a")
        column.addWidget(self.search)
        column.addWidget(self.results, 1)
        column.addWidget(self.history)
        self.addTab(existing, "已登记的当事人")
        # -- new
        new = QWidget()
        form = QFormLayout(new)
        kinds = QHBoxLayout()
        self.kind_group = QButtonGroup(self)
        self.person = QRadioButton("个人")
        self.org = QRadioButton("单位")
        self.person.setChecked(True)
        for button in (self.person, self.org):
            self.kind_group.addButton(button)
            kinds.addWidget(button)
        kinds.addStretch(1)
        self.name = QLineEdit(placeholderText="姓名或单位全称")
        self.identity = QLineEdit(placeholderText="18 位公民身份号码")
        self.legal_rep = QLineEdit(placeholderText="法定代表人或负责人")
        self.address = QLineEdit(placeholderText="住址或经营场所")
        self.phone = QLineEdit(placeholderText="联系电话")
        form.addRow("类型", kinds)
        form.addRow("姓名/名称 *", self.name)
        self.identity_label = QLabel("身份证号 *")
        form.addRow(self.identity_label, self.identity)
        form.addRow("法定代表人", self.legal_rep)
        form.addRow("地址", self.address)
        form.addRow("电话", self.phone)
        self.addTab(new, "登记新当事人")
        self.fields: dict[str, QWidget] = {
            "party": self.search,
            "name": self.name,
            "id_number": self.identity,
            "credit_code": self.identity,
            "legal_representative": self.legal_rep,
            "address": self.address,
            "phone": self.phone,
        }
        self._timer = QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self.find)
        self.search.textChanged.connect(self._timer.start)
        self.results.currentRowChanged.connect(self._show_history)
        self.org.toggled.connect(self._kind_changed)
        self._kind_changed()
        self.find()

    def _kind_changed(self) -> None:
        org = self.org.isChecked()
        self.identity_label.setText("统一社会信用代码 *" if org else "身份证号 *")
        self.identity.setPlaceholderText("18 位统一社会信用代码" if org else "18 位公民身份号码")
        self.legal_rep.setEnabled(org)

    def find(self) -> None:
        try:
            with self.ctx.read() as session:
                self.matches = search_parties(session, self.actor, self.search.text(), limit=PARTY_MATCHES)
        except Exception as exc:
            show_error(self, exc)
            return
        self.results.clear()
        for p in self.matches:
            self.results.addItem(QListWidgetItem(f"{p.name}　{p.kind_label}　{p.identity}　{p.address}"))
        self.history.clear()

    def _show_history(self, row: int) -> None:
        if not 0 <= row < len(self.matches):
            self.history.clear()
            return
        with self.ctx.read() as session:
            earlier = search_cases(session, self.actor, CaseQuery(party_id=self.matches[row].id), limit=20)
        if not earlier:
            self.history.setText("该当事人此前没有案件记录（初次违法）。")
            return
        listed = "；".join(f"{c.number} {c.item_name}（{c.stage_label}）" for c in earlier[:3])
        more = f" 等 {len(earlier)} 件" if len(earlier) > 3 else ""
        self.history.setText(f"<b>该当事人已有 {len(earlier)} 件案件</b>：{listed}{more}")

    def chosen(self) -> PartyView | None:
        row = self.results.currentRow()
        return self.matches[row] if self.currentIndex() == 0 and 0 <= row < len(self.matches) else None

    def new_party(self) -> PartyInput:
        org = self.org.isChecked()
        return PartyInput(
            PartyKind.ORGANISATION if org else PartyKind.PERSON,
            self.name.text(),
            id_number="" if org else self.identity.text(),
            credit_code=self.identity.text() if org else "",
            legal_representative=self.legal_rep.text() if org else "",
            address=self.address.text(),
            phone=self.phone.text(),
        )

    def party_id(self, session: Any) -> str:
        """The chosen party's id, registering the new party first (inside the caller's unit of work)."""
        if self.currentIndex() == 0:
            chosen = self.chosen()
            if chosen is None:
                raise ValidationError("请在列表中选择当事人，或在“登记新当事人”中登记。", field="party")
            return chosen.id
        return create_party(session, self.actor, self.new_party()).id


def item_combo(items: list[ItemView]) -> QComboBox:
    combo = QComboBox(objectName="item")
    combo.addItem("（请选择执法事项）", "")
    for item in items:
        combo.addItem(f"{item.code}　{item.name}", item.code)
    combo.setMaxVisibleItems(20)
    return combo


class OpenCaseDialog(QDialog):
    """立案: open an ordinary case from a lead. The case then awaits the leader's filing approval."""

    def __init__(self, ctx: AppContext, actor: Actor, lead: LeadView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.lead = ctx, actor, lead
        self.saved: CaseView | None = None
        self.setWindowTitle(f"立案 — {lead.number}")
        with ctx.read() as session:
            self.items = list_items(session)
        self.item = item_combo(self.items)
        self.parties = PartyPicker(ctx, actor)
        self.title = QLineEdit(placeholderText="案由，如：擅自占用城市道路堆放物料")
        self.facts = text_edit("违法事实", 80, lead.description)
        self.opened_on = date_edit(dt.date.today(), latest=dt.date.today())
        self.violation_ended = OptionalDateEdit("违法行为仍在继续")
        self.violation_ended.set_value(None)
        self.harm = QCheckBox("危及公民生命健康安全、金融安全且有危害后果（追责时效 5 年）")
        self.major = QCheckBox("重大案件")
        self.complex = QCheckBox("案情复杂")
        flags = QHBoxLayout()
        flags.addWidget(self.major)
        flags.addWidget(self.complex)
        flags.addStretch(1)
        form = QFormLayout()
        form.addRow("案源", QLabel(f"{lead.number}　{lead.address}"))
        form.addRow("执法事项 *", self.item)
        form.addRow("当事人 *", self.parties)
        form.addRow("案由 *", self.title)
        form.addRow("违法事实", self.facts)
        form.addRow("登记日期 *", self.opened_on)
        form.addRow("违法行为终了", self.violation_ended)
        form.addRow("", self.harm)
        form.addRow("", flags)
        self.fields: dict[str, QWidget] = self.parties.fields | {
            "item_code": self.item,
            "item": self.item,
            "title": self.title,
            "facts": self.facts,
            "opened_on": self.opened_on,
            "violation_ended": self.violation_ended,
        }
        layout = QVBoxLayout(self)
        hint = QLabel(
            "立案后由队长审批（立案审批表）；当事人已有案件的，列表下方显示其违法记录。", wordWrap=True
        )
        hint.setStyleSheet("color:#546e7a")
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(buttons(self, self.save, "立案"))
        self.item.currentIndexChanged.connect(self._suggest_title)
        self.resize(640, self.sizeHint().height())

    def _suggest_title(self) -> None:
        code = self.item.currentData()
        item = next((i for i in self.items if i.code == code), None)
        if item is not None and not self.title.isModified():
            self.title.setText(item.name)

    def opening(self, party_id: str) -> CaseOpening:
        code = str(self.item.currentData() or "")
        if not code:
            raise ValidationError("请选择执法事项。", field="item")
        return CaseOpening(
            item_code=code,
            party_ids=(party_id,),
            title=self.title.text().strip(),
            opened_on=from_qdate(self.opened_on.date()),
            facts=self.facts.toPlainText().strip(),
            violation_ended=self.violation_ended.value(),
            limitation_harm=self.harm.isChecked(),
            major=self.major.isChecked(),
            complex=self.complex.isChecked(),
        )

    def save(self) -> bool:
        try:
            if not self.title.text().strip():
                raise ValidationError("请填写案由。", field="title")
            with self.ctx.unit_of_work(self.actor, f"立案：{self.lead.number}") as session:
                opening = self.opening(self.parties.party_id(session))
                self.saved = open_case_from_lead(session, self.actor, self.lead.id, opening)
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法立案")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, lead: LeadView, parent: QWidget | None = None
    ) -> CaseView | None:
        dialog = cls(ctx, actor, lead, parent)
        return dialog.saved if dialog.exec() else None


class SpotDecisionDialog(QDialog):
    """当场处罚 (简易程序, APL 51–52): a warning or a small fine decided on the spot by two officers,
    from a lead or straight from a patrol."""

    def __init__(
        self, ctx: AppContext, actor: Actor, lead: LeadView | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.actor, self.lead = ctx, actor, lead
        self.saved: CaseView | None = None
        self.setWindowTitle("当场处罚（简易程序）" + (f" — {lead.number}" if lead else ""))
        with ctx.read() as session:
            self.items = list_items(session)
            members = search_members(session, actor, MemberQuery(include_left=False), limit=MEMBER_LIMIT)
            self.session_tiers = {i.code: [t.name for t in tiers_for(session, i.code)] for i in self.items}
        self.item = item_combo(self.items)
        self.parties = PartyPicker(ctx, actor)
        self.title = QLineEdit(placeholderText="案由")
        self.facts = text_edit("违法事实", 60, lead.description if lead else "")
        self.decided_on = date_edit(dt.date.today(), latest=dt.date.today())
        self.officers = MemberChecklist(members)
        self.warning = QCheckBox(PenaltyType.WARNING.label)
        self.fine_box = QCheckBox(PenaltyType.FINE.label)
        self.correction = QCheckBox(PenaltyType.ORDER_CORRECTION.label)
        types = QHBoxLayout()
        for box in (self.warning, self.fine_box, self.correction):
            types.addWidget(box)
        types.addStretch(1)
        self.tier = QComboBox(objectName="tier")
        self.fine = yuan_edit(placeholder="罚款金额（元）")
        self.collected = QCheckBox("当场收缴罚款（100 元以下，或不当场收缴事后难以执行）")
        form = QFormLayout()
        if lead is not None:
            form.addRow("案源", QLabel(f"{lead.number}　{lead.address}"))
        form.addRow("执法事项 *", self.item)
        form.addRow("当事人 *", self.parties)
        form.addRow("案由 *", self.title)
        form.addRow("违法事实", self.facts)
        form.addRow("决定日期 *", self.decided_on)
        form.addRow("执法人员 *", self.officers)
        form.addRow("处罚种类 *", types)
        form.addRow("裁量阶次 *", self.tier)
        form.addRow("罚款", self.fine)
        form.addRow("", self.collected)
        self.fields: dict[str, QWidget] = self.parties.fields | {
            "item": self.item,
            "title": self.title,
            "officers": self.officers,
            "penalty_types": self.warning,
            "tier": self.tier,
            "fine": self.fine,
            "collected_on_spot": self.collected,
        }
        layout = QVBoxLayout(self)
        hint = QLabel(
            "简易程序：违法事实确凿并有法定依据，对个人处 200 元以下、对单位处 3000 元以下罚款或者警告"
            "（《行政处罚法》第五十一条）；执法人员出示执法证件，填写当场处罚决定书当场交付当事人。",
            wordWrap=True,
        )
        hint.setStyleSheet("color:#546e7a")
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(buttons(self, self.save, "作出当场处罚决定"))
        self.item.currentIndexChanged.connect(self._item_changed)
        self.resize(660, self.sizeHint().height())

    def _item_changed(self) -> None:
        code = str(self.item.currentData() or "")
        self.tier.clear()
        for name in self.session_tiers.get(code, []):
            self.tier.addItem(name, name)
        item = next((i for i in self.items if i.code == code), None)
        if item is not None and not self.title.isModified():
            self.title.setText(item.name)

    def decision(self, party_id: str) -> SpotDecision:
        code = str(self.item.currentData() or "")
        if not code:
            raise ValidationError("请选择执法事项。", field="item")
        if not self.title.text().strip():
            raise ValidationError("请填写案由。", field="title")
        chosen = [
            t
            for t, box in (
                (PenaltyType.WARNING, self.warning),
                (PenaltyType.FINE, self.fine_box),
                (PenaltyType.ORDER_CORRECTION, self.correction),
            )
            if box.isChecked()
        ]
        text = self.fine.text().strip()
        return SpotDecision(
            item_code=code,
            party_id=party_id,
            title=self.title.text().strip(),
            decided_on=from_qdate(self.decided_on.date()),
            officer_ids=tuple(self.officers.chosen()),
            penalty_types=tuple(chosen),
            fine_fen=parse_yuan(text, "fine") if text else 0,
            tier_name=str(self.tier.currentData() or ""),
            facts=self.facts.toPlainText().strip(),
            collected_on_spot=self.collected.isChecked(),
            lead_id=self.lead.id if self.lead else None,
        )

    def save(self) -> bool:
        try:
            with self.ctx.unit_of_work(self.actor, "当场处罚") as session:
                spot = self.decision(self.parties.party_id(session))
                self.saved = decide_on_the_spot(session, self.actor, spot)
        except Exception as exc:
            focus_field(self.fields, exc)
            show_error(self, exc, "无法作出当场处罚决定")
            return False
        self.accept()
        return True

    @classmethod
    def ask(
        cls, ctx: AppContext, actor: Actor, lead: LeadView | None = None, parent: QWidget | None = None
    ) -> CaseView | None:
        dialog = cls(ctx, actor, lead, parent)
        return dialog.saved if dialog.exec() else None


def may_open_cases(actor: Actor) -> bool:
    return actor.can(Permission.HANDLE_CASES)


__all__ = ["OpenCaseDialog", "PartyPicker", "SpotDecisionDialog", "may_open_cases"]
