"""Where the district server keeps things by default: its trial SQLite database in the user data
folder, and the attachments beside that database (or, with PostgreSQL, in the same folder).
``squaddesk-district`` and the server factory share these, so that files taken from a USB bundle
land where the server looks for them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from app.paths import default_data_dir
from db.engine import sqlite_url

#: The folder (under the user data folder) of the trial SQLite database and its files.
DISTRICT_FOLDER = "district"
DB_FILE = "district.sqlite3"
FILES_FOLDER = "district-files"
#: Environment variables the server factory (app.district.api:app_from_env) reads.
ENV_DB = "SQUADDESK_DISTRICT_DB"
ENV_FILES = "SQUADDESK_DISTRICT_FILES"


def default_db_url() -> str:
    return sqlite_url(default_data_dir() / DISTRICT_FOLDER / DB_FILE)


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for another database or an in-memory one)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def default_files_dir(url: str) -> Path:
    """Where uploaded attachments are kept: beside a SQLite database, else in the district folder
    of the user data folder."""
    db_file = sqlite_file(url)
    base = db_file.parent if db_file is not None else default_data_dir() / DISTRICT_FOLDER
    return base / FILES_FOLDER
