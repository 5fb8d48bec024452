"""QR matrices, PNG/SVG images and the streamed vector PDF label sheet; no database.

Speed: `qrcode` spends ~3 ms per symbol, mostly scoring the eight masks on lists
of booleans.  Here a symbol is one Python int (bit r*stride + c is the module at
row r, column c; a light guard column keeps rows apart), so a mask is one XOR
and the library's penalty rules become a few shifts, ANDs and bit counts.  The
library still supplies mode segmentation, version limits, RS block sizes, GF
tables and each version's function patterns and format bits, and the tests check
that every matrix equals the library's own.
"""

from __future__ import annotations

import bisect
import functools
import io
import math
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import compress, islice

import qrcode
import qrcode.base
import qrcode.constants
import qrcode.exceptions
import qrcode.util
from PIL import Image
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase._cidfontdata import CIDFontInfo
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

from .outlines import Glyph, OutlineFont

# ---------------------------------------------------------------- QR matrices

_ECL = qrcode.constants.ERROR_CORRECT_M
# Tables grow with version² × codewords; beyond this fall back to the library.
_FAST_MAX_VERSION = 10
_SEGMENT_MIN = 20  # qrcode.QRCode.add_data's default `optimize`
_MODE_NAMES = {
    qrcode.util.MODE_NUMBER: "numeric",
    qrcode.util.MODE_ALPHA_NUM: "alphanumeric",
    qrcode.util.MODE_8BIT_BYTE: "byte",
}
_ALNUM_INDEX = {char: index for index, char in enumerate(qrcode.util.ALPHA_NUM)}
_PAD_BYTES = b"\xec\x11" * 1500
_BIT_BYTES = bytes.maketrans(b"01", b"\x00\x01")
_DARK_RUN = re.compile("1+")


@dataclass(frozen=True)
class _Symbol:
    """Everything about one version that does not depend on the data."""

    version: int
    size: int
    stride: int
    blocks: tuple[tuple[int, int], ...]  # (data, ec) codewords per RS block
    weights: tuple[int, ...]  # 1 << position of each data bit, in placement order
    scoring: tuple[int, ...]  # per mask, as the library scores it: format bits light
    final: tuple[int, ...]  # per mask, with real format and version bits
    area: int  # every module of the symbol


@dataclass(frozen=True)
class QrInfo:
    version: int
    size: int
    modes: tuple[str, ...]


def _library_modules(version: int, mask: int, *, test: bool, codewords: list[int]) -> list:
    qr = qrcode.QRCode(version=version, error_correction=_ECL, mask_pattern=mask)
    qr.data_cache = codewords
    qr.makeImpl(test, mask)
    return qr.modules


def _flat(modules: list, stride: int) -> int:
    return sum(1 << (r * stride + c) for r, row in enumerate(modules) for c, dark in enumerate(row) if dark)


def _zigzag(size: int) -> Iterator[tuple[int, int]]:
    """Module positions in qrcode's map_data order (function patterns included)."""
    row, step = size - 1, -1
    for right in range(size - 1, 0, -2):
        col = right - 1 if right <= 6 else right
        while True:
            yield row, col
            yield row, col - 1
            row += step
            if not 0 <= row < size:
                row, step = row - step, -step
                break


@functools.cache
def _symbol(version: int) -> _Symbol:
    size, stride = version * 4 + 17, version * 4 + 18
    blocks = tuple((b.data_count, b.total_count - b.data_count) for b in qrcode.base.rs_blocks(version, _ECL))
    count = sum(data + ec for data, ec in blocks)

    def base(mask: int, *, test: bool, fill: int = 0) -> int:
        return _flat(_library_modules(version, mask, test=test, codewords=[fill] * count), stride)

    final = tuple(base(mask, test=False) for mask in range(8))
    # Modules that flip when every codeword bit flips are the codeword modules.
    data_area = final[0] ^ base(0, test=False, fill=0xFF)
    positions = (r * stride + c for r, c in _zigzag(size))
    weights = tuple(1 << p for p in positions if data_area >> p & 1)
    assert len(weights) == 8 * count
    area = sum(((1 << size) - 1) << (r * stride) for r in range(size))
    scoring = tuple(base(mask, test=True) for mask in range(8))
    return _Symbol(version, size, stride, blocks, weights, scoring, final, area)


def _payload_bits(segment: qrcode.util.QRData) -> int:
    count = len(segment.data)
    if segment.mode == qrcode.util.MODE_NUMBER:
        return 10 * (count // 3) + (0, 4, 7)[count % 3]
    if segment.mode == qrcode.util.MODE_ALPHA_NUM:
        return 11 * (count // 2) + 6 * (count % 2)
    return 8 * count


def _fit_version(segments: list) -> int:
    """The smallest version, chosen exactly as QRCode.best_fit does."""
    start = 1
    while True:
        sizes = qrcode.util.mode_sizes_for_version(start)
        needed = sum(4 + sizes[s.mode] + _payload_bits(s) for s in segments)
        version = bisect.bisect_left(qrcode.util.BIT_LIMIT_TABLE[_ECL], needed, start)
        if version == 41:
            raise qrcode.exceptions.DataOverflowError(f"{needed} bits do not fit a QR code")
        if qrcode.util.mode_sizes_for_version(version) is sizes:
            return version
        start = version


def _segment_value(segment: qrcode.util.QRData, version: int) -> tuple[int, int]:
    """The segment's bits as (value, bit count): mode, length, payload."""
    data, mode = segment.data, segment.mode
    count_bits = qrcode.util.length_in_bits(mode, version)
    value = mode << count_bits | len(data)
    if mode == qrcode.util.MODE_8BIT_BYTE:
        value = value << 8 * len(data) | int.from_bytes(data, "big")
    elif mode == qrcode.util.MODE_ALPHA_NUM:
        for i in range(0, len(data) - 1, 2):
            value = value << 11 | _ALNUM_INDEX[data[i]] * 45 + _ALNUM_INDEX[data[i + 1]]
        if len(data) % 2:
            value = value << 6 | _ALNUM_INDEX[data[-1]]
    else:
        for i in range(0, len(data), 3):
            chunk = data[i : i + 3]
            value = value << qrcode.util.NUMBER_LENGTH[len(chunk)] | int(chunk)
    return value, 4 + count_bits + _payload_bits(segment)


def _data_codewords(segments: list, version: int) -> bytes:
    """Segments, terminator, byte padding and pad codewords, as create_data does."""
    value = length = 0
    for segment in segments:
        bits, count = _segment_value(segment, version)
        value, length = value << count | bits, length + count
    limit = qrcode.util.BIT_LIMIT_TABLE[_ECL][version]
    tail = min(limit - length, 4)
    tail += -(length + tail) % 8
    value, length = value << tail, length + tail
    return value.to_bytes(length // 8, "big") + _PAD_BYTES[: (limit - length) // 8]


def _gf_mul(a: int, b: int) -> int:
    if not a or not b:
        return 0
    return qrcode.base.EXP_TABLE[(qrcode.base.LOG_TABLE[a] + qrcode.base.LOG_TABLE[b]) % 255]


@functools.cache
def _rs_table(ec: int) -> tuple[int, ...]:
    """For each feedback byte f, f × generator(x) without its leading 1, as an int."""
    generator = [1]
    for i in range(ec):
        # generator × (x + α^i), coefficients highest power first
        times_root = [_gf_mul(c, qrcode.base.gexp(i)) for c in generator]
        generator = [a ^ b for a, b in zip([*generator, 0], [0, *times_root], strict=True)]
    return tuple(int.from_bytes(bytes(_gf_mul(f, g) for g in generator[1:]), "big") for f in range(256))


def _ecc(block: bytes, ec: int) -> bytes:
    """Reed–Solomon remainder by a shift register held in one int."""
    table, top, keep = _rs_table(ec), 8 * (ec - 1), (1 << 8 * ec) - 1
    remainder = 0
    for byte in block:
        remainder = (remainder << 8 & keep) ^ table[remainder >> top ^ byte]
    return remainder.to_bytes(ec, "big")


def _interleave(chunks: list[bytes]) -> bytes:
    if len(chunks) == 1:
        return chunks[0]
    longest = max(map(len, chunks))
    return bytes(chunk[i] for i in range(longest) for chunk in chunks if i < len(chunk))


def _codewords(data: bytes, symbol: _Symbol) -> bytes:
    blocks, eccs, start = [], [], 0
    for count, ec in symbol.blocks:
        blocks.append(data[start : start + count])
        eccs.append(_ecc(blocks[-1], ec))
        start += count
    return _interleave(blocks) + _interleave(eccs)


def _place(codewords: bytes, symbol: _Symbol) -> int:
    """The dark codeword modules before masking."""
    bits = format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b")
    return sum(compress(symbol.weights, bits.encode().translate(_BIT_BYTES)))


def _runs_penalty(x: int, step: int) -> int:
    """Rule 1 for one colour and direction: each run of n ≥ 5 costs n − 2."""
    windows = x & x >> step & x >> 2 * step & x >> 3 * step & x >> 4 * step
    return windows.bit_count() + 2 * (windows & ~(windows << step)).bit_count()


def _finder_penalty(dark: int, light: int, step: int) -> int:
    """Rule 3: 1011101 with four light modules before or after, 40 each."""
    d = [dark >> step * i for i in range(11)]
    lt = [light >> step * i for i in range(11)]
    core = lt[1] & d[4] & lt[5] & d[6] & lt[9]
    before = core & d[0] & d[2] & d[3] & lt[7] & lt[8] & lt[10]
    after = core & lt[0] & lt[2] & lt[3] & d[7] & d[8] & d[10]
    return 40 * (before.bit_count() + after.bit_count())


def _penalty(dark: int, symbol: _Symbol) -> int:
    """qrcode.util.lost_point, on a bitboard; bits outside the symbol are neither colour."""
    stride, light = symbol.stride, symbol.area ^ dark
    score = 0
    for x in (dark, light):
        score += _runs_penalty(x, 1) + _runs_penalty(x, stride)
        score += 3 * (x & x >> 1 & x >> stride & x >> stride + 1).bit_count()
    score += _finder_penalty(dark, light, 1) + _finder_penalty(dark, light, stride)
    percent = float(dark.bit_count()) / (symbol.size**2)
    return score + int(abs(percent * 100 - 50) / 5) * 10


def _library_symbol(text: str) -> tuple[int, int, int]:
    qr = qrcode.QRCode(error_correction=_ECL, border=0)
    qr.add_data(text)
    qr.make()
    size = len(qr.modules)
    return _flat(qr.modules, size + 1), size, size + 1


def _encode(text: str) -> tuple[int, int, int]:
    """(bitboard, size, stride) of the QR symbol qrcode would make for text."""
    segments = list(qrcode.util.optimal_data_chunks(text, minimum=_SEGMENT_MIN))
    version = _fit_version(segments)
    if version > _FAST_MAX_VERSION:
        return _library_symbol(text)
    symbol = _symbol(version)
    placed = _place(_codewords(_data_codewords(segments, version), symbol), symbol)
    # min() keeps the first of equal scores, as QRCode.best_mask_pattern does.
    mask = min(range(8), key=lambda m: _penalty(symbol.scoring[m] ^ placed, symbol))
    return symbol.final[mask] ^ placed, symbol.size, symbol.stride


def _runs(board: int, stride: int) -> Iterator[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (row, column, length)."""
    for run in _DARK_RUN.finditer(format(board, "b")[::-1]):
        row, col = divmod(run.start(), stride)
        yield row, col, run.end() - run.start()


def qr_info(text: str) -> QrInfo:
    """Version, size and segment modes the encoder picks for text."""
    segments = list(qrcode.util.optimal_data_chunks(text, minimum=_SEGMENT_MIN))
    version = _fit_version(segments)
    return QrInfo(version, version * 4 + 17, tuple(_MODE_NAMES[s.mode] for s in segments))


def qr_matrix(text: str) -> list[list[bool]]:
    """Modules of text's QR code (level M, no border), True for dark."""
    board, size, stride = _encode(text)
    bits = format(board, f"0{size * stride}b")[::-1]
    return [[bit == "1" for bit in bits[r * stride : r * stride + size]] for r in range(size)]


def qr_png(text: str, *, box_size: int = 10, border: int = 4) -> bytes:
    """A 1-bit PNG with box_size pixels per module and a border of light modules."""
    matrix = qr_matrix(text)
    side = len(matrix) + 2 * border
    pixels = bytearray(b"\xff" * side * side)
    for r, row in enumerate(matrix):
        start = (r + border) * side + border
        pixels[start : start + len(row)] = bytes(0 if dark else 255 for dark in row)
    image = Image.frombytes("L", (side, side), bytes(pixels))
    image = image.resize((side * box_size,) * 2, Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.convert("1", dither=Image.Dither.NONE).save(out, format="PNG")
    return out.getvalue()


def qr_svg(text: str, *, border: int = 4) -> str:
    """An SVG in module units: one path of merged horizontal runs."""
    board, size, stride = _encode(text)
    side = size + 2 * border
    path = "".join(f"M{c + border} {r + border}h{n}v1h-{n}z" for r, c, n in _runs(board, stride))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" '
        f'shape-rendering="crispEdges"><rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/></svg>'
    )


# ---------------------------------------------------------------- label grids

A4_MM = (210.0, 297.0)
PT_PER_MM = 72 / 25.4
DOT_MM = 25.4 / 300  # modules are whole 300 dpi dots, so they print evenly
QUIET_MODULES = 4
QR_MAX_MM = 15.0


@dataclass(frozen=True)
class LabelGrid:
    """A sheet of labels on A4, in mm from the sheet's top-left corner."""

    description: str
    cols: int
    rows: int
    width: float
    height: float
    left: float
    top: float
    pitch_x: float
    pitch_y: float
    # Extra clearance inside each label, for sheets whose labels reach the paper
    # edge where most printers cannot print.
    pad: float = 0.0
    qr_max: float = QR_MAX_MM

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    def origin(self, slot: int) -> tuple[float, float]:
        """Top-left corner of the label in slot 0..per_page-1, row by row."""
        row, col = divmod(slot, self.cols)
        return self.left + col * self.pitch_x, self.top + row * self.pitch_y

    def fits(self, page: tuple[float, float] = A4_MM) -> bool:
        right, bottom = self.origin(self.per_page - 1)
        return right + self.width <= page[0] + 1e-6 and bottom + self.height <= page[1] + 1e-6


GRIDS: dict[str, LabelGrid] = {
    # Avery L7651 (= Label Planet LP65/38): margins 10.7 / 4.75 mm, pitch 40.6 × 21.2.
    "a4-65": LabelGrid("5 × 13, 38.1 × 21.2 mm (Avery L7651)", 5, 13, 38.1, 21.2, 4.75, 10.7, 40.6, 21.2),
    # Avery Zweckform 3657: no gaps, margins 21.5 / 8 mm.
    "a4-40": LabelGrid("4 × 10, 48.5 × 25.4 mm (Avery Zweckform 3657)", 4, 10, 48.5, 25.4, 8.0, 21.5, 48.5, 25.4),
    # Avery Zweckform 3474: edge to edge, 0.5 mm top and bottom; pad keeps print off the paper edge.
    "a4-24": LabelGrid("3 × 8, 70 × 37 mm (Avery Zweckform 3474)", 3, 8, 70.0, 37.0, 0.0, 0.5, 70.0, 37.0, pad=5.0),
    # Avery L7159 (= Label Planet LP24/63): margins 12.9 / 7.25 mm, pitch 66 × 33.9.
    "a4-24-l7159": LabelGrid("3 × 8, 63.5 × 33.9 mm (Avery L7159)", 3, 8, 63.5, 33.9, 7.25, 12.9, 66.0, 33.9),
}


def module_mm(grid: LabelGrid, size: int) -> float:
    """The largest whole-dot module keeping the code ≤ qr_max and its quiet zone on the label."""
    limit = min(grid.qr_max / size, grid.height / (size + 2 * QUIET_MODULES))
    dots = math.floor(limit / DOT_MM + 1e-9)
    if dots < 1:
        raise ValueError(f"a {size}-module QR code does not fit a {grid.height} mm label")
    return dots * DOT_MM


# ---------------------------------------------------------------- label text

MIN_FONT_PT = 4.5
_HELVETICA = "F1"
_SONG = "F2"
_SONG_METRICS = UnicodeCIDFont("STSong-Light")


@dataclass(frozen=True, slots=True)
class Label:
    url: str
    product_name: str
    batch_no: str
    serial: int  # 0 is the batch-level code
    mark: str = ""  # the words of the GI mark area, e.g. 地理标志产品; none, no frame


def _font(text: str) -> str:
    # Helvetica's WinAnsi covers ASCII; anything else goes to the Chinese CID font.
    return _HELVETICA if text.isascii() else _SONG


@functools.lru_cache(maxsize=4096)
def _unit_width(text: str, outline: OutlineFont | None = None) -> float:
    """Width in points at 1 pt, as the text will be drawn: in the outline font, else in its named font."""
    if outline is not None:
        return outline.advance(text)
    if _font(text) == _HELVETICA:
        return pdfmetrics.stringWidth(text, "Helvetica", 1)
    return _SONG_METRICS.stringWidth(text, 1)


@functools.lru_cache(maxsize=4096)
def _fit_text(text: str, size: float, width: float, outline: OutlineFont | None = None) -> tuple[str, float]:
    """Shrink to fit width (points), down to MIN_FONT_PT, then cut with an ellipsis."""
    unit = _unit_width(text, outline)
    if unit * size <= width:
        return text, size
    if unit * MIN_FONT_PT <= width:
        return text, width / unit
    ellipsis = "..." if _font(text) == _HELVETICA else "…"
    while text and _unit_width(text + ellipsis, outline) * MIN_FONT_PT > width:
        text = text[:-1]
    return text + ellipsis, MIN_FONT_PT


def _pdf_string(text: str) -> str:
    """A hex string, so no character ever needs escaping."""
    if _font(text) == _HELVETICA:
        return "<" + text.encode("ascii").hex() + ">"
    # "replace": a lone surrogate (say from a JSON escape) prints as "?" rather than failing.
    return "<" + text.encode("utf-16-be", "replace").hex() + ">"


MARK_PAD = 1.2  # points between the GI mark's words and its frame


def _label_lines(label: Label) -> list[tuple[str, float, bool]]:
    """(text, relative size, framed) of the lines beside the code; the GI mark's line is the framed one."""
    serial = "批次码" if label.serial == 0 else f"No. {label.serial:06d}"
    return [
        (label.product_name, 1.0, False),
        (label.mark, 0.7, True),
        (label.batch_no, 0.85, False),
        (serial, 0.85, False),
    ]


def _text_ops(label: Label, *, left: float, middle: float, width: float, base: float, glyphs: _Glyphs | None) -> str:
    """The lines beside the code, centred vertically on middle; all in points.

    With glyphs (an outline font) each line is drawn as glyph outlines, else as text in named fonts.
    The GI mark area is the mark's words in a thin frame, the space a licensee's printer fills."""
    outline = glyphs.font if glyphs else None
    lines = []
    for text, scale, framed in _label_lines(label):
        text, size = _fit_text(text, base * scale, width - 2 * MARK_PAD if framed else width, outline)
        if text:
            lines.append((text, size, framed))
    ops = []
    for text, size, framed, baseline in line_layout(lines, middle=middle):
        x = left + MARK_PAD if framed else left
        ops.append(
            glyphs.line(text, size=size, x=x, y=baseline) if glyphs else _named_font_line(text, size, x, baseline)
        )
        if framed:
            wide = _unit_width(text, outline) * size + 2 * MARK_PAD
            bottom, top = mark_frame(size=size, baseline=baseline)
            ops.append(f"q 0.4 w {left:.2f} {bottom:.2f} {wide:.2f} {top - bottom:.2f} re S Q\n")
    return "".join(ops)


def line_layout(lines: list[tuple[str, float, bool]], *, middle: float) -> list[tuple[str, float, bool, float]]:
    """Each line (text, size, framed) with its baseline, the block centred on middle.

    A line rises 0.85 of its size above its baseline and drops 0.4 below (with the leading), so the step
    from one baseline to the next takes both sizes: a name shrunk to fit, then the larger mark, stay apart.
    The framed line has a pad above and below, so its frame touches neither neighbour."""
    height = sum(size * 1.25 + (2 * MARK_PAD if framed else 0) for _, size, framed in lines)
    baseline = middle + height / 2 - (lines[0][1] * 0.85 if lines else 0)
    placed = []
    for index, (text, size, framed) in enumerate(lines):
        if framed and index:
            baseline -= MARK_PAD
        placed.append((text, size, framed, baseline))
        if framed:
            baseline -= MARK_PAD
        following = lines[index + 1][1] if index + 1 < len(lines) else size
        baseline -= size * 0.4 + following * 0.85
    return placed


def mark_frame(*, size: float, baseline: float) -> tuple[float, float]:
    """The bottom and top of the frame around the GI mark's words."""
    bottom = baseline - size * 0.22 - MARK_PAD / 2
    return bottom, bottom + size * 1.1 + MARK_PAD


def _named_font_line(text: str, size: float, x: float, y: float) -> str:
    return f"BT /{_font(text)} {size:.2f} Tf {x:.2f} {y:.2f} Td {_pdf_string(text)} Tj ET\n"


class _Glyphs:
    """A sheet's outlined text: one Form XObject per glyph used, numbered as the pages first need them."""

    def __init__(self, font: OutlineFont, writer: _PdfWriter) -> None:
        self.font, self.writer = font, writer
        self.objects: dict[int, int] = {}  # glyph id → object number
        self.pending: list[Glyph] = []  # used on the page being made, not yet written

    def line(self, text: str, *, size: float, x: float, y: float) -> str:
        """One line as glyph XObjects; ActualText keeps it searchable and copyable."""
        draws, used = _glyph_run(text, self.font)
        for glyph in used:
            if glyph.gid not in self.objects:
                self.objects[glyph.gid] = self.writer.reserve()
                self.pending.append(glyph)
        scale = size / self.font.units_per_em
        actual = "<feff" + text.encode("utf-16-be", "replace").hex() + ">"
        return f"/Span << /ActualText {actual} >> BDC q {scale:.6f} 0 0 {scale:.6f} {x:.2f} {y:.2f} cm {draws} Q EMC\n"

    def written(self) -> bytes:
        """The glyphs the last page introduced, as objects."""
        chunks = [
            self.writer.stream(self.objects[g.gid], g.path.encode() + b"\nf", form=self.font.bbox) for g in self.pending
        ]
        self.pending.clear()
        return b"".join(chunks)

    def resources(self) -> str:
        return " ".join(f"/G{gid} {number} 0 R" for gid, number in self.objects.items())


@functools.lru_cache(maxsize=4096)
def _glyph_run(text: str, font: OutlineFont) -> tuple[str, tuple[Glyph, ...]]:
    """The Do and move operators of a line in font units, and the glyphs with an outline it draws."""
    ops, used = [], []
    for char in text:
        glyph = font.glyph(char)
        if glyph.path:  # a space has none: it only moves on
            ops.append(f"/G{glyph.gid} Do")
            used.append(glyph)
        ops.append(f"1 0 0 1 {glyph.advance} 0 cm")
    return " ".join(ops), tuple(used)


# ---------------------------------------------------------------- PDF sheet


def _dots(mm: float) -> int:
    return round(mm / DOT_MM)


class _RunRects(dict):
    """Span of a run in the bitboard string → its `re` operator, filled on first use.

    User space is transposed (x = row, y = column), so the text depends on the
    span alone and a sheet's thousands of runs are formatted by C-level lookups.
    """

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def __missing__(self, span: tuple[int, int]) -> str:
        row, col = divmod(span[0], self.stride)
        text = self[span] = f"{row} {col} 1 {span[1] - span[0]} re\n"
        return text


@functools.lru_cache(maxsize=8)
def _run_rects(stride: int) -> _RunRects:
    return _RunRects(stride)


def _qr_ops(board: int, stride: int, *, x: float, y: float, module: float) -> str:
    """The code as one filled path of run rectangles, in module units via cm."""
    spans = map(re.Match.span, _DARK_RUN.finditer(format(board, "b")[::-1]))
    rects = "".join(map(_run_rects(stride).__getitem__, spans))
    # Maps (row, column) to (x + column·m, y − row·m): rows run down the page.
    return f"q 0 {-module:.4f} {module:.4f} 0 {x:.2f} {y:.2f} cm\n{rects}f\nQ\n"


def _label_ops(label: Label, grid: LabelGrid, slot: int, *, cut_guides: bool, glyphs: _Glyphs | None) -> str:
    """Content operators of one label; mm are converted to points, y up."""
    board, size, stride = _encode(label.url)
    left, top = grid.origin(slot)
    module = module_mm(grid, size)
    quiet, code = QUIET_MODULES * module, size * module
    # Whole dots from the sheet's top-left, so modules land on the 300 dpi grid.
    qr_left = _dots(left + max(quiet, grid.pad)) * DOT_MM
    qr_top = _dots(top + (grid.height - code) / 2) * DOT_MM
    page_h = A4_MM[1] * PT_PER_MM
    ops = [_qr_ops(board, stride, x=qr_left * PT_PER_MM, y=page_h - qr_top * PT_PER_MM, module=module * PT_PER_MM)]
    text_left = qr_left + code + quiet
    text_width = left + grid.width - max(1.5, grid.pad) - text_left
    middle = page_h - (top + grid.height / 2) * PT_PER_MM
    base = min(11.0, max(5.5, grid.height * 0.3))
    ops.append(
        _text_ops(
            label, left=text_left * PT_PER_MM, middle=middle, width=text_width * PT_PER_MM, base=base, glyphs=glyphs
        )
    )
    if cut_guides:
        x, y = left * PT_PER_MM, page_h - (top + grid.height) * PT_PER_MM
        w, h = grid.width * PT_PER_MM, grid.height * PT_PER_MM
        ops.append(f"q 0.8 G 0.2 w {x:.2f} {y:.2f} {w:.2f} {h:.2f} re S Q\n")
    return "".join(ops)


def _page_content(labels: list[Label], grid: LabelGrid, *, cut_guides: bool, glyphs: _Glyphs | None) -> bytes:
    ops = [_label_ops(label, grid, slot, cut_guides=cut_guides, glyphs=glyphs) for slot, label in enumerate(labels)]
    return "".join(ops).encode("ascii")


def _pdf_value(value: object) -> str:
    """reportlab's CID font dictionaries in PDF syntax: names and strings pass as is."""
    if isinstance(value, dict):
        return "<< " + " ".join(f"/{k} {_pdf_value(v)}" for k, v in value.items()) + " >>"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_pdf_value(v) for v in value) + "]"
    return str(value)


def _song_objects() -> tuple[bytes, bytes, bytes]:
    """Type0 font, CIDFont and descriptor of the non-embedded STSong-Light."""
    cid = CIDFontInfo["STSong-Light"]["DescendantFonts"][0]
    # FontName must equal BaseFont (PDF 32000 9.8.1); reportlab writes STSongStd-Light.
    descriptor = {**cid["FontDescriptor"], "FontName": "/STSong-Light"}
    type0 = (
        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light"
        f" /Encoding /UniGB-UTF16-H /DescendantFonts [{_CIDFONT} 0 R] >>"
    )
    cidfont = (
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light"
        " /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >>"
        f" /FontDescriptor {_DESCRIPTOR} 0 R /DW {cid['DW']} /W {_pdf_value(cid['W'])} >>"
    )
    return type0.encode(), cidfont.encode(), _pdf_value(descriptor).encode()


# Fixed object numbers; pages follow from _FIRST_FREE.
_CATALOG, _PAGES, _RESOURCES, _HELV, _TYPE0, _CIDFONT, _DESCRIPTOR, _INFO = range(1, 9)
_FIRST_FREE = 9
_MEDIA_BOX = f"[0 0 {A4_MM[0] * PT_PER_MM:.2f} {A4_MM[1] * PT_PER_MM:.2f}]"


def _fixed_objects(title: str, *, named_fonts: bool) -> Iterator[tuple[int, bytes]]:
    yield _CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % _PAGES
    if named_fonts:
        fonts = f"<< /{_HELVETICA} {_HELV} 0 R /{_SONG} {_TYPE0} 0 R >>"
        yield _RESOURCES, f"<< /Font {fonts} /ProcSet [/PDF /Text] >>".encode()
        yield _HELV, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
        yield from zip((_TYPE0, _CIDFONT, _DESCRIPTOR), _song_objects(), strict=True)
    info = "<< /Producer (gi-registry)"
    if title:
        info += " /Title <feff" + title.encode("utf-16-be", "replace").hex() + ">"
    yield _INFO, (info + " >>").encode()


class _PdfWriter:
    """Numbers and writes objects as they come, keeping offsets for the xref table."""

    def __init__(self) -> None:
        self.offsets: dict[int, int] = {}
        self.position = 0
        self.next_id = _FIRST_FREE

    def reserve(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def emit(self, chunk: bytes) -> bytes:
        self.position += len(chunk)
        return chunk

    def object(self, number: int, body: bytes) -> bytes:
        self.offsets[number] = self.position
        return self.emit(b"%d 0 obj\n%b\nendobj\n" % (number, body))

    def stream(self, number: int, data: bytes, *, form: tuple | None = None) -> bytes:
        # Level 5 costs half of level 6's time for ~15% more bytes on QR paths.
        packed = zlib.compress(data, 5)
        kind = b"/Type /XObject /Subtype /Form /BBox [%d %d %d %d] " % form if form else b""
        head = b"<< %b/Length %d /Filter /FlateDecode >>\nstream\n" % (kind, len(packed))
        return self.object(number, head + packed + b"\nendstream")

    def trailer(self) -> bytes:
        size = self.next_id
        # Numbers never written (the named fonts of an outlined sheet) are free, linked as the xref wants.
        free = [n for n in range(1, size) if n not in self.offsets]
        next_free = dict(zip([0, *free], [*free, 0], strict=True))
        rows = [
            b"%010d 00000 n \n" % self.offsets[n] if n in self.offsets else b"%010d 00001 f \n" % next_free[n]
            for n in range(1, size)
        ]
        xref = b"xref\n0 %d\n%010d 65535 f \n%b" % (size, next_free[0], b"".join(rows))
        tail = b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        return xref + tail % (size, _CATALOG, _INFO, self.position)


def _chunked(labels: Iterable[Label], size: int) -> Iterator[list[Label]]:
    iterator = iter(labels)
    while page := list(islice(iterator, size)):
        yield page


def _page_objects(writer: _PdfWriter, content: bytes, kids: list[int]) -> bytes:
    """A page's content stream and page dictionary; records the page in kids."""
    content_id, page_id = writer.reserve(), writer.reserve()
    kids.append(page_id)
    head = f"<< /Type /Page /Parent {_PAGES} 0 R /MediaBox {_MEDIA_BOX} /Resources {_RESOURCES} 0 R"
    page = f"{head} /Contents {content_id} 0 R >>".encode()
    return writer.stream(content_id, content) + writer.object(page_id, page)


def _sheet(
    labels: Iterable[Label], grid: LabelGrid, title: str, cut_guides: bool, font: OutlineFont | None
) -> Iterator[bytes]:
    writer = _PdfWriter()
    glyphs = _Glyphs(font, writer) if font else None
    yield writer.emit(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    for number, body in _fixed_objects(title, named_fonts=glyphs is None):
        yield writer.object(number, body)
    kids: list[int] = []
    for page in _chunked(labels, grid.per_page):
        content = _page_content(page, grid, cut_guides=cut_guides, glyphs=glyphs)
        yield (glyphs.written() if glyphs else b"") + _page_objects(writer, content, kids)
    if glyphs is not None:
        # The page dictionaries name this object; it lists every glyph once the last page is made.
        yield writer.object(_RESOURCES, f"<< /XObject << {glyphs.resources()} >> /ProcSet [/PDF] >>".encode())
    if not kids:
        # A sheet without labels still gets a blank page: a PDF needs at least one.
        yield _page_objects(writer, b"", kids)
    kids_refs = " ".join(f"{kid} 0 R" for kid in kids)
    yield writer.object(_PAGES, f"<< /Type /Pages /Kids [{kids_refs}] /Count {len(kids)} >>".encode())
    yield writer.trailer()


def label_sheet_pdf(
    labels: Iterable[Label],
    *,
    grid: str = "a4-65",
    title: str = "",
    cut_guides: bool = False,
    font: OutlineFont | None = None,
) -> Iterator[bytes]:
    """A vector A4 label sheet, streamed as byte chunks, one per page.

    Labels are read lazily, a page at a time; no labels give one blank page. With an outline font the
    text is drawn as glyph outlines and the sheet holds no font at all (what print shops ask for);
    without one it names Helvetica and STSong-Light, which the printing machine must have.
    """
    if grid not in GRIDS:
        raise ValueError(f"unknown label grid {grid!r}; choose one of {', '.join(GRIDS)}")
    # Checked here, not in the generator, so a bad grid fails before any byte is sent.
    return _sheet(labels, GRIDS[grid], title, cut_guides, font)
