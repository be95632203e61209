"""The fonts of printed documents: the system's 仿宋 / 宋体 / 黑体 where present, else the bundled faces.

Official documents set the body in 仿宋 (FangSong) 三号, titles in 小标宋 二号 and headings in
黑体 (GB/T 9704). A Windows PC has simfang.ttf, simsun.ttc and simhei.ttf; a UOS or Kylin desktop
often has them too (or the Founder faces). Where they are missing the renderer uses the fonts
bundled under resources/fonts/: SquadDeskSerif-GB (AR PL UMing, a Ming/Song face, GB 2312 and
common name characters) for body and titles, SquadDeskSans-GBK (Droid Sans Fallback, all of GBK)
for headings and as the fallback of any character the chosen face lacks — so a rare character
in a name is drawn by another face rather than printed as a box.

Every face is TrueType and embedded (reportlab subsets it into the PDF as FontFile2): the office
printer never needs to have it. With no 小标宋 installed, titles are set in the Song face with a
thin outline stroke (faux bold), which gives the heavy look of 小标宋.

``SQUADDESK_DOCUMENT_FONTS=bundled`` (or ``font_set(prefer_system=False)``) uses the bundled
faces only — for golden-image tests and for output that must not depend on the machine.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from app.paths import resource_path

log = logging.getLogger(__name__)

BUNDLED_SERIF: Final = ("fonts", "SquadDeskSerif-GB.ttf")
BUNDLED_SANS: Final = ("fonts", "SquadDeskSans-GBK.ttf")
ENV_BUNDLED: Final = "SQUADDESK_DOCUMENT_FONTS"


@dataclass(frozen=True)
class Candidate:
    file: str  # file name, matched case-insensitively in the font folders
    index: int  # face in a .ttc collection
    label: str
    faux_bold: bool = False


#: What each role looks for on the system, best first.
SYSTEM_CANDIDATES: Final[dict[str, tuple[Candidate, ...]]] = {
    "body": (
        Candidate("simfang.ttf", 0, "仿宋"),
        Candidate("FZFSK.TTF", 0, "方正仿宋简体"),
        Candidate("FZFSJW.TTF", 0, "方正仿宋简体"),
        Candidate("STFANGSO.TTF", 0, "华文仿宋"),
        Candidate("simsun.ttc", 0, "宋体"),
        Candidate("simsun.ttf", 0, "宋体"),
    ),
    "title": (
        Candidate("FZXBSJW.TTF", 0, "方正小标宋简体"),
        Candidate("FZXBSJW--GB1-0.ttf", 0, "方正小标宋简体"),
        Candidate("FZXBSK.TTF", 0, "方正小标宋简体"),
        Candidate("simsun.ttc", 0, "宋体（加粗描边）", faux_bold=True),
        Candidate("simsun.ttf", 0, "宋体（加粗描边）", faux_bold=True),
    ),
    "heading": (
        Candidate("simhei.ttf", 0, "黑体"),
        Candidate("FZHTK.TTF", 0, "方正黑体简体"),
        Candidate("STHEITI.TTF", 0, "华文黑体"),
    ),
}


@dataclass(frozen=True)
class FontUse:
    """Which face a role was drawn with (told in every RenderResult)."""

    role: str  # body | title | heading | fallback
    label: str  # 仿宋, 内置宋体（AR PL UMing）…
    path: str
    system: bool
    faux_bold: bool = False


@dataclass(frozen=True)
class Face:
    """A registered reportlab face: name, the characters it covers, widths per 1000 em."""

    name: str
    use: FontUse
    widths: dict[int, float]
    default_width: float
    covers: frozenset[int]


@dataclass(frozen=True)
class FontSet:
    body: Face
    title: Face
    heading: Face
    fallback: Face

    def role(self, name: str) -> Face:
        face: Face = getattr(self, name)
        return face

    @property
    def uses(self) -> tuple[FontUse, ...]:
        return tuple(f.use for f in (self.body, self.title, self.heading, self.fallback))


_LOCK = threading.Lock()


def font_dirs() -> list[Path]:
    """The folders where Windows, Linux desktops (UOS, Kylin) and macOS keep fonts."""
    home = Path.home()
    dirs: list[Path] = []
    if sys.platform == "win32":
        windir = os.environ.get("WINDIR") or os.environ.get("SYSTEMROOT") or "C:/Windows"
        dirs.append(Path(windir) / "Fonts")
        local = os.environ.get("LOCALAPPDATA")
        if local:
            dirs.append(Path(local) / "Microsoft" / "Windows" / "Fonts")
    elif sys.platform == "darwin":
        dirs += [Path("/Library/Fonts"), Path("/System/Library/Fonts"), home / "Library" / "Fonts"]
    else:
        data_dirs = os.environ.get("XDG_DATA_DIRS", "/usr/local/share:/usr/share").split(":")
        dirs += [Path(d) / "fonts" for d in data_dirs if d]
        dirs += [home / ".fonts", home / ".local" / "share" / "fonts"]
    return dirs


@lru_cache(maxsize=1)
def _system_files() -> dict[str, Path]:
    """Lower-case file name → path of every font file in the font folders (walked once)."""
    found: dict[str, Path] = {}
    for folder in font_dirs():
        if not folder.is_dir():
            continue
        for root, _dirs, files in os.walk(folder):
            for name in files:
                if name.lower().endswith((".ttf", ".ttc")):
                    found.setdefault(name.lower(), Path(root) / name)
    return found


def _register(key: str, path: Path, index: int, use: FontUse) -> Face | None:
    name = f"SD-{key}"
    try:
        font = pdfmetrics.getFont(name)
    except KeyError:
        try:
            font = TTFont(name, str(path), subfontIndex=index)
        except (TTFError, OSError, ValueError, KeyError, IndexError) as exc:
            # A CFF-flavoured OpenType font, one that forbids embedding, or a damaged file.
            log.warning("font %s not usable for documents: %s", path, exc)
            return None
        pdfmetrics.registerFont(font)
    assert isinstance(font, TTFont)
    face = font.face
    return Face(
        name=name,
        use=use,
        widths=dict(face.charWidths),
        default_width=float(face.defaultWidth),
        covers=frozenset(face.charToGlyph),
    )


def _bundled(role: str) -> Face:
    if role in ("body", "title"):
        path = resource_path(*BUNDLED_SERIF)
        faux = role == "title"
        label = "内置宋体（AR PL UMing）" + ("加粗描边" if faux else "")
        face = _register("bundled-serif", path, 0, FontUse(role, label, str(path), False, faux))
    else:
        path = resource_path(*BUNDLED_SANS)
        label = "内置黑体（Droid Sans Fallback）"
        face = _register("bundled-sans", path, 0, FontUse(role, label, str(path), False))
    if face is None:
        raise RuntimeError(f"bundled font {path} cannot be loaded")
    return face


def _with_use(face: Face, use: FontUse) -> Face:
    return Face(face.name, use, face.widths, face.default_width, face.covers)


def _system(role: str, candidates: Iterable[Candidate]) -> Face | None:
    files = _system_files()
    for c in candidates:
        path = files.get(c.file.lower())
        if path is None:
            continue
        key = f"{path.stem.lower()}-{c.index}"
        face = _register(key, path, c.index, FontUse(role, c.label, str(path), True, c.faux_bold))
        if face is not None:
            return _with_use(face, FontUse(role, c.label, str(path), True, c.faux_bold))
    return None


def font_set(prefer_system: bool | None = None) -> FontSet:
    """The faces documents are drawn with, loaded once per process."""
    if prefer_system is None:
        prefer_system = os.environ.get(ENV_BUNDLED, "").lower() != "bundled"
    return _font_set(prefer_system)


@lru_cache(maxsize=2)
def _font_set(prefer_system: bool) -> FontSet:
    with _LOCK:
        faces: dict[str, Face] = {}
        for role in ("body", "title", "heading"):
            found = _system(role, SYSTEM_CANDIDATES[role]) if prefer_system else None
            faces[role] = found or _bundled(role)
        sans = _bundled("heading")
        fallback = _with_use(sans, FontUse("fallback", sans.use.label, sans.use.path, False))
        return FontSet(faces["body"], faces["title"], faces["heading"], fallback)
