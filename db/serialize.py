"""Turn rows into plain JSON-ready dicts — one form shared by the change log, the audit log
and the audit's row check, so that the three always agree."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect

from db.base import Base


def to_plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def column_keys(obj_or_cls: Any) -> list[tuple[str, bool]]:
    """(attribute key, is secret) for each column of a mapped class or object."""
    mapper = inspect(obj_or_cls) if isinstance(obj_or_cls, type) else inspect(obj_or_cls).mapper
    return [(attr.key, bool(attr.columns[0].info.get("secret"))) for attr in mapper.column_attrs]


def secret_digest(value: Any) -> str | None:
    """Secrets (password hashes) never enter the logs; their digest does, so edits still show."""
    if value is None:
        return None
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()


def row_image(obj: Base, *, redact: bool) -> dict[str, Any]:
    state = inspect(obj)
    out: dict[str, Any] = {}
    for key, secret in column_keys(obj):
        value = to_plain(state.dict.get(key))
        out[key] = secret_digest(value) if secret and redact else value
    return out


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def from_plain(cls: type[Base], image: dict[str, Any]) -> dict[str, Any]:
    """The column values of a row image made by :func:`row_image` (unredacted), typed back for
    ``cls``'s table: ISO strings become dates and datetimes again. Unknown keys are dropped, so
    an image from a newer schema with an extra column still applies."""
    plain = _plain_columns(cls)
    if plain.same_names and image.keys() <= plain.names:
        # The usual case — sync types thousands of rows per batch: copy the image and type only
        # its date and datetime columns instead of walking every column.
        out = dict(image)
        for name, python_type in plain.dated:
            value = out.get(name)
            if isinstance(value, str):
                out[name] = python_type.fromisoformat(value)
        return out
    out = {}
    for key, name, python_type in plain.columns:
        if key not in image:
            continue
        value = image[key]
        if isinstance(value, str) and python_type is not None:
            value = python_type.fromisoformat(value)
        out[name] = value
    return out


def plain_values(cls: type[Base], image: dict[str, Any]) -> dict[str, Any]:
    """The column values of a row image as JSON gives them — dates stay ISO text — for a
    database that parses the text itself (PostgreSQL's COPY). Unknown keys are dropped."""
    plain = _plain_columns(cls)
    if plain.same_names and image.keys() <= plain.names:
        return image
    return {name: image[key] for key, name, _type in plain.columns if key in image}


@dataclass(frozen=True)
class _PlainColumns:
    #: (attribute key, column name, date or datetime class or None) of each column.
    columns: tuple[tuple[str, str, Any], ...]
    #: The attribute keys, when each is its column's name too (``same_names``).
    names: frozenset[str]
    same_names: bool
    #: (column name, date or datetime class) of the dated columns.
    dated: tuple[tuple[str, Any], ...]


@functools.cache
def _plain_columns(cls: type[Base]) -> _PlainColumns:
    """How :func:`from_plain` types ``cls``'s columns, worked out once per class."""
    columns = []
    for attr in inspect(cls).column_attrs:
        python_type = _python_type(attr.columns[0].type)
        dated = python_type if python_type in (dt.datetime, dt.date) else None
        columns.append((attr.key, attr.columns[0].name, dated))
    return _PlainColumns(
        columns=tuple(columns),
        names=frozenset(key for key, _name, _type in columns),
        same_names=all(key == name for key, name, _type in columns),
        dated=tuple((name, t) for _key, name, t in columns if t is not None),
    )


def _python_type(column_type: Any) -> type | None:
    try:
        result: type = column_type.python_type
    except NotImplementedError:
        return None
    return result
