"""Reading and writing reference-data files: the bundled ``resources/reference/catalog.json``, and
the releases the district ships (later through sync, until then as files an admin imports).

Format (``"schema_version": 1``) — one JSON object, UTF-8::

    {
      "format": "squaddesk-reference",     required, exactly this
      "schema_version": 1,                 required; the only version this program reads
      "release": 3,                        required, integer >= 1; must be newer than the installed one
      "source": "district",                optional: "district" (default), "bundled" or "local"
      "name": "2026 年第 1 次调整",          optional title
      "published": "2026-03-01",           optional, YYYY-MM-DD
      "note": "…",                         optional
      "thresholds": {                      optional; a key left out takes the program's default
        "summary_person_yuan": 200,        简易程序：对个人罚款不超过（元；《行政处罚法》第五十一条，上限 200）
        "summary_org_yuan": 3000,          简易程序：对单位罚款不超过（上限 3,000）
        "on_the_spot_yuan": 100,           当场收缴：罚款不超过（第六十八条，上限 100）
        "hearing_person_yuan": 10000,      听证：对个人罚款达到（第六十三条“较大数额”，各省规定）
        "hearing_org_yuan": 100000,        听证：对单位罚款达到
        "hearing_confiscation_person_yuan": 10000,   听证：没收违法所得/非法财物价值达到（个人）
        "hearing_confiscation_org_yuan": 100000,     （单位）
        "legal_review_person_yuan": 5000,  法制审核：对个人罚款达到（第五十八条，本地规定）
        "legal_review_org_yuan": 50000     法制审核：对单位罚款达到
      },
      "items": [ ITEM, … ]                 required, at least one; codes unique
    }

    ITEM = {
      "code": "SZ-001",                    required: letters, digits, "-", "_", "."; at most 40
      "name": "擅自占用城市道路",            required
      "category": "市政道路",               required
      "breach_basis": "《…》第…条",          required: 违法依据
      "penalty_basis": "《…》第…条",         required: 处罚依据
      "penalty_types": ["order_correction", "fine"],   required, at least one of: warning 警告,
                  fine 罚款, confiscate_illegal_gains 没收违法所得, confiscate_property 没收非法财物,
                  suspend 责令停产停业, revoke_licence 吊销许可证件, demolish 限期拆除,
                  order_correction 责令（限期）改正 (not a penalty, listed so decisions state it)
      "fine": {                            optional: statutory range per party kind, in yuan
        "person":       {"min_yuan": 100, "max_yuan": 500},
        "organisation": {"max_yuan": 20000}     min left out: the law gives only a maximum,
      },                                        so the minimum is 10 % of it (rounded to the yuan)
      "fine_rate": {"min_percent": 5, "max_percent": 10, "of": "建设工程造价"},
                                           optional, instead of "fine": a share of a base amount
      "fine_basis_note": "…",              optional; required when "fine" is a penalty type but no
                                           amounts are given (say where the amounts come from)
      "limitation_years": 2,               optional, 2 (default) or 5 (《行政处罚法》第三十六条)
      "local_rule": false,                 optional: basis or amounts follow local rules — check them
      "note": "…",                         optional
      "tiers": "standard" | [ TIER, … ]    optional, default "standard": especially minor → no
                                           penalty; minor → minimum; general → minimum to half the
                                           maximum; serious → half the maximum to the maximum;
                                           especially serious → maximum (see rules.standard_tiers)
    }

    TIER = {
      "name": "一般",  "conditions": "…",  "measure": "…",  "no_penalty": false,
      "fine": {"person": {"min_yuan": 2000, "max_yuan": 10000}, "organisation": {…}},
      "fine_rate": {"min_percent": 5, "max_percent": 7.5}
    }                                      lightest first; a party kind without a range pays no
                                           fine at that tier; ranges inside the statutory range

Amounts are whole yuan as JSON integers, or text with cents such as "2500.50"; JSON fractions
(2500.5) are refused so that no amount ever passes through a float. Percentages may have up to two
decimals. A file with any error is refused whole, with a message naming the item and field.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.errors import ValidationError
from app.reference.model import (
    NO_FINE,
    NO_RATE,
    THRESHOLD_FIELDS,
    FineRange,
    ItemInput,
    PenaltyType,
    RateRange,
    ReleaseData,
    Thresholds,
    TierInput,
)
from app.reference.money import BP_PER_PERCENT, FEN_PER_YUAN, parse_yuan
from app.reference.rules import normalize_item, standard_tiers, validate_thresholds, validate_tiers
from db.models.reference import ReleaseSource

FORMAT = "squaddesk-reference"
SCHEMA_VERSION = 1
PARTY_KEYS = {"person": "person_fine", "organisation": "org_fine"}


class _Where:
    """Where in the file we are, so every message names the item and the field to fix."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.item = ""

    def fail(self, message: str) -> ValidationError:
        place = f"{self.origin}{self.item}"
        return ValidationError(f"{place}：{message}" if place else message)


def _obj(value: Any, what: str, where: _Where) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise where.fail(f"“{what}”应为对象（{{…}}）。")
    return value


def _text(data: Mapping[str, Any], key: str, where: _Where, required: bool = False) -> str:
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise where.fail(f"“{key}”应为文本。")
    if required and not value.strip():
        raise where.fail(f"缺少“{key}”。")
    return value.strip()


def _int(data: Mapping[str, Any], key: str, where: _Where, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.fail(f"“{key}”应为整数，现为 {json.dumps(value, ensure_ascii=False)}。")
    return value


def _fen(value: Any, key: str, where: _Where) -> int:
    if isinstance(value, bool) or value is None:
        raise where.fail(f"“{key}”应为金额（元）。")
    if isinstance(value, int):
        if value < 0:
            raise where.fail(f"“{key}”不能为负数。")
        return value * FEN_PER_YUAN
    if isinstance(value, str):
        try:
            return parse_yuan(value)
        except ValidationError as exc:
            raise where.fail(f"“{key}”{exc.message}") from None
    raise where.fail(f'“{key}”应为整数元，或带引号的金额文本（如 "2500.50"），现为 {value!r}。')


def _bp(value: Any, key: str, where: _Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.fail(f"“{key}”应为百分数（如 5 或 7.5）。")
    bp = round(value * BP_PER_PERCENT)
    if bp < 0 or abs(bp - value * BP_PER_PERCENT) > 1e-6:
        raise where.fail(f"“{key}”应为不小于 0、最多两位小数的百分数，现为 {value}。")
    return bp


def _range(data: Any, what: str, where: _Where) -> FineRange:
    obj = _obj(data, what, where)
    unknown = set(obj) - {"min_yuan", "max_yuan"}
    if unknown:
        raise where.fail(f"“{what}”中有不认识的字段 {sorted(unknown)}，应为 min_yuan / max_yuan。")
    low = _fen(obj["min_yuan"], f"{what}.min_yuan", where) if "min_yuan" in obj else None
    high = _fen(obj["max_yuan"], f"{what}.max_yuan", where) if "max_yuan" in obj else None
    return FineRange(low, high)


def _fines(data: Mapping[str, Any], where: _Where) -> dict[str, FineRange]:
    if "fine" not in data:
        return {}
    fine = _obj(data["fine"], "fine", where)
    unknown = set(fine) - set(PARTY_KEYS)
    if unknown:
        raise where.fail(f"“fine”中有不认识的当事人类别 {sorted(unknown)}，应为 person / organisation。")
    return {PARTY_KEYS[k]: _range(v, f"fine.{k}", where) for k, v in fine.items()}


def _rate(data: Mapping[str, Any], where: _Where, with_base: bool) -> tuple[RateRange, str]:
    if "fine_rate" not in data:
        return NO_RATE, ""
    obj = _obj(data["fine_rate"], "fine_rate", where)
    allowed = {"min_percent", "max_percent"} | ({"of"} if with_base else set())
    unknown = set(obj) - allowed
    if unknown:
        raise where.fail(f"“fine_rate”中有不认识的字段 {sorted(unknown)}。")
    low = _bp(obj["min_percent"], "fine_rate.min_percent", where) if "min_percent" in obj else None
    high = _bp(obj["max_percent"], "fine_rate.max_percent", where) if "max_percent" in obj else None
    return RateRange(low, high), _text(obj, "of", where) if with_base else ""


def _tier(data: Any, where: _Where) -> TierInput:
    obj = _obj(data, "tiers[]", where)
    no_penalty = obj.get("no_penalty", False)
    if not isinstance(no_penalty, bool):
        raise where.fail("阶次的“no_penalty”应为 true 或 false。")
    fines = _fines(obj, where)
    rate, _ = _rate(obj, where, with_base=False)
    return TierInput(
        name=_text(obj, "name", where, required=True),
        conditions=_text(obj, "conditions", where),
        measure=_text(obj, "measure", where),
        no_penalty=no_penalty,
        person_fine=fines.get("person_fine", NO_FINE),
        org_fine=fines.get("org_fine", NO_FINE),
        fine_rate=rate,
    )


def _item(data: Any, where: _Where) -> tuple[ItemInput, tuple[TierInput, ...]]:
    obj = _obj(data, "items[]", where)
    types = obj.get("penalty_types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise where.fail('“penalty_types”应为文本列表，如 ["warning", "fine"]。')
    known = {t.value for t in PenaltyType}
    bad = [t for t in types if t not in known]
    if bad:
        raise where.fail(f"不认识的处罚种类 {bad}，可用的有：{', '.join(sorted(known))}。")
    local_rule = obj.get("local_rule", False)
    if not isinstance(local_rule, bool):
        raise where.fail("“local_rule”应为 true 或 false。")
    fines = _fines(obj, where)
    rate, base = _rate(obj, where, with_base=True)
    raw = ItemInput(
        code=_text(obj, "code", where, required=True),
        name=_text(obj, "name", where, required=True),
        category=_text(obj, "category", where, required=True),
        breach_basis=_text(obj, "breach_basis", where),
        penalty_basis=_text(obj, "penalty_basis", where),
        penalty_types=tuple(PenaltyType(t) for t in types),
        person_fine=fines.get("person_fine", NO_FINE),
        org_fine=fines.get("org_fine", NO_FINE),
        fine_rate=rate,
        rate_base=base,
        fine_basis_note=_text(obj, "fine_basis_note", where),
        limitation_years=_int(obj, "limitation_years", where, default=2),
        local_rule=local_rule,
        note=_text(obj, "note", where),
    )
    spec = obj.get("tiers", "standard")
    if spec != "standard" and not isinstance(spec, list):
        raise where.fail('“tiers”应为 "standard" 或阶次列表。')
    raw_tiers = [_tier(t, where) for t in spec] if isinstance(spec, list) else None
    try:
        item = normalize_item(raw)
        tiers = standard_tiers(item) if raw_tiers is None else validate_tiers(item, raw_tiers)
    except ValidationError as exc:
        raise where.fail(exc.message) from None
    return item, tiers


def _thresholds(data: Any, where: _Where) -> Thresholds:
    if data is None:
        return Thresholds()
    obj = _obj(data, "thresholds", where)
    by_json = {key.removesuffix("_fen") + "_yuan": key for key in THRESHOLD_FIELDS}
    unknown = set(obj) - set(by_json)
    if unknown:
        raise where.fail(f"“thresholds”中有不认识的阈值 {sorted(unknown)}，可用的有：{', '.join(by_json)}。")
    values = {by_json[k]: _fen(v, f"thresholds.{k}", where) for k, v in obj.items()}
    try:
        return validate_thresholds(Thresholds(**values))
    except ValidationError as exc:
        raise where.fail(exc.message) from None


def parse_release(data: Any, origin: str = "") -> ReleaseData:
    """A release file's content, validated whole; ValidationError naming the first problem."""
    where = _Where(origin)
    obj = _obj(data, "文件内容", where)
    if obj.get("format") != FORMAT:
        raise where.fail(f'这不是 SquadDesk 的基准数据文件（应有 "format": "{FORMAT}"）。')
    schema = _int(obj, "schema_version", where)
    if schema != SCHEMA_VERSION:
        raise where.fail(
            f"文件格式版本为 {schema}，本程序只能读取第 {SCHEMA_VERSION} 版格式，请升级 SquadDesk 后再导入。"
        )
    release_no = _int(obj, "release", where)
    if release_no < 1:
        raise where.fail("“release”应为不小于 1 的整数。")
    try:
        source = ReleaseSource(obj.get("source", ReleaseSource.DISTRICT.value))
    except ValueError:
        raise where.fail("“source”应为 district、bundled 或 local。") from None
    published_text = _text(obj, "published", where)
    try:
        published = dt.date.fromisoformat(published_text) if published_text else None
    except ValueError:
        raise where.fail(f"“published”应为 YYYY-MM-DD 格式的日期，现为“{published_text}”。") from None
    raw_items = obj.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise where.fail("“items”应为至少含一个执法事项的列表。")
    items: list[tuple[ItemInput, tuple[TierInput, ...]]] = []
    codes: set[str] = set()
    for index, raw in enumerate(raw_items, start=1):
        code = raw.get("code", "") if isinstance(raw, Mapping) else ""
        where.item = f"第 {index} 个事项" + (f"（{code}）" if code else "")
        item, tiers = _item(raw, where)
        if item.code in codes:
            raise where.fail(f"事项编码 {item.code} 重复，每个事项的编码应唯一。")
        codes.add(item.code)
        items.append((item, tiers))
    where.item = ""
    return ReleaseData(
        release_no=release_no,
        schema_version=schema,
        source=source,
        name=_text(obj, "name", where),
        published=published,
        note=_text(obj, "note", where),
        items=tuple(items),
        thresholds=_thresholds(obj.get("thresholds"), where),
    )


def read_release(source: Path | str | Mapping[str, Any]) -> ReleaseData:
    """A release from a file path or from already-parsed JSON."""
    if isinstance(source, Mapping):
        return parse_release(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"找不到文件“{path}”，请重新选择。") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"无法读取文件“{path}”（{exc.__class__.__name__}），请确认它是 UTF-8 编码的 JSON 文件。"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"文件“{path.name}”不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列有误（{exc.msg}）。"
        ) from None
    return parse_release(data, origin=f"文件“{path.name}”")


def _yuan_json(fen: int) -> int | str:
    whole, cents = divmod(fen, FEN_PER_YUAN)
    return whole if cents == 0 else f"{whole}.{cents:02d}"


def _percent_json(bp: int) -> int | float:
    return bp // BP_PER_PERCENT if bp % BP_PER_PERCENT == 0 else bp / BP_PER_PERCENT


def _range_json(rng: FineRange, keep_derived: bool = False) -> dict[str, int | str]:
    out: dict[str, int | str] = {}
    if rng.min_fen is not None and not (rng.derived_min and not keep_derived):
        out["min_yuan"] = _yuan_json(rng.min_fen)
    if rng.max_fen is not None:
        out["max_yuan"] = _yuan_json(rng.max_fen)
    return out


def _fine_json(person: FineRange, org: FineRange, keep_derived: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if person.is_set:
        out["person"] = _range_json(person, keep_derived)
    if org.is_set:
        out["organisation"] = _range_json(org, keep_derived)
    return out


def _rate_json(rate: RateRange, keep_derived: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rate.min_bp is not None and not (rate.derived_min and not keep_derived):
        out["min_percent"] = _percent_json(rate.min_bp)
    if rate.max_bp is not None:
        out["max_percent"] = _percent_json(rate.max_bp)
    return out


def release_to_json(data: ReleaseData) -> dict[str, Any]:
    """The file form of a release (tiers written out in full), readable by :func:`parse_release`."""
    items: list[dict[str, Any]] = []
    for item, tiers in data.items:
        entry: dict[str, Any] = {
            "code": item.code,
            "name": item.name,
            "category": item.category,
            "breach_basis": item.breach_basis,
            "penalty_basis": item.penalty_basis,
            "penalty_types": [t.value for t in item.penalty_types],
        }
        # a derived minimum is left out, so the file keeps saying what the law says
        fine = _fine_json(item.person_fine, item.org_fine)
        if fine:
            entry["fine"] = fine
        if item.fine_rate.is_set:
            entry["fine_rate"] = {**_rate_json(item.fine_rate), "of": item.rate_base}
        for key in ("fine_basis_note", "note"):
            if getattr(item, key):
                entry[key] = getattr(item, key)
        entry["limitation_years"] = item.limitation_years
        if item.local_rule:
            entry["local_rule"] = True
        tier_list: list[dict[str, Any]] = []
        for tier in tiers:
            t: dict[str, Any] = {"name": tier.name, "conditions": tier.conditions, "measure": tier.measure}
            if tier.no_penalty:
                t["no_penalty"] = True
            tier_fine = _fine_json(tier.person_fine, tier.org_fine, keep_derived=True)
            if tier_fine:
                t["fine"] = tier_fine
            if tier.fine_rate.is_set:
                t["fine_rate"] = _rate_json(tier.fine_rate, keep_derived=True)
            tier_list.append(t)
        entry["tiers"] = tier_list
        items.append(entry)
    thresholds = {
        key.removesuffix("_fen") + "_yuan": _yuan_json(getattr(data.thresholds, key))
        for key in THRESHOLD_FIELDS
    }
    out: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": data.schema_version,
        "release": data.release_no,
        "source": data.source.value,
        "name": data.name,
    }
    if data.published is not None:
        out["published"] = data.published.isoformat()
    out.update({"note": data.note, "thresholds": thresholds, "items": items})
    return out
