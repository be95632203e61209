"""District reference-data releases on a device (区局参考数据发布).

The district publishes its reference data — the catalog of enforcement items with its discretion
benchmarks and procedural thresholds, holiday-calendar overrides and document templates — as a
numbered release signed with the district's key (app.district.releases). A device receives the
releases after the one it has installed, through a pull answer or an offline answer bundle, each
as ``{version, sha256, signature, payload}`` where ``payload`` is the canonical JSON text of the
release body::

    {"version": 4, "created_at": "2026-03-01T08:00:00+00:00", "note": "…",
     "catalog": {…the catalog file format of app.reference.catalog…} | null,
     "calendar": [{"day": "2026-10-09", "is_workday": false, "name": "…"}, …] | null,
     "templates": {"penalty_decision": {…template JSON…}, …} | null}

:func:`verify_release` checks the hash and the district's signature and returns the body;
:func:`apply_release` checks the whole body and only then installs it: the catalog as a new
release of source ``district`` (numbered after any local revision), calendar overrides by day,
and templates into ``<data folder>/templates``, where app.documents.template prefers them to the
bundled ones. A release at or below the version installed here is refused: the district's data
never rolls back. The caller stores the applied version (LocalMeta ``sync.release_version``) in
the same unit of work.

A release is refused whole: nothing is installed from a release with any fault. The templates
are files beside the database, so they follow the caller's transaction: each is written in full
under a temporary name and renamed to its real name only when the transaction commits
(app.sync.commit_files); when it rolls back — a later check of an answer bundle fails, the clerk
cancels, the commit fails — the temporary files are deleted and the templates in use stay as
they were.

The checks of the calendar and template parts are shared with the district, which runs them
before it publishes (:func:`check_calendar`, :func:`check_template`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission, require
from app.documents.template import Template, parse_template, templates_dir
from app.errors import DomainError, ValidationError
from app.reference.catalog import read_release
from app.reference.service import import_release
from app.sync.commit_files import publish_on_commit
from app.sync.signing import verify
from db.models import CalendarOverride

#: Where a device keeps the district's templates, under its data folder.
TEMPLATES_FOLDER = "templates"
#: ``CalendarOverride.name`` holds at most this many characters.
CALENDAR_NAME_MAX = 64
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

ReleaseFault = Literal["malformed", "checksum", "signature", "rollback", "invalid"]


class ReleaseError(DomainError):
    """A district release this device refuses; nothing of it was installed. ``reason``:
    ``malformed`` (not a release at all), ``checksum`` (changed on the way), ``signature`` (not
    signed by the district's key), ``rollback`` (not newer than the installed one), ``invalid``
    (a part fails its checks, e.g. a template this program cannot read)."""

    def __init__(self, reason: ReleaseFault, message: str) -> None:
        super().__init__(message)
        self.reason: ReleaseFault = reason


# ---- checks shared with the district -------------------------------------------------------------


def check_calendar(entries: Any, origin: str = "节假日调整") -> list[dict[str, Any]]:
    """Calendar overrides ``[{day, is_workday, name}]`` checked whole: ISO dates, each day once,
    ``is_workday`` true or false, a name of at most 64 characters. Returns them sorted by day;
    ValidationError naming ``origin`` and the entry at fault."""
    if not isinstance(entries, list):
        raise ValidationError(f"{origin}：应为列表，每项含 day、is_workday、name。")
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for index, entry in enumerate(entries, start=1):
        where = f"{origin}第 {index} 项"
        if not isinstance(entry, Mapping):
            raise ValidationError(f"{where}：应为含 day、is_workday、name 的对象。")
        unknown = sorted(set(entry) - {"day", "is_workday", "name"})
        if unknown:
            raise ValidationError(
                f"{where}：不认识的字段 {'、'.join(unknown)}，只能有 day、is_workday、name。"
            )
        day = entry.get("day")
        try:
            parsed = dt.date.fromisoformat(day) if isinstance(day, str) else None
        except ValueError:
            parsed = None
        if parsed is None or day != parsed.isoformat():
            raise ValidationError(f"{where}：日期“{day}”应写成 YYYY-MM-DD，如 2026-10-09。")
        if day in seen:
            raise ValidationError(f"{where}：日期 {day} 重复，每天只能有一条调整。")
        seen.add(day)
        workday = entry.get("is_workday")
        if not isinstance(workday, bool):
            raise ValidationError(f"{where}（{day}）：is_workday 应为 true（上班）或 false（放假）。")
        name = entry.get("name", "")
        if name is None:
            name = ""
        if not isinstance(name, str) or len(name.strip()) > CALENDAR_NAME_MAX:
            raise ValidationError(f"{where}（{day}）：name 应为不超过 {CALENDAR_NAME_MAX} 个字的说明文字。")
        out.append({"day": day, "is_workday": workday, "name": name.strip()})
    return sorted(out, key=lambda e: e["day"])


def check_template(code: str, data: Any) -> Template:
    """A district template for document type ``code``, checked whole as app.documents.template
    checks a file: it must read cleanly, say ``"type": code``, and replace a document type this
    program knows (the district changes templates, it does not invent document types)."""
    source = f"{code}.json"
    template = parse_template(data, source)
    if template.type != code:
        raise ValidationError(f"文书模板 {source}：文件名应与文书类型代码一致（{template.type}.json）。")
    if not (templates_dir() / source).is_file():
        raise ValidationError(
            f"文书模板 {source}：本程序没有文书类型“{code}”，区局只能下发已有文书类型的修订模板。"
            "请核对文件名和“type”。"
        )
    return template


# ---- verifying -----------------------------------------------------------------------------------


def _release_version(release: Mapping[str, Any]) -> int | None:
    version = release.get("version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def verify_release(district_pem: str, release: Mapping[str, Any]) -> dict[str, Any]:
    """The body of a release as the district sent it (``{version, sha256, signature, payload}``),
    after checking its sha256 and the district's signature over the payload bytes.
    ReleaseError with a Chinese message when either does not match."""
    version = _release_version(release)
    sha256, signature, payload = release.get("sha256"), release.get("signature"), release.get("payload")
    name = f"区局参考数据第 {version} 版" if version is not None else "区局参考数据"
    if (
        version is None
        or version < 1
        or not isinstance(sha256, str)
        or not _SHA256.match(sha256)
        or not isinstance(signature, str)
        or not isinstance(payload, str)
    ):
        raise ReleaseError(
            "malformed",
            f"{name}的格式不正确，已拒绝，未作任何更改。请将本机的 SquadDesk 升级到最新版本后再同步。",
        )
    data = payload.encode("utf-8")
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ReleaseError(
            "checksum",
            f"{name}的校验值不符（传输中损坏或被改动），已拒绝，未作任何更改。请重新同步；仍不符时请联系区局。",
        )
    if not verify(district_pem, data, signature):
        raise ReleaseError(
            "signature",
            f"{name}的签名与本机登记时记下的区局公钥不符，已拒绝，未作任何更改。"
            "它可能不是区局发布的；请联系区局核实。",
        )
    try:
        body = json.loads(payload)
    except json.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or body.get("version") != version:
        raise ReleaseError("malformed", f"{name}的内容与其版本号不符，已拒绝，未作任何更改。请联系区局。")
    return body


# ---- applying ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedRelease:
    """What one district release installed here."""

    version: int
    note: str
    #: The local number of the catalog release it installed (None: it carried no catalog).
    catalog_release_no: int | None
    calendar_days: int
    templates: tuple[str, ...]

    @property
    def summary(self) -> str:
        parts = []
        if self.catalog_release_no is not None:
            parts.append(f"执法事项目录（本机第 {self.catalog_release_no} 版）")
        if self.calendar_days:
            parts.append(f"节假日调整 {self.calendar_days} 天")
        if self.templates:
            parts.append(f"文书模板 {len(self.templates)} 个")
        what = "、".join(parts) if parts else "无内容变化"
        return f"已安装区局参考数据第 {self.version} 版：{what}。"


def _invalid(version: int, exc: ValidationError) -> ReleaseError:
    return ReleaseError(
        "invalid",
        f"区局参考数据第 {version} 版有误，已拒绝，未作任何更改：{exc.message} "
        "请联系区局更正后重新发布；若区局已用新版程序发布，请先升级本机的 SquadDesk。",
    )


def _section(body: Mapping[str, Any], key: str, kind: type, version: int) -> Any:
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        raise ReleaseError("malformed", f"区局参考数据第 {version} 版的“{key}”部分格式不正确，已拒绝。")
    return value


def apply_release(
    session: Session, actor: Actor, body: Mapping[str, Any], data_dir: Path, current_version: int
) -> AppliedRelease:
    """Install a verified release body (:func:`verify_release`) in the caller's unit of work.

    Refused (ReleaseError, nothing installed) when its version is not above ``current_version``
    — the district release installed here — or when any part fails its checks. The caller
    records the version as installed in the same unit of work."""
    require(actor, Permission.EDIT_REFERENCE)
    version = _release_version(body)
    if version is None or version < 1:
        raise ReleaseError("malformed", "区局参考数据的版本号不正确，已拒绝，未作任何更改。")
    if version == current_version:
        raise ReleaseError("rollback", f"区局参考数据第 {version} 版本机已经安装，不再重复安装。")
    if version < current_version:
        raise ReleaseError(
            "rollback", f"区局参考数据第 {version} 版早于本机已安装的第 {current_version} 版，拒绝回退。"
        )
    catalog = _section(body, "catalog", dict, version)
    calendar_raw = _section(body, "calendar", list, version)
    templates_raw = _section(body, "templates", dict, version)
    note = body.get("note") if isinstance(body.get("note"), str) else ""
    # Every part is checked before anything is written.
    try:
        if catalog is not None:
            read_release(catalog)
        calendar = check_calendar(calendar_raw, "节假日调整") if calendar_raw is not None else []
        templates: dict[str, Any] = {}
        for code, data in sorted((templates_raw or {}).items()):
            check_template(str(code), data)
            templates[str(code)] = data
    except ValidationError as exc:
        raise _invalid(version, exc) from None

    catalog_no: int | None = None
    if catalog is not None:
        try:
            catalog_no = import_release(session, actor, catalog, district=True).release_no
        except ValidationError as exc:
            raise _invalid(version, exc) from None
    for entry in calendar:
        _set_override(session, dt.date.fromisoformat(entry["day"]), entry["is_workday"], entry["name"])
    session.flush()
    folder = data_dir / TEMPLATES_FOLDER
    for code, data in templates.items():
        _stage_json(session, folder / f"{code}.json", data)
    return AppliedRelease(version, str(note), catalog_no, len(calendar), tuple(templates))


def _set_override(session: Session, day: dt.date, is_workday: bool, name: str) -> None:
    row = session.scalar(
        select(CalendarOverride)
        .where(CalendarOverride.day == day, CalendarOverride.deleted.is_(False))
        .order_by(CalendarOverride.id)
        .limit(1)
    )
    if row is None:
        session.add(CalendarOverride(day=day, is_workday=is_workday, name=name))
        return
    if row.is_workday != is_workday:
        row.is_workday = is_workday
    if row.name != name:
        row.name = name


def _stage_json(session: Session, path: Path, data: Any) -> None:
    """Write ``data`` as JSON in full under a temporary name in the same folder; it is renamed over
    ``path`` when the session's transaction commits and deleted when it does not
    (app.sync.commit_files). A reader sees the old file or the new one, never half of one."""
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise DomainError(
            f"无法在“{path.parent}”中保存区局下发的文书模板：{exc.strerror or exc}。请检查该文件夹的写权限。"
        ) from exc
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        publish_on_commit(
            session,
            temp,
            path,
            f"区局下发的文书模板“{path.name}”",
            "在此之前仍使用原有的文书模板。请检查数据文件夹的写权限和磁盘空间，并联系区局重新发布该模板。",
        )
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        if isinstance(exc, OSError):
            raise DomainError(
                f"保存区局下发的文书模板“{path.name}”时写盘失败：{exc.strerror or exc}。请检查磁盘空间后重新同步。"
            ) from exc
        raise


__all__ = [
    "TEMPLATES_FOLDER",
    "AppliedRelease",
    "ReleaseError",
    "apply_release",
    "check_calendar",
    "check_template",
    "verify_release",
]
