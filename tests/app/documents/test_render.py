"""The renderer and its fonts, on small templates: line breaking, per-character font fallback,
struck-out fields of a record, the system fonts preferred where present, the CLI."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pdfcheck import case_id, flat, page_texts, unembedded_fonts

from app.cli import main
from app.context import AppContext
from app.documents import fonts as font_module
from app.documents import parse_template, render
from app.documents.fonts import BUNDLED_SANS, BUNDLED_SERIF, font_set
from app.documents.render import NO_START, layout_document
from app.paths import resource_path


def _template(blocks: list[dict[str, Any]], **top: Any) -> Any:
    data = {
        "format": "squaddesk-document-template",
        "schema_version": 1,
        "type": "sample",
        "title": "样张",
        "blocks": blocks,
        **top,
    }
    return parse_template(data, "sample.json")


def test_bundled_fonts_and_their_licences() -> None:
    fonts = font_set(prefer_system=False)
    for use in fonts.uses:
        assert not use.system and Path(use.path).is_file()
    assert Path(fonts.body.use.path) == resource_path(*BUNDLED_SERIF)
    assert Path(fonts.fallback.use.path) == resource_path(*BUNDLED_SANS)
    assert fonts.title.use.faux_bold  # no 小标宋: Song with a stroke
    assert resource_path("fonts", "LICENSE-ARPHICPL.txt").is_file()
    assert resource_path("fonts", "LICENSE-DroidSansFallback.txt").is_file()
    assert resource_path(*BUNDLED_SERIF).stat().st_size < 15 * 1024 * 1024


def test_line_breaking_keeps_punctuation_off_line_starts() -> None:
    text = "当事人于某日在车陂路（东段）堆放建材，影响通行；经责令改正，拒不改正。" * 12
    template = _template([{"type": "paragraph", "text": "{case_facts}"}])
    layout = layout_document(template, {"case_facts": text}, font_set(prefer_system=False))
    starts = []
    for page, start, end, _top in layout.flow:
        ops = [op for op in layout.pages[page][start:end] if op[0] == "t"]
        starts.append(ops[0][5][0])
    assert len(starts) > 10
    assert not any(ch in NO_START for ch in starts)
    assert not [op for page in layout.pages for op in page if op[0] == "t" and op[5].endswith(("（", "《"))]


def test_rare_characters_fall_back_and_extract(tmp_path: Path) -> None:
    # 丂 is GBK but not in the serif subset: drawn by the sans face. 𠮷 is in no bundled face.
    template = _template([{"type": "paragraph", "text": "当事人：{party_name}，编号 AB-12。"}])
    out = tmp_path / "rare.pdf"
    result = render(template, {"party_name": "王丂喆"}, out, fonts=font_set(prefer_system=False))
    assert result.missing_glyphs == ""
    assert "当事人：王丂喆，编号AB-12。" in flat(page_texts(out)[0])
    assert unembedded_fonts(out) == []
    result = render(template, {"party_name": "𠮷"}, tmp_path / "x.pdf", fonts=font_set(prefer_system=False))
    assert result.missing_glyphs == "𠮷"


def test_record_fields_struck_out_and_other_blanks_kept(tmp_path: Path) -> None:
    blocks = [
        {
            "type": "fields",
            "rows": [
                [{"label": "姓名：", "value": "{party_name}"}, {"label": "电话：", "value": "{party_phone}"}]
            ],
        },
        {"type": "paragraph", "text": "住址：{party_address:6}。"},
        {
            "type": "table",
            "columns": [1, 3],
            "rows": [[{"text": "备注", "label": True}, {"text": "{party_legal_rep}"}]],
        },
    ]
    data = {"party_name": "王某", "party_phone": "", "party_address": "", "party_legal_rep": ""}
    record = render(_template(blocks, record=True), data, tmp_path / "r.pdf", fonts=font_set(False))
    assert record.struck == 3  # the phone, the address in the paragraph, the empty table cell
    plain = render(_template(blocks), data, tmp_path / "p.pdf", fonts=font_set(False))
    assert plain.struck == 0


def test_long_document_counts_its_pages(tmp_path: Path) -> None:
    template = _template([{"type": "paragraph", "text": "{case_facts}"}] * 12)
    out = tmp_path / "long.pdf"
    result = render(template, {"case_facts": "违法事实。" * 80}, out, fonts=font_set(False))
    texts = page_texts(out)
    assert result.pages == len(texts) > 3
    assert all(f"共{result.pages}页" in flat(t) for t in texts)


@pytest.fixture
def fake_system_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A font folder holding a “simfang.ttf” (the bundled serif under that name)."""
    folder = tmp_path / "fonts"
    folder.mkdir()
    shutil.copyfile(resource_path(*BUNDLED_SERIF), folder / "simfang.ttf")
    monkeypatch.setattr(font_module, "font_dirs", lambda: [folder])
    font_module._system_files.cache_clear()
    font_module._font_set.cache_clear()
    yield folder
    font_module._system_files.cache_clear()
    font_module._font_set.cache_clear()


def test_system_fangsong_preferred(fake_system_fonts: Path, tmp_path: Path) -> None:
    fonts = font_set(prefer_system=True)
    assert fonts.body.use.system and fonts.body.use.label == "仿宋"
    assert Path(fonts.body.use.path) == fake_system_fonts / "simfang.ttf"
    assert not fonts.heading.use.system  # no 黑体 on this machine: the bundled sans
    result = render(_template([{"type": "paragraph", "text": "正文"}]), {}, tmp_path / "s.pdf", fonts=fonts)
    assert "正文：仿宋" in result.font_summary


def test_cli_render(demo: AppContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(demo.data_dir)
    number = "车综执立〔2026〕第0006号"
    case_id(demo, number)
    out = tmp_path / "决定书.pdf"
    args = ["--data-dir", d, "render", "penalty_decision", "--case", number, "--out", str(out)]
    assert main([*args, "--password", "squad2026", "--number", "车综执罚决字〔2026〕第7号"]) == 0
    printed = capsys.readouterr().out
    assert "已生成行政处罚决定书" in printed and "共 2 页" in printed and "字体：正文：" in printed
    assert "车综执罚决字〔2026〕第7号" in flat("".join(page_texts(out)))
    args = ["--data-dir", d, "render", "spot_decision", "--case", number, "--out", str(out)]
    assert main([*args, "--password", "squad2026"]) == 2
    assert "只用于简易程序案件" in capsys.readouterr().err
    args = ["--data-dir", d, "render", "decision", "--case", number, "--out", str(out)]
    assert main([*args, "--password", "squad2026"]) == 2
    assert "没有文书类型“decision”的模板。可用的文书类型：" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    helptext = capsys.readouterr().out
    assert "penalty_decision 行政处罚决定书" in helptext and "inquiry_record 询问笔录" in helptext
