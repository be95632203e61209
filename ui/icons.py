"""Meaning → qtawesome icon. Widgets ask for ``icon("member.add")``, never for a glyph name,
so the look can change in one place. Icons are made after QApplication exists."""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtGui import QIcon

NAMES: dict[str, str] = {
    "nav.start": "mdi6.home-outline",
    "nav.personnel": "mdi6.account-group-outline",
    "nav.certificates": "mdi6.card-account-details-outline",
    "nav.training": "mdi6.school-outline",
    "nav.rosters": "mdi6.calendar-month-outline",
    "nav.leads": "mdi6.inbox-arrow-down-outline",
    "nav.cases": "mdi6.briefcase-outline",
    "nav.reference": "mdi6.scale-balance",
    "nav.documents": "mdi6.file-document-multiple-outline",
    "nav.audit": "mdi6.shield-search",
    "nav.sync": "mdi6.cloud-sync-outline",
    "nav.settings": "mdi6.cog-outline",
    "add": "mdi6.plus",
    "edit": "mdi6.pencil-outline",
    "delete": "mdi6.delete-outline",
    "import": "mdi6.file-import-outline",
    "export": "mdi6.file-export-outline",
    "refresh": "mdi6.refresh",
    "search": "mdi6.magnify",
    "backup": "mdi6.database-export-outline",
    "restore": "mdi6.database-import-outline",
    "verify": "mdi6.check-decagram-outline",
    "lock": "mdi6.lock-outline",
    "logout": "mdi6.logout",
    "alert.red": "mdi6.alert-circle",
    "alert.amber": "mdi6.alert",
    "ok": "mdi6.check-circle-outline",
    "review": "mdi6.calendar-check-outline",
    "state": "mdi6.swap-horizontal",
    "history": "mdi6.history",
    "user": "mdi6.account-key-outline",
    "photo": "mdi6.image-outline",
    "photo.add": "mdi6.image-plus-outline",
    "lead.register": "mdi6.clipboard-plus-outline",
    "lead.close": "mdi6.file-cancel-outline",
    "lead.transfer": "mdi6.send-outline",
    "thresholds": "mdi6.tune-variant",
    "print": "mdi6.printer-outline",
    "preview": "mdi6.file-eye-outline",
    "issue": "mdi6.stamper",
    "void": "mdi6.file-cancel-outline",
    "tiers": "mdi6.stairs",
    "reset": "mdi6.restore",
    "move.up": "mdi6.arrow-up",
    "previous": "mdi6.chevron-left",
    "next": "mdi6.chevron-right",
    "move.down": "mdi6.arrow-down",
    "sync": "mdi6.sync",
    "enroll": "mdi6.lan-connect",
    "bundle.export": "mdi6.usb-flash-drive-outline",
    "bundle.import": "mdi6.file-import-outline",
    "conflict.keep": "mdi6.check",
    "conflict.take": "mdi6.swap-horizontal",
    "sync.conflicts": "mdi6.call-split",
    "sync.refused": "mdi6.cancel",
}
COLORS = {"alert.red": "#c62828", "alert.amber": "#ef8f00", "ok": "#2e7d32"}


def icon(meaning: str, color: str | None = None) -> QIcon:
    """The icon for ``meaning``; ``color`` overrides the default (e.g. light icons on the dark navigation)."""
    base = color or COLORS.get(meaning, "#37474f")
    # Light icons (on the dark navigation) turn white when their item is selected or hovered.
    active = "#ffffff" if color else base
    return qta.icon(NAMES[meaning], color=base, color_active=active, color_selected=active)
