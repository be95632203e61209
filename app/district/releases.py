"""The district's reference-data releases (区局参考数据发布) and its signing key — no HTTP here.

The district publishes the catalog of enforcement items (with its discretion benchmarks and
procedural thresholds), holiday-calendar overrides and document templates as one numbered
release: a body (see app.sync.releases for its shape) stored as :func:`app.sync.signing.canonical`
JSON with its sha256 and the district key's Ed25519 signature over those bytes. ``version`` only
grows; devices refuse a release not newer than the one they have (no rollback).

Every source is checked whole with the checks the device will run, before anything is stored:
the catalog with app.reference.catalog, each template as app.documents.template loads a file,
calendar overrides (a JSON list or a CSV table of day, is_workday, name) with
app.sync.releases. A fault is a ValidationError naming the file and what to fix; nothing is
stored then.

The district key is made on first use and kept in ``district_settings`` (``signing_key``) so
every server worker signs with the same key; on PostgreSQL several workers may make one at the
same moment: each inserts its own only if none is there, then all read back the one that won.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.documents.template import read_template
from app.errors import ConflictError, DomainError, ValidationError
from app.reference.catalog import read_release, release_to_json
from app.sync.releases import check_calendar, check_template
from app.sync.signing import DeviceKey, canonical
from db.models import DistrictRelease, DistrictSetting
from db.models.reference import ReleaseSource

SIGNING_KEY = "signing_key"

#: CSV column titles understood for calendar overrides (English or Chinese).
_CSV_COLUMNS = {
    "day": "day",
    "date": "day",
    "日期": "day",
    "is_workday": "is_workday",
    "workday": "is_workday",
    "是否工作日": "is_workday",
    "工作日": "is_workday",
    "上班": "is_workday",
    "name": "name",
    "名称": "name",
    "说明": "name",
}
_TRUE = {"true", "1", "yes", "y", "是", "上班", "班", "工作日"}
_FALSE = {"false", "0", "no", "n", "否", "放假", "休", "休息日", "假"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


# ---- the district key ----------------------------------------------------------------------------


def _setting(session: Session, key: str) -> str | None:
    return session.scalar(select(DistrictSetting.value).where(DistrictSetting.key == key))


def _insert_if_absent(session: Session, key: str, value: str) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            postgresql.insert(DistrictSetting).values(key=key, value=value).on_conflict_do_nothing()
        )
    elif dialect == "sqlite":
        session.execute(sqlite.insert(DistrictSetting).values(key=key, value=value).on_conflict_do_nothing())
    else:  # pragma: no cover - the district runs on PostgreSQL or SQLite
        try:
            with session.begin_nested():
                session.execute(insert(DistrictSetting).values(key=key, value=value))
        except IntegrityError:
            pass


def district_key(session: Session) -> DeviceKey:
    """The district's Ed25519 signing key (区局签名密钥), made and stored on first use."""
    pem = _setting(session, SIGNING_KEY)
    if pem is None:
        fresh = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _insert_if_absent(session, SIGNING_KEY, fresh.decode("ascii"))
        pem = _setting(session, SIGNING_KEY)  # ours, or the one another worker stored first
        assert pem is not None
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, UnicodeEncodeError) as exc:
        raise DomainError(
            "区局签名密钥（district_settings 中的 signing_key）已损坏，无法签名。请从备份恢复区局数据库；"
            "换用新密钥后所有设备都须重新登记。"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise DomainError("区局签名密钥（district_settings 中的 signing_key）类型不符，应为 Ed25519 密钥。")
    return DeviceKey(key)


def district_public_pem(session: Session) -> str:
    """The district's public key (PEM) that devices record when they enroll."""
    return district_key(session).public_pem()


# ---- reading the sources -------------------------------------------------------------------------


def _read_catalog(path: Path) -> dict[str, Any]:
    data = read_release(path)  # its messages name the file, the item and the field
    return release_to_json(dataclasses.replace(data, source=ReleaseSource.DISTRICT))


def _read_text(path: Path, what: str) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError(f"找不到{what}文件“{path}”，请核对路径。") from None
    except OSError as exc:
        raise ValidationError(f"无法读取{what}文件“{path}”：{exc.strerror or exc}。") from None
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on a Chinese Windows saves CSV as GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError(f"{what}文件“{path.name}”无法识别编码，请另存为 UTF-8 编码。")  # pragma: no cover


def _read_calendar(path: Path) -> list[dict[str, Any]]:
    origin = f"节假日调整文件“{path.name}”"
    text = _read_text(path, "节假日调整")
    if path.suffix.lower() == ".csv":
        entries: Any = _calendar_csv(text, origin)
    else:
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{origin}不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列有误（{exc.msg}）。"
                "也可以用 .csv 文件（列：day,is_workday,name）。"
            ) from None
        if isinstance(entries, dict) and set(entries) == {"overrides"}:
            entries = entries["overrides"]
    calendar = check_calendar(entries, origin)
    if not calendar:
        raise ValidationError(f"{origin}中没有任何调整，请至少写一天，或不发布节假日调整。")
    return calendar


def _calendar_csv(text: str, origin: str) -> list[dict[str, Any]]:
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [_CSV_COLUMNS.get(cell.strip().lower()) for cell in rows[0]]
    if "day" not in header or "is_workday" not in header:
        raise ValidationError(
            f"{origin}：第 1 行应为列名 day,is_workday,name（或 日期,是否工作日,名称），现为“{','.join(rows[0])}”。"
        )
    out: list[dict[str, Any]] = []
    for line, row in enumerate(rows[1:], start=2):
        cells = {key: row[i].strip() for i, key in enumerate(header) if key and i < len(row)}
        flag = cells.get("is_workday", "").lower()
        if flag not in _TRUE and flag not in _FALSE:
            raise ValidationError(
                f"{origin}第 {line} 行：是否工作日应填 true/false（或 是/否、上班/放假），现为“{cells.get('is_workday', '')}”。"
            )
        out.append({"day": cells.get("day", ""), "is_workday": flag in _TRUE, "name": cells.get("name", "")})
    return out


def _read_templates(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise ValidationError(f"找不到文书模板文件夹“{folder}”，请核对路径。")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise ValidationError(f"文件夹“{folder}”中没有文书模板（*.json），请放入要下发的模板文件。")
    out: dict[str, Any] = {}
    for path in files:
        template = read_template(path)  # checked whole; the message names the file and block
        data = json.loads(path.read_text(encoding="utf-8"))
        check_template(template.type, data)  # and a document type this program knows
        out[template.type] = data
    return out


# ---- releases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseInfo:
    version: int
    created_at: dt.datetime
    note: str
    sha256: str
    #: The catalog's own release number (None: no catalog in this release) and its item count.
    catalog_release: int | None
    catalog_items: int
    calendar_days: int
    templates: tuple[str, ...]

    @property
    def contents(self) -> str:
        parts = []
        if self.catalog_release is not None:
            parts.append(f"执法事项目录第 {self.catalog_release} 版（{self.catalog_items} 个事项）")
        if self.calendar_days:
            parts.append(f"节假日调整 {self.calendar_days} 天")
        if self.templates:
            parts.append(f"文书模板 {len(self.templates)} 个（{'、'.join(self.templates)}）")
        return "、".join(parts)


def _info(row: DistrictRelease) -> ReleaseInfo:
    body = json.loads(row.payload)
    catalog = body.get("catalog") or None
    return ReleaseInfo(
        version=row.version,
        created_at=row.created_at,
        note=row.note,
        sha256=row.sha256,
        catalog_release=catalog["release"] if catalog else None,
        catalog_items=len(catalog["items"]) if catalog else 0,
        calendar_days=len(body.get("calendar") or []),
        templates=tuple(sorted(body.get("templates") or {})),
    )


def _last_catalog_release(session: Session) -> tuple[int, int] | None:
    """(release version, catalog number) of the newest release that carried a catalog."""
    for row in session.scalars(select(DistrictRelease).order_by(DistrictRelease.version.desc())):
        catalog = json.loads(row.payload).get("catalog")
        if catalog:
            return row.version, int(catalog["release"])
    return None


def publish_release(
    session: Session, *, catalog: Path | None, calendar: Path | None, templates: Path | None, note: str
) -> ReleaseInfo:
    """Check the given sources whole, then store them as the next signed release (in the
    caller's transaction). ValidationError naming the file and what to fix; nothing stored."""
    if catalog is None and calendar is None and templates is None:
        raise ValidationError("请至少指定一项要发布的内容：执法事项目录、节假日调整或文书模板文件夹。")
    catalog_json = _read_catalog(Path(catalog)) if catalog is not None else None
    calendar_json = _read_calendar(Path(calendar)) if calendar is not None else None
    templates_json = _read_templates(Path(templates)) if templates is not None else None
    if catalog is not None and catalog_json is not None:
        last = _last_catalog_release(session)
        if last is not None and catalog_json["release"] <= last[1]:
            raise ValidationError(
                f"目录文件“{Path(catalog).name}”的版本号 release 为 {catalog_json['release']}，"
                f"而区局第 {last[0]} 版发布已含目录第 {last[1]} 版：请把 release 改为大于 {last[1]} 的数。"
            )
    version = (session.scalar(select(func.max(DistrictRelease.version))) or 0) + 1
    created = _now()
    body = {
        "version": version,
        "created_at": created.isoformat(),
        "note": note.strip(),
        "catalog": catalog_json,
        "calendar": calendar_json,
        "templates": templates_json,
    }
    payload = canonical(body)
    row = DistrictRelease(
        version=version,
        created_at=created.replace(tzinfo=None),
        note=note.strip(),
        payload=payload.decode("utf-8"),
        sha256=hashlib.sha256(payload).hexdigest(),
        signature=district_key(session).sign(payload),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise ConflictError(f"区局参考数据第 {version} 版刚由另一处发布，请重新发布。") from None
    return _info(row)


def list_releases(session: Session) -> list[ReleaseInfo]:
    """Every release, newest first."""
    return [
        _info(r) for r in session.scalars(select(DistrictRelease).order_by(DistrictRelease.version.desc()))
    ]


def latest_version(session: Session) -> int:
    return session.scalar(select(func.max(DistrictRelease.version))) or 0


def releases_after(session: Session, version: int) -> list[dict[str, Any]]:
    """The releases a device that has ``version`` installed lacks, oldest first, each as it
    travels: ``{version, sha256, signature, payload}`` (payload the canonical JSON text)."""
    rows = session.scalars(
        select(DistrictRelease).where(DistrictRelease.version > version).order_by(DistrictRelease.version)
    )
    return [
        {"version": r.version, "sha256": r.sha256, "signature": r.signature, "payload": r.payload}
        for r in rows
    ]


__all__ = [
    "SIGNING_KEY",
    "ReleaseInfo",
    "district_key",
    "district_public_pem",
    "latest_version",
    "list_releases",
    "publish_release",
    "releases_after",
]
