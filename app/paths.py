"""Where things are: bundled resources (also inside a frozen build) and the user data folder."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

APP_NAME = "SquadDesk"
DB_FILE = "squaddesk.sqlite3"


def resource_path(*parts: str) -> Path:
    """A file under resources/, whether running from source, an install, or PyInstaller."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    root = Path(frozen_root) if frozen_root else Path(__file__).resolve().parent.parent
    return root.joinpath("resources", *parts)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
