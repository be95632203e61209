"""首次设置向导 — first-run wizard: the squad, its enforcing body, district code, document
number prefix, and the first administrator. Everything is saved in one transaction at Finish."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QWidget, QWizard, QWizardPage

from app.auth.roles import Actor
from app.context import AppContext
from app.errors import DomainError
from app.squad import SquadInput, initialize
from app.squad import validate as validate_squad
from ui.errors import show_error


class _SquadPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("中队信息")
        self.setSubTitle("这些信息会出现在执法文书和案卷上，之后可在“系统设置”中修改。")
        form = QFormLayout(self)
        self.name = QLineEdit(placeholderText="如：车陂街综合行政执法队")
        self.body = QLineEdit(placeholderText="如：广州市天河区人民政府车陂街道办事处")
        self.district = QLineEdit(placeholderText="6 位数字，如 440106")
        self.prefix = QLineEdit(placeholderText="如：车综执")
        form.addRow("中队名称", self.name)
        form.addRow("执法主体", self.body)
        form.addRow("区划代码", self.district)
        form.addRow("文号前缀", self.prefix)
        hint = QLabel("文号示例：车综执罚决字〔2026〕第12号")
        hint.setStyleSheet("color:#607d8b")
        form.addRow("", hint)

    def data(self) -> SquadInput:
        return SquadInput(self.name.text(), self.body.text(), self.district.text(), self.prefix.text())

    def validatePage(self) -> bool:
        try:
            validate_squad(self.data())
        except DomainError as exc:
            show_error(self, exc, "请检查中队信息")
            return False
        return True


class _AdminPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("管理员账户")
        self.setSubTitle("第一个管理员负责创建其他用户。密码至少 8 位，需同时包含字母和数字。")
        form = QFormLayout(self)
        self.username = QLineEdit("admin")
        self.display = QLineEdit(placeholderText="如：张三")
        self.password = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.again = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        form.addRow("登录名", self.username)
        form.addRow("姓名", self.display)
        form.addRow("密码", self.password)
        form.addRow("再次输入密码", self.again)


class FirstRunWizard(QWizard):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.actor: Actor | None = None
        self.setWindowTitle("SquadDesk 执法队务台 — 首次设置")
        self.setButtonText(QWizard.WizardButton.NextButton, "下一步")
        self.setButtonText(QWizard.WizardButton.BackButton, "上一步")
        self.setButtonText(QWizard.WizardButton.FinishButton, "完成")
        self.setButtonText(QWizard.WizardButton.CancelButton, "取消")
        self.squad_page, self.admin_page = _SquadPage(), _AdminPage()
        self.addPage(self.squad_page)
        self.addPage(self.admin_page)
        self.resize(560, 420)

    def accept(self) -> None:
        a = self.admin_page
        if a.password.text() != a.again.text():
            show_error(self, DomainError("两次输入的密码不一致，请重新输入。"), "请检查管理员账户")
            return
        try:
            self.actor = initialize(
                self.ctx,
                self.squad_page.data(),
                a.username.text(),
                a.display.text() or "管理员",
                a.password.text(),
            )
        except Exception as exc:
            show_error(self, exc, "请检查管理员账户")
            return
        super().accept()

    @classmethod
    def ask(cls, ctx: AppContext, parent: QWidget | None = None) -> Actor | None:
        wizard = cls(ctx, parent)
        return wizard.actor if wizard.exec() else None
