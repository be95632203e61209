"""The template format: every bundled template loads; a faulty one is refused with a Chinese
message naming the file and the block at fault."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.documents import document_types, load_template, parse_template, read_template
from app.documents.template import SCHEMA_VERSION, TableBlock
from app.errors import NotFoundError, ValidationError

BASE: dict[str, Any] = {
    "format": "squaddesk-document-template",
    "schema_version": 1,
    "type": "demo_notice",
    "title": "演示通知书",
    "blocks": [
        {"type": "title"},
        {"type": "paragraph", "text": "{party_name}："},
        {
            "type": "table",
            "columns": [1, 3],
            "rows": [[{"text": "案由", "label": True}, {"text": "{case_title}"}]],
        },
    ],
}


def _with(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def test_bundled_templates_load() -> None:
    types = document_types()
    assert len(types) >= 11
    for code, title in types.items():
        template = load_template(code)
        assert template.type == code and template.title == title
        assert template.schema_version <= SCHEMA_VERSION
        assert template.page.top_mm > 0 and template.blocks


def test_defaults_are_gb_t_9704() -> None:
    t = parse_template(BASE, "demo_notice.json")
    assert (t.page.top_mm, t.page.left_mm, t.page.right_mm, t.page.bottom_mm) == (37, 28, 26, 35)
    assert (t.style.body_pt, t.style.title_pt) == (16, 22) and 28 <= t.style.line_pt <= 29
    assert isinstance(t.blocks[2], TableBlock) and t.blocks[2].rows[0][0].label


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_with(format="other"), "demo_notice.json：不是 SquadDesk 文书模板"),
        (_with(schema_version=SCHEMA_VERSION + 1), "请先升级 SquadDesk"),
        (_with(title=""), "缺少文书名称"),
        (_with(blocks=[{"type": "title"}, {"type": "poem"}]), '第 2 块：未知的块类型 "poem"'),
        (
            _with(blocks=[{"type": "paragraph", "text": "罚款{fine}"}]),
            "第 1 块（段落）：段落文字引用了本版程序不提供的字段“{fine}”",
        ),
        (_with(blocks=[{"type": "paragraph", "text": "{has_fine}"}]), "“{has_fine}”（处以罚款）不能直接印出"),
        (_with(blocks=[{"type": "paragraph", "text": "{party_name"}]), "花括号"),
        (_with(blocks=[{"type": "paragraph"}]), "第 1 块（段落）：缺少“text”"),
        (_with(blocks=[{"type": "paragraph", "text": "x", "colour": "red"}]), "不认识的键 colour"),
        (_with(blocks=[{"type": "paragraph", "text": "x", "size": 100}]), "“size”应在 6 到 40 之间"),
        (
            _with(blocks=[{"type": "table", "columns": [1, 3], "rows": [[{"text": "案由"}]]}]),
            "第 1 块（表格）：第 1 行各格共占 1 列，表格有 2 列",
        ),
        (
            _with(blocks=[{"type": "list", "field": "officers", "columns": [{"key": "q", "title": "问"}]}]),
            "第 1 块（清单）：第 1 列的“key”应为 name、cert_no 之一",
        ),
        (_with(blocks=[{"type": "spacer", "when": "no_such_flag"}]), "“when”引用了本版程序不提供的字段"),
        (_with(required=["fine"]), "“required”中的“fine”不是本版程序提供的字段"),
        (_with(footer="页脚"), "“footer”应含 {page}"),
        (_with(page={"size": "A3"}), "只支持 A4"),
        (_with(step="judgement"), "“step”中的“judgement”不是办案环节代码"),
        (_with(outcomes=["fined"]), "“outcomes”中的“fined”不是处理结果代码"),
        (_with(blocks=[]), "“blocks”至少要有一块"),
    ],
)
def test_faults_name_the_file_and_block(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        parse_template(data, "demo_notice.json")
    assert err.value.message.startswith("文书模板 demo_notice.json")
    assert message in err.value.message


def test_files(tmp_path: Path) -> None:
    (tmp_path / "demo_notice.json").write_text(json.dumps(BASE, ensure_ascii=False), encoding="utf-8")
    assert load_template("demo_notice", tmp_path).title == "演示通知书"
    assert document_types(tmp_path) == {"demo_notice": "演示通知书"}
    (tmp_path / "renamed.json").write_text(json.dumps(BASE), encoding="utf-8")
    with pytest.raises(ValidationError, match=re.escape("文件名应与文书类型代码一致（demo_notice.json）")):
        read_template(tmp_path / "renamed.json")
    (tmp_path / "broken.json").write_text('{"format": ', encoding="utf-8")
    with pytest.raises(ValidationError, match=re.escape("broken.json 不是有效的 JSON：第 1 行")):
        read_template(tmp_path / "broken.json")
    with pytest.raises(NotFoundError, match="没有文书类型“nothing”的模板"):
        load_template("nothing")
    # a changed file is read again (the district ships a new revision)
    changed = {**BASE, "title": "演示通知书（修订）", "revision": 2}
    (tmp_path / "demo_notice.json").write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    assert load_template("demo_notice", tmp_path).revision == 2
