"""How sync facts read on screen: times in this computer's local time, ages in words, and the
clerk's sentence for a failed request to the district."""

from __future__ import annotations

import datetime as dt

from app.errors import DomainError
from app.sync.transport import SyncError
from ui.errors import message_for


def local_time(value: dt.datetime | None, empty: str = "—") -> str:
    """A stored time (aware, or naive UTC as the database keeps it) in local time, to the minute."""
    if value is None:
        return empty
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def age_text(age: dt.timedelta) -> str:
    """``3 天``, ``5 小时``, ``12 分钟``, ``不到 1 分钟`` — the largest whole unit."""
    seconds = int(age.total_seconds())
    if seconds >= 86_400:
        return f"{seconds // 86_400} 天"
    if seconds >= 3_600:
        return f"{seconds // 3_600} 小时"
    if seconds >= 60:
        return f"{seconds // 60} 分钟"
    return "不到 1 分钟"


def delay_text(seconds: float) -> str:
    return age_text(dt.timedelta(seconds=max(60.0, seconds)))


def request_error(exc: BaseException, server_url: str = "") -> str:
    """The sentence for a failed enrollment or sync. When the district was not reached at all the
    transport's wording (with the low-level reason) is replaced by what a clerk can check."""
    if isinstance(exc, SyncError) and exc.code == "network":
        where = f"（{server_url}）" if server_url else ""
        if "超时" in exc.message:
            return f"连接区局同步服务{where}超时。请检查网络连接，稍后再试。"
        return (
            f"无法连接区局同步服务{where}。请检查区局地址（含端口）是否正确、本机网络是否连通，"
            "以及区局的同步服务是否在运行。"
        )
    if isinstance(exc, DomainError):
        return exc.message
    return message_for(exc)
