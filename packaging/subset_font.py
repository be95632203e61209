"""Make the bundled CJK font: Droid Sans Fallback subset to GBK plus ASCII and common symbols.

Run once by a developer (the result is committed under resources/fonts/):

    apt-get install fonts-droid-fallback
    python packaging/subset_font.py /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf

GBK covers GB 2312's 6,763 characters plus the rarer ones found in personal names, so every
name a clerk types renders on a machine without Chinese fonts. The source is TrueType (glyf
outlines), which reportlab can embed as well as Qt can draw.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset

OUT = Path(__file__).resolve().parent.parent / "resources" / "fonts" / "SquadDeskSans-GBK.ttf"


def gbk_codepoints() -> set[int]:
    points = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            try:
                ch = bytes([lead, trail]).decode("gbk")
            except UnicodeDecodeError:
                continue
            points.add(ord(ch))
    points |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0)) | set(range(0x2000, 0x2070))
    points |= {0x3014, 0x3015, 0x2116, 0x2103, 0x00D7, 0x00F7}
    return points


def main(source: str) -> None:
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    options.hinting = False
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(gbk_codepoints()))
    subsetter.subset(font)
    subset.save_font(font, str(OUT), options)
    print(f"{OUT}: {OUT.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
