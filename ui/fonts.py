"""Register the bundled CJK font with Qt, so the GUI reads right on a PC without Chinese fonts."""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from app.paths import resource_path

BUNDLED = resource_path("fonts", "SquadDeskSans-GBK.ttf")
PREFERRED = (
    "Microsoft YaHei UI",
    "Microsoft YaHei",
    "PingFang SC",
    "Noto Sans CJK SC",
    "WenQuanYi Micro Hei",
)


def install_fonts(app: QApplication) -> str:
    """Use a system UI font with Chinese when there is one, the bundled font otherwise.

    Returns the family in use. The bundled font is registered either way so that any widget
    asking for it (and Qt's fallback for missing glyphs) finds it.
    """
    font_id = QFontDatabase.addApplicationFont(str(BUNDLED))
    bundled = QFontDatabase.applicationFontFamilies(font_id)[0] if font_id >= 0 else ""
    families = set(QFontDatabase.families())
    family = next((f for f in PREFERRED if f in families), bundled)
    if family:
        font = QFont(family, 10)
        if bundled and family != bundled:
            font.setFamilies([family, bundled])
        app.setFont(font)
    return family
