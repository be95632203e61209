"""Shared fixtures: real SQLite files in temporary folders, never a mocked database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.auth.roles import Actor, Role
from app.auth.service import create_user
from app.context import AppContext, open_data_dir
from app.squad import SquadInput, initialize

SQUAD = SquadInput("车陂街综合行政执法队", "广州市天河区人民政府车陂街道办事处", "440106", "车综执")
PASSWORD = "test1234"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def bare_ctx(data_dir: Path) -> Iterator[AppContext]:
    """An opened data folder before the first-run set-up."""
    ctx = open_data_dir(data_dir)
    yield ctx
    ctx.close()


@pytest.fixture
def ctx(bare_ctx: AppContext) -> AppContext:
    """A set-up squad with one administrator (``admin`` / ``test1234``)."""
    initialize(bare_ctx, SQUAD, "admin", "管理员", PASSWORD)
    return bare_ctx


@pytest.fixture
def admin(ctx: AppContext) -> Actor:
    from app.auth.service import authenticate

    return authenticate(ctx, "admin", PASSWORD)


@pytest.fixture
def actors(ctx: AppContext, admin: Actor) -> dict[Role, Actor]:
    """One real user per role, created through the service."""
    out = {Role.ADMIN: admin}
    with ctx.unit_of_work(admin, "创建测试用户") as s:
        for role in Role:
            if role is Role.ADMIN:
                continue
            u = create_user(s, admin, f"user_{role.value}", f"{role.label}甲", role, PASSWORD)
            out[role] = Actor(u.id, u.username, u.display_name, role)
    return out
