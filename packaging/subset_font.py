"""Make the bundled CJK fonts under resources/fonts/ — run once by a developer; the results are
committed and the app uses those files (it never runs this script, nor needs fontTools).

    # the sans face (黑体 role, the GUI, and the per-character fallback of every document):
    apt-get install fonts-droid-fallback
    python packaging/subset_font.py sans /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf

    # the serif face (宋体 / 仿宋 role of the documents when the system has no 仿宋 or 宋体):
    apt-get install fonts-arphic-uming
    python packaging/subset_font.py serif /usr/share/fonts/truetype/arphic/uming.ttc

sans — Droid Sans Fallback (Apache 2.0) subset to GBK plus ASCII and common symbols: GBK covers
GB 2312's 6,763 characters plus the rarer ones found in personal names, so every name a clerk
types renders on a machine without Chinese fonts → SquadDeskSans-GBK.ttf (≈ 2.8 MB).

serif — AR PL UMing CN (face 0 of Debian's uming.ttc, Arphic Public License) subset to GB 2312
plus the GBK characters common in personal and place names (``NAME_CHARS``), Latin-1 and the
symbols documents use; embedded bitmaps and hinting dropped → SquadDeskSerif-GB.ttf (≈ 4.8 MB).
All of UMing's GBK would be 15 MB; a character outside the subset is drawn by the renderer from
the sans face instead (app/documents/fonts.py), so nothing prints as a box. The Arphic licence
asks each modified file to say how and when it was changed: the script writes that into the
font's description (name ID 10) and version string, and the licence text lies beside the font.

Both sources are TrueType (glyf outlines), which reportlab embeds (FontFile2) as well as Qt draws.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FONTS = Path(__file__).resolve().parent.parent / "resources" / "fonts"
SANS_OUT = FONTS / "SquadDeskSans-GBK.ttf"
SERIF_OUT = FONTS / "SquadDeskSerif-GB.ttf"
SANS_SOURCE = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
SERIF_SOURCE = "/usr/share/fonts/truetype/arphic/uming.ttc"

#: GBK characters outside GB 2312 that are common in personal and place names (a clerk types
#: them in party and officer names and addresses). Those not in GBK are ignored.
NAME_CHARS = (
    "喆堃昇珺玥瑄璟赟祎旻垚犇骉淏翀翃彧祐禛浛琤瑢瑀珣珝琎镕頔晞暐焜玙琇璠璘瑨邨贇迺飏鹍曈炟烜燊燚珅竑翚芃谞頫"
    "堉塱氹冚坭埗圳甪浬浕湉溱潆澔濛烔煊熳燏玗珉珒珖珩琍琝瑧璁璈璥璿瓅皛皞睿瞾砩碶祉禕秾稹筱篯絜纮绤缊翾"
    "耔芘苾茝荭莛菂萓萩葳蒨蓁蓥蔺薏蘅虓蚬裿觊訾詹谖赪趯跹逄邗邶郯鄞酂钖铄铧铱锜锳镠閤闿阆隋雒霭靳鞴韪"
    "颋颙飚馥骎骢骦髙鲲鹓鹙麟黉龑"
)


def _codepoints(encoding: str, leads: range, trails: range) -> set[int]:
    points: set[int] = set()
    for lead in leads:
        for trail in trails:
            try:
                points.add(ord(bytes([lead, trail]).decode(encoding)))
            except UnicodeDecodeError:
                continue
    return points


def _symbols() -> set[int]:
    points = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    points |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0)) | set(range(0x2000, 0x2070))
    points |= {0x3014, 0x3015, 0x2116, 0x2103, 0x00D7, 0x00F7, 0x2460, 0x2461, 0x2462, 0x2463, 0x2464}
    return points


def gbk_codepoints() -> set[int]:
    return _codepoints("gbk", range(0x81, 0xFF), range(0x40, 0xFF)) | _symbols()


def serif_codepoints() -> set[int]:
    gb2312 = _codepoints("gb2312", range(0xA1, 0xF8), range(0xA1, 0xFF))
    gbk = _codepoints("gbk", range(0x81, 0xFF), range(0x40, 0xFF))
    names = {ord(c) for c in NAME_CHARS} & gbk
    return gb2312 | names | _symbols()


def _options(font_number: int = 0) -> subset.Options:
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    options.hinting = False
    options.font_number = font_number
    # UMing carries bitmap strikes (EBDT/EBLC) and FontForge tables no PDF needs.
    options.drop_tables += ["EBDT", "EBLC", "EBSC", "BDF ", "FFTM"]
    return options


def _mark_modified(font: TTFont, what: str) -> None:
    """The Arphic Public License (section 2a): a prominent notice of how and when the file changed."""
    notice = (
        f"Modified by the SquadDesk project on {dt.date.today().isoformat()}: {what} "
        "with fontTools (packaging/subset_font.py); embedded bitmaps and hinting removed. "
        "Distributed under the Arphic Public License (LICENSE-ARPHICPL.txt)."
    )
    name = font["name"]
    name.setName(notice, 10, 3, 1, 0x409)
    version = name.getDebugName(5) or ""
    name.setName(f"{version.strip()}; SquadDesk subset {dt.date.today():%Y%m%d}", 5, 3, 1, 0x409)


def make(kind: str, source: str) -> Path:
    out = SERIF_OUT if kind == "serif" else SANS_OUT
    options = _options()
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    points = serif_codepoints() if kind == "serif" else gbk_codepoints()
    subsetter.populate(unicodes=sorted(points))
    subsetter.subset(font)
    if kind == "serif":
        _mark_modified(
            font, "subset of AR PL UMing CN (face 0 of uming.ttc) to GB 2312 and common name characters"
        )
    subset.save_font(font, str(out), options)
    print(f"{out}: {out.stat().st_size / 1024:.0f} KiB")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=("sans", "serif"))
    parser.add_argument("source", nargs="?", default=None)
    args = parser.parse_args()
    make(args.kind, args.source or (SERIF_SOURCE if args.kind == "serif" else SANS_SOURCE))


if __name__ == "__main__":
    main()
