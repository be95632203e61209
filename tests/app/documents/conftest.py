"""A demo squad built once for the document tests: cases at every stage, on fixed dates."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.auth.roles import Actor
from app.auth.service import authenticate
from app.context import AppContext, open_data_dir
from app.demo import DEMO_ADMIN, fill_demo
from app.paths import DB_FILE

TODAY = dt.date(2026, 6, 30)


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory, templates: dict[bool, Path]) -> Path:
    folder = tmp_path_factory.mktemp("documents-demo")
    shutil.copyfile(templates[False], folder / DB_FILE)
    ctx = open_data_dir(folder)
    fill_demo(ctx, today=TODAY)
    ctx.close()
    return folder


@pytest.fixture
def demo(demo_folder: Path, tmp_path: Path) -> Iterator[AppContext]:
    """A copy of the demo folder of its own, so a test may change it."""
    folder = tmp_path / "demo"
    shutil.copytree(demo_folder, folder)
    ctx = open_data_dir(folder)
    yield ctx
    ctx.close()


@pytest.fixture
def boss(demo: AppContext) -> Actor:
    return authenticate(demo, DEMO_ADMIN[0], DEMO_ADMIN[2])
