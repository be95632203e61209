"""Every option of the program, typed, with its default, in one place.

Stored as ``settings.json`` in the data folder. Unknown keys are dropped and a value of the
wrong type falls back to its default, so an old or hand-edited file never stops the program.
``SETTINGS_VERSION`` and ``_upgrade`` carry old files forward when an option changes meaning.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from app.errors import ValidationError

SETTINGS_VERSION = 1
FILE_NAME = "settings.json"


@dataclass(frozen=True)
class Settings:
    #: Minutes without input after which the window locks (0 = never).
    idle_lock_minutes: int = 15
    #: Failed logins in a row that lock an account, and for how long.
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    #: Certificate expiry warnings: amber at the first, red at the second (days before).
    cert_warn_days: int = 90
    cert_urgent_days: int = 30
    #: A certificate's annual review (年审) is overdue this many days after the last one.
    annual_review_interval_days: int = 365
    #: Training hours each member needs per year.
    training_min_hours: float = 40.0
    #: Automatic daily backup, and how many daily copies to keep.
    auto_backup: bool = True
    backups_keep: int = 14

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Refuse a combination of options that cannot work, saying which to change."""
        if self.cert_urgent_days >= self.cert_warn_days:
            raise ValidationError(
                "紧急提醒（红色）的天数应少于一般提醒（黄色）的天数，请调整。", field="cert_urgent_days"
            )


def _upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    # Version 1 is the first; later versions rename or convert keys here, oldest first.
    raw["_version"] = SETTINGS_VERSION
    return raw


def load_settings(data_dir: Path) -> Settings:
    path = data_dir / FILE_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    raw = _upgrade(raw)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name not in raw:
            continue
        value = raw[f.name]
        default = getattr(Settings(), f.name)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, type(default)) and not isinstance(value, bool)
        if ok:
            values[f.name] = value
    return Settings(**values)


def save_settings(data_dir: Path, settings: Settings) -> None:
    data = dataclasses.asdict(settings)
    data["_version"] = SETTINGS_VERSION
    path = data_dir / FILE_NAME
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
