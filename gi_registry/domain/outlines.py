"""Text as vector outlines: a label sheet with no font in it, which any print shop's preflight accepts.

A PDF that names a font without embedding it (STSong-Light, even Helvetica) prints only where that font is
installed; a print shop's RIP often refuses it. Drawing each glyph as a filled path from a font on the
server removes the question. Each glyph becomes one Form XObject, drawn as often as the sheet needs it.
"""

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont

# Debian's packages, in order of preference: WenQuanYi Micro Hei (fonts-wqy-microhei) is small and
# covers GB 18030's common hanzi and Latin; Noto Sans CJK is the fallback.
KNOWN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)


def find_font(configured: str = "") -> str:
    """The font to outline text with: the configured path, else the first known one present, else ""."""
    if configured:
        return configured if Path(configured).is_file() else ""
    return next((path for path in KNOWN_FONTS if Path(path).is_file()), "")


class _PdfPen(BasePen):
    """Collects a glyph's contours as PDF path operators, in font units."""

    def __init__(self, glyph_set) -> None:
        super().__init__(glyph_set)
        self.ops: list[str] = []

    def _moveTo(self, pt) -> None:
        self.ops.append(f"{pt[0]:g} {pt[1]:g} m")

    def _lineTo(self, pt) -> None:
        self.ops.append(f"{pt[0]:g} {pt[1]:g} l")

    def _curveToOne(self, pt1, pt2, pt3) -> None:
        self.ops.append(" ".join(f"{x:g} {y:g}" for x, y in (pt1, pt2, pt3)) + " c")

    def _closePath(self) -> None:
        self.ops.append("h")


@dataclass(frozen=True)
class Glyph:
    gid: int  # the glyph's index in the font: names its XObject
    advance: int  # font units
    path: str  # PDF path operators in font units, empty for a space


class OutlineFont:
    """One face of a TrueType/OpenType file (a .ttc's first), read lazily."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._font = TTFont(path, fontNumber=0, lazy=True) if path.endswith((".ttc", ".otc")) else TTFont(path)
        head = self._font["head"]
        self.units_per_em = head.unitsPerEm
        self._cmap = self._font.getBestCmap()
        self._glyph_set = self._font.getGlyphSet()
        self._metrics = self._font["hmtx"].metrics
        self.bbox = (head.xMin, head.yMin, head.xMax, head.yMax)  # every glyph's Form XObject bounds

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - a few fonts per process, each kept for its life
    def glyph(self, char: str) -> Glyph:
        """The character's glyph; one the font lacks is its .notdef box, so the gap shows on the print."""
        name = self._cmap.get(ord(char), ".notdef")
        pen = _PdfPen(self._glyph_set)
        with self._lock:  # fontTools reads a lazy font's tables on first use, not safely from two threads
            self._glyph_set[name].draw(pen)
            gid = self._font.getGlyphID(name)
        return Glyph(gid=gid, advance=self._metrics[name][0], path="\n".join(pen.ops))

    def advance(self, text: str) -> float:
        """The text's width in em (1.0 = the font size)."""
        return sum(self.glyph(char).advance for char in text) / self.units_per_em


@functools.lru_cache(maxsize=4)
def load(path: str) -> OutlineFont | None:
    """The font at path, read once per process; None when there is none to read."""
    return OutlineFont(path) if path else None
