"""版本记录 and release files: the list of every release of the reference data (number, origin,
date, what changed), and writing the current release to a JSON file in the catalog format
(:mod:`app.reference.catalog`) that 导入区局发布 reads back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.context import AppContext
from app.errors import DomainError
from app.reference import list_releases
from ui.reference.models import ReleaseModel

RELEASE_FILTER = "基准数据文件 (*.json);;所有文件 (*)"


def release_file_name(release_no: int) -> str:
    return f"执法事项目录-第{release_no}版.json"


def write_release_file(path: Path, data: dict[str, Any]) -> Path:
    """Write an exported release as readable UTF-8 JSON (Chinese kept as is); the path written,
    with ``.json`` added when the name has no suffix."""
    target = path if path.suffix else path.with_suffix(".json")
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DomainError(
            f"无法写入文件“{target}”（{exc.strerror or exc.__class__.__name__}），"
            "请换一个有写权限的文件夹或文件名。"
        ) from exc
    return target


class ReleasesDialog(QDialog):
    """版本记录: every release, newest first; cases keep the release they were decided under."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("执法事项目录版本记录")
        with ctx.read() as session:
            releases = list_releases(session)
        self.model = ReleaseModel(self)
        self.model.set_rows(releases)
        self.table = QTableView(objectName="releases")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(2, min(self.table.columnWidth(2), 180))
        # The note takes what is left (whole in its tooltip), so no sideways scrolling.
        self.table.setColumnWidth(5, 120)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        if releases:
            self.table.selectRow(0)
        current = f"当前使用第 {releases[0].release_no} 版" if releases else "尚未安装执法事项目录"
        note = QLabel(f"{current}，共 {len(releases)} 个版本。新办案件按当前版本；已办案件仍按当时的版本。")
        note.setWordWrap(True)
        note.setStyleSheet("color:#607d8b")
        close = QDialogButtonBox()
        close.addButton("关闭", QDialogButtonBox.ButtonRole.RejectRole)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(close)
        self.resize(760, 360)

    @classmethod
    def show_for(cls, ctx: AppContext, parent: QWidget | None = None) -> None:
        dialog = cls(ctx, parent)
        dialog.exec()
        dialog.deleteLater()
