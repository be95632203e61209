"""The district's address as a clerk types it (区局地址) → the base URL the transport uses.

Clerks type ``192.168.1.10:8765`` as often as ``http://192.168.1.10:8765/``; both mean the same
server. Anything that is not an http(s) address with a host is refused here, with a message that
says what to type, rather than as a puzzling connection error later.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.errors import ValidationError

EXAMPLE = "http://192.168.1.10:8765"


def server_url(text: str) -> str:
    """``text`` as a base URL: ``http://`` added when no scheme is given, surrounding blanks and a
    trailing ``/`` dropped. Raises :class:`ValidationError` (field ``server``) otherwise."""
    value = text.strip().replace("：", ":").replace("／", "/")
    if not value:
        raise ValidationError(f"请填写区局同步服务的地址，如 {EXAMPLE}。", field="server")
    if "://" not in value:
        value = "http://" + value
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
        or parts.query
        or parts.fragment
    ):
        raise ValidationError(
            f"区局地址“{text.strip()}”的格式不正确，应如 {EXAMPLE}（向区局询问地址和端口）。", field="server"
        )
    del port
    return value.rstrip("/")


__all__ = ["EXAMPLE", "server_url"]
