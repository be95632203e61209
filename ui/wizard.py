"""首次设置向导 — first-run wizard, two ways in:

* 新建中队: the squad, its enforcing body, district code, document number prefix, and the first
  administrator. Everything is saved in one transaction at Finish.
* 加入已有中队（使用区局登记码）: a fresh installation of a squad that already syncs with the
  district enrolls with the district's one-time code and downloads the squad's data, its users
  included; then the program asks for the usual login. If the download is cut off after the
  enrollment, the next start comes back to this page to finish it.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from app.auth.roles import SYSTEM, Actor
from app.auth.service import list_users
from app.context import AppContext
from app.errors import DomainError
from app.progress import Progress, step
from app.squad import SquadInput, get_squad, initialize
from app.squad import validate as validate_squad
from app.sync import client
from ui.errors import show_error
from ui.sync.page import EnrollFields, enroll_device, sync_device
from ui.sync.texts import request_error
from ui.tasks import Task, run_task

log = logging.getLogger("squaddesk.ui")

CHOICE, SQUAD, ADMIN, JOIN = range(4)


def squad_ready(ctx: AppContext) -> bool:
    """The squad's data is here (set up on this PC, or downloaded whole after joining)."""
    if ctx.squad_id is None:
        return False
    with ctx.read() as session:
        try:
            get_squad(session, ctx.squad_id)
        except DomainError:
            return False
        return bool(list_users(session, SYSTEM))


class _ChoicePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("开始使用")
        self.setSubTitle("本机是中队第一台使用 SquadDesk 的电脑，还是加入已在区局登记的中队？")
        layout = QVBoxLayout(self)
        self.new = QRadioButton("新建中队（本中队第一次使用 SquadDesk）")
        self.new.setChecked(True)
        self.join = QRadioButton("加入已有中队（使用区局登记码）")
        layout.addWidget(self.new)
        layout.addWidget(_hint("填写中队信息并创建管理员账户。之后可在“与区局同步”页登记本机。"))
        layout.addSpacing(12)
        layout.addWidget(self.join)
        layout.addWidget(
            _hint(
                "中队已有电脑在用 SquadDesk 并与区局同步：填写区局地址和区局为本机发放的登记码，"
                "本机会下载中队的全部数据（包括用户账户），然后用原有账户登录。"
            )
        )
        layout.addStretch(1)

    def nextId(self) -> int:
        return JOIN if self.join.isChecked() else SQUAD


def _hint(text: str) -> QLabel:
    label = QLabel(text, wordWrap=True)
    label.setStyleSheet("color:#607d8b;margin-left:22px")
    return label


class _JoinPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("加入已有中队")
        self.setSubTitle("向区局索取区局同步服务的地址和本机的一次性登记码（每台电脑一个）。")
        self.setButtonText(QWizard.WizardButton.FinishButton, "加入并下载数据")
        layout = QVBoxLayout(self)
        self.fields = EnrollFields()
        layout.addWidget(self.fields)
        self.note = QLabel(objectName="join_note", wordWrap=True)
        self.note.setStyleSheet("color:#607d8b")
        layout.addWidget(self.note)
        self.message = QLabel(objectName="join_message", wordWrap=True)
        self.message.setStyleSheet("color:#c62828")
        layout.addWidget(self.message)
        layout.addStretch(1)

    def nextId(self) -> int:
        return -1

    def show_enrolled(self) -> None:
        """Enrolled already (a download cut off): only the download is left to do."""
        self.fields.setEnabled(False)
        self.note.setText(
            "本机已在区局登记，但中队的数据还没有下载完成。请检查网络后点击“加入并下载数据”重试。"
        )


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

    def nextId(self) -> int:
        return -1


class FirstRunWizard(QWizard):
    sig_joined = Signal(str)  # the squad's name
    sig_join_failed = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.actor: Actor | None = None
        self.task: Task | None = None
        self.setWindowTitle("SquadDesk 执法队务台 — 首次设置")
        self.setButtonText(QWizard.WizardButton.NextButton, "下一步")
        self.setButtonText(QWizard.WizardButton.BackButton, "上一步")
        self.setButtonText(QWizard.WizardButton.FinishButton, "完成")
        self.setButtonText(QWizard.WizardButton.CancelButton, "取消")
        self.choice_page, self.join_page = _ChoicePage(), _JoinPage()
        self.squad_page, self.admin_page = _SquadPage(), _AdminPage()
        self.setPage(CHOICE, self.choice_page)
        self.setPage(SQUAD, self.squad_page)
        self.setPage(ADMIN, self.admin_page)
        self.setPage(JOIN, self.join_page)
        if ctx.squad_id is not None and client.is_enrolled(ctx):
            # Enrolled and adopted the squad, but its data never arrived: finish the join.
            self.choice_page.join.setChecked(True)
            self.join_page.show_enrolled()
            self.setStartId(JOIN)
        self.resize(600, 440)

    @property
    def joining(self) -> bool:
        return self.choice_page.join.isChecked()

    def accept(self) -> None:
        if self.joining:
            self.join()
            return
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

    # ---- 加入已有中队 ----------------------------------------------------------------------

    def join(self) -> Task | None:
        """Enroll with the district's code (unless already enrolled) and download the squad's
        data off the GUI thread; the wizard closes when the squad and its users are here."""
        if self.task is not None:
            return None
        page = self.join_page
        enrolled = client.is_enrolled(self.ctx)
        url = code = label = ""
        if not enrolled:
            try:
                url, code, label = page.fields.values()
            except DomainError as exc:
                page.message.setText(exc.message)
                return None
        page.message.clear()
        ctx = self.ctx

        def job(progress: Progress) -> str:
            if not enrolled:
                step(progress, 0, 0, "正在向区局登记本机……")
                enroll_device(ctx, None, url, code, label)
            step(progress, 0, 0, "正在下载中队的数据……")
            sync_device(ctx, progress)
            if not squad_ready(ctx):
                raise DomainError(
                    "本机已在区局登记，但区局还没有这个中队的数据（中队的第一台电脑还没有同步过）。"
                    "请先在那台电脑的“与区局同步”页点击“立即同步”，再回到这里重试。"
                )
            with ctx.read() as session:
                return get_squad(session, ctx.require_squad()).name

        for which in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.BackButton):
            self.button(which).setEnabled(False)
        self.task = run_task(self, "正在加入中队……", job, self._joined, self._join_failed)
        self.task.sig_finished.connect(self._join_over)
        return self.task

    def _join_over(self) -> None:
        if self.task is not None and self.task.progress.cancelled:
            self.join_page.message.setText("已取消。可以重试。")
        self.task = None
        for which in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.BackButton):
            self.button(which).setEnabled(True)
        if client.is_enrolled(self.ctx):
            self.join_page.show_enrolled()

    def _joined(self, squad_name: str) -> None:
        self.sig_joined.emit(squad_name)
        super().accept()

    def _join_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, DomainError):
            log.error("joining a squad failed", exc_info=(type(exc), exc, exc.__traceback__))
        url = client.status(self.ctx).server_url or self.join_page.fields.server.text().strip()
        text = request_error(exc, url)
        self.join_page.message.setText(text)
        self.sig_join_failed.emit(text)

    @classmethod
    def ask(cls, ctx: AppContext, parent: QWidget | None = None) -> Actor | None:
        """The first administrator after 新建中队; None after 加入已有中队 (the program then asks
        for the usual login — see :func:`squad_ready`) or when cancelled."""
        wizard = cls(ctx, parent)
        return wizard.actor if wizard.exec() else None
