"""QR matrices, PNG/SVG and the streamed PDF label sheet (no Flask, no database)."""

import io
import itertools
import math
import random
import re
import shutil
import string
import subprocess
import types
import xml.etree.ElementTree as ET
import zlib

import pytest
import qrcode
import zxingcpp
from PIL import Image

from gi_registry.domain import outlines
from gi_registry.domain.codes import CodeKeys, code_url, sign_code
from gi_registry.domain.labels import (
    A4_MM,
    GRIDS,
    MIN_FONT_PT,
    QUIET_MODULES,
    Label,
    label_sheet_pdf,
    line_layout,
    mark_frame,
    module_mm,
    qr_info,
    qr_matrix,
    qr_png,
    qr_svg,
)

KEYS = CodeKeys.from_setting("label-test-secret-0123456789")
LOCAL = "http://127.0.0.1:5000"
PUBLIC = "https://gi.ziyang.gov.cn"


def url(serial: int, *, base: str = LOCAL, batch_id: int = 1234) -> str:
    return code_url(base, sign_code(keys=KEYS, batch_id=batch_id, serial=serial))


def labels(count: int, *, base: str = LOCAL) -> list[Label]:
    return [Label(url(s, base=base), "安岳柠檬", "AY-2026-000123", s, mark="地理标志产品") for s in range(count)]


def library_matrix(text: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(text)
    qr.make()
    return qr.get_matrix()


def poppler(*args: str) -> subprocess.CompletedProcess:
    if shutil.which(args[0]) is None:
        pytest.fail(f"{args[0]} is missing: install Debian's poppler-utils")
    return subprocess.run(args, capture_output=True, text=True, check=True)


def write_pdf(path, chunks) -> None:
    with open(path, "wb") as out:
        for chunk in chunks:
            out.write(chunk)


# ---------------------------------------------------------------- matrices


@pytest.mark.parametrize(
    "text",
    [
        "",
        "A",
        "0123456789" * 5,
        url(0),
        url(99_999, base=PUBLIC, batch_id=2**24 - 1),
        "https://gi.ziyang.gov.cn/q/abc?lang=en",
        "安岳柠檬 资阳",
        "HTTP://X/" + "9" * 40 + "ABC",  # numeric and alphanumeric segments
        "x" * 300,  # beyond the fast path's versions
    ],
)
def test_matrix_is_the_qrcode_librarys(text):
    assert qr_matrix(text) == library_matrix(text)


def test_random_matrices_are_the_qrcode_librarys():
    rng = random.Random(7)
    alphabets = [string.ascii_uppercase + string.digits + "/:.", string.printable, "0123456789"]
    for _ in range(150):
        alphabet = rng.choice(alphabets)
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 180)))
        assert qr_matrix(text) == library_matrix(text), text


@pytest.mark.parametrize("base", [LOCAL, PUBLIC])
def test_typical_url_is_a_small_alphanumeric_symbol(base):
    text = url(123_456, base=base, batch_id=2**24 - 1)
    info = qr_info(text)
    assert info.modes == ("alphanumeric",)
    assert info.version == 3
    assert len(qr_matrix(text)) == info.size == 29


def test_mixed_case_url_falls_back_to_byte_mode():
    assert "byte" in qr_info("https://gi.ziyang.gov.cn/q/abcdefghijklmnopqrstu").modes


# ---------------------------------------------------------------- PNG and SVG


def test_png_decodes_to_the_url():
    text = url(5)
    png = qr_png(text, box_size=4, border=4)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == ((len(qr_matrix(text)) + 8) * 4,) * 2
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [text]


def test_svg_is_one_path_of_the_dark_modules():
    text = url(6)
    svg = qr_svg(text, border=4)
    root = ET.fromstring(svg)
    size = len(qr_matrix(text))
    assert root.get("viewBox") == f"0 0 {size + 8} {size + 8}"
    assert root.get("shape-rendering") == "crispEdges"
    paths = root.findall("{http://www.w3.org/2000/svg}path")
    assert len(paths) == 1
    drawn = set()
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", paths[0].get("d")):
        drawn |= {(int(y) - 4, int(x) - 4 + i) for i in range(int(width))}
    dark = {(r, c) for r, row in enumerate(qr_matrix(text)) for c, on in enumerate(row) if on}
    assert drawn == dark


# ---------------------------------------------------------------- grids


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_grid_fits_a4(name):
    grid = GRIDS[name]
    assert grid.fits(A4_MM)
    assert grid.left >= 0 and grid.top >= 0
    assert grid.pitch_x >= grid.width and grid.pitch_y >= grid.height


@pytest.mark.parametrize("name", sorted(GRIDS))
@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
def test_grid_code_is_at_most_15_mm_and_its_quiet_zone_fits(name, version):
    grid, size = GRIDS[name], 17 + 4 * version
    module = module_mm(grid, size)
    assert size * module <= 15.0
    assert (size + 2 * QUIET_MODULES) * module <= grid.height
    # Room is left beside the code for the text.
    assert grid.width - max(QUIET_MODULES * module, grid.pad) - (size + QUIET_MODULES) * module >= 15


def test_a_typical_code_is_printed_near_15_mm():
    module = module_mm(GRIDS["a4-65"], 29)
    assert 14.0 <= 29 * module <= 15.0


# ---------------------------------------------------------------- PDF


def test_sheet_is_a_generator_of_pdf_bytes():
    sheet = label_sheet_pdf(labels(3))
    assert isinstance(sheet, types.GeneratorType)
    data = b"".join(sheet)
    assert data.startswith(b"%PDF-1.4\n")
    assert data.endswith(b"%%EOF\n")


def test_xref_offsets_point_at_their_objects():
    data = b"".join(label_sheet_pdf(labels(70), title="AY-2026-000123"))
    start = int(data.rsplit(b"startxref\n", 1)[1].split()[0])
    table = data[start:].split(b"trailer")[0].split(b"\n")
    count = int(table[1].split()[1])
    for number, row in enumerate(table[3 : 2 + count], start=1):
        offset = int(row[:10])
        assert data[offset:].startswith(b"%d 0 obj\n" % number)


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_pdfinfo_counts_the_pages(tmp_path, name):
    per_page = GRIDS[name].per_page
    path = tmp_path / "sheet.pdf"
    write_pdf(path, label_sheet_pdf(labels(per_page + 1), grid=name, title="安岳柠檬"))
    info = poppler("pdfinfo", str(path))
    assert re.search(r"^Pages:\s+2$", info.stdout, re.M)
    assert "A4" in info.stdout
    assert "安岳柠檬" in info.stdout
    assert info.stderr == ""


def test_empty_sheet_is_one_blank_page(tmp_path):
    path = tmp_path / "empty.pdf"
    write_pdf(path, label_sheet_pdf([]))
    assert re.search(r"^Pages:\s+1$", poppler("pdfinfo", str(path)).stdout, re.M)


def test_unknown_grid_fails_before_streaming():
    with pytest.raises(ValueError, match="a4-65"):
        label_sheet_pdf([], grid="letter-30")


def test_sheet_streams_without_reading_all_labels():
    endless = (Label(url(s), "安岳柠檬", "AY-1", s) for s in itertools.count(1))
    sheet = label_sheet_pdf(endless, grid="a4-24")
    chunks = list(itertools.islice(sheet, 12))
    assert chunks[0].startswith(b"%PDF")
    assert sum(b"/Type /Page " in chunk for chunk in chunks) >= 4


def test_text_is_extractable(tmp_path):
    path = tmp_path / "sheet.pdf"
    sheet = labels(3) + [Label(url(9), "资阳" * 30, "ZY-(2026)\\<>", 9)]
    write_pdf(path, label_sheet_pdf(sheet, grid="a4-40", cut_guides=True))
    text = poppler("pdftotext", str(path), "-").stdout
    for expected in ("安岳柠檬", "地理标志产品", "AY-2026-000123", "批次码", "No. 000001", "No. 000002"):
        assert expected in text
    for expected in ("ZY-(2026)\\<>",):
        assert expected in text
    # A name too long for the label is cut, not spilled over the next label.
    assert "资阳资阳…" in text and "资阳" * 30 not in text


def test_renders_without_errors(tmp_path):
    path = tmp_path / "sheet.pdf"
    write_pdf(path, label_sheet_pdf(labels(10), cut_guides=True))
    result = poppler("pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / "page"))
    assert result.stderr == ""
    assert math.isclose(Image.open(tmp_path / "page-1.png").size[0], 210 / 25.4 * 50, abs_tol=1)


# ---------------------------------------------------------------- outlined text


@pytest.fixture(scope="module")
def font():
    path = outlines.find_font()
    if not path:
        pytest.fail("no CJK outline font: install Debian's fonts-wqy-microhei (make system-deps)")
    return outlines.load(path)


def content_streams(data: bytes) -> str:
    """Every stream of the file, inflated, as text."""
    streams = re.findall(rb"stream\n(.*?)\nendstream", data, re.S)
    return "\n".join(zlib.decompress(stream).decode("latin-1") for stream in streams)


def test_an_outlined_sheet_holds_no_font_at_all(tmp_path, font):
    path = tmp_path / "sheet.pdf"
    write_pdf(path, label_sheet_pdf(labels(3), grid="a4-40", font=font))
    listed = poppler("pdffonts", str(path)).stdout.strip().splitlines()
    assert len(listed) == 2  # the header lines only: nothing for a print shop's preflight to miss
    assert b"/Font" not in path.read_bytes()
    result = poppler("pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / "page"))
    assert result.stderr == ""


def test_outlined_text_keeps_its_words_as_actualtext(font):
    sheet = labels(2) + [Label(url(9), "资阳" * 30, "ZY-(2026)\\<>", 9)]
    content = content_streams(b"".join(label_sheet_pdf(sheet, grid="a4-40", font=font)))
    spans = {bytes.fromhex(hex_).decode("utf-16-be") for hex_ in re.findall(r"/ActualText <feff([0-9a-f]*)>", content)}
    assert {"安岳柠檬", "地理标志产品", "AY-2026-000123", "批次码", "No. 000001", "ZY-(2026)\\<>"} <= spans
    # Cut to the label with an ellipsis, measured with the outline font's own widths.
    assert any(span.startswith("资阳资阳") and span.endswith("…") for span in spans)


def test_each_glyph_is_drawn_from_one_object_however_often_it_is_used(font):
    data = b"".join(label_sheet_pdf(labels(130), grid="a4-65", font=font))
    forms = data.count(b"/Subtype /Form")
    # 安岳柠檬, 批次码, the batch number's and serials' characters: a few dozen, not one per label.
    assert 20 <= forms <= 60
    assert content_streams(data).count("/G") > 130 * 10


def test_a_character_the_font_lacks_prints_as_its_box_not_an_error(font):
    assert font.glyph("\U0001f34b").gid == 0  # .notdef
    b"".join(label_sheet_pdf([Label(url(1), "柠檬\U0001f34b", "AY-1", 1)], font=font))


def test_an_outlined_sheets_xref_points_at_its_objects_and_lists_the_unused_numbers_free(font):
    data = b"".join(label_sheet_pdf(labels(70), font=font))
    start = int(data.rsplit(b"startxref\n", 1)[1].split()[0])
    table = data[start:].split(b"trailer")[0].split(b"\n")
    count = int(table[1].split()[1])
    rows = table[2 : 2 + count]
    free = [number for number, row in enumerate(rows) if row.endswith(b"f ")]
    assert free[0] == 0 and len(free) > 1  # the named fonts' numbers, unused
    # The free list is linked: each free row names the next free number, the last names 0.
    assert [int(rows[n][:10]) for n in free] == [*free[1:], 0]
    for number, row in enumerate(rows):
        if number not in free:
            assert data[int(row[:10]) :].startswith(b"%d 0 obj\n" % number)


def test_a_configured_font_that_is_missing_means_named_fonts():
    assert outlines.find_font("/nowhere/font.ttf") == ""
    assert outlines.load("") is None


@pytest.mark.parametrize("outlined", [True, False], ids=["outlined-text", "named-fonts"])
def test_the_gi_mark_area_is_framed_and_only_where_there_is_a_mark(font, outlined):
    chosen = font if outlined else None
    framed = content_streams(b"".join(label_sheet_pdf(labels(3), grid="a4-40", font=chosen)))
    assert framed.count("0.4 w") == 3  # one frame per label
    plain = [Label(url(1), "安岳柠檬", "AY-2026-000123", 1)]
    assert "0.4 w" not in content_streams(b"".join(label_sheet_pdf(plain, grid="a4-40", font=chosen)))


@pytest.mark.parametrize("name_size", [MIN_FONT_PT, 6.0, 8.0])
def test_a_name_shrunk_to_fit_keeps_clear_of_the_framed_mark_below_it(name_size):
    """A long product name is set small; the larger mark's frame must not rise into it."""
    lines = [
        ("安岳县传统手工酿造柠檬", name_size, False),
        ("地理标志证明商标", 5.6, True),
        ("AY-2026-000001", 6.8, False),
    ]
    placed = line_layout(lines, middle=50.0)

    def extent(text, size, framed, baseline):  # bottom and top of what a line puts on paper
        return mark_frame(size=size, baseline=baseline) if framed else (baseline - size * 0.22, baseline + size * 0.85)

    boxes = [extent(*line) for line in placed]
    for (upper_bottom, _), (_, lower_top) in itertools.pairwise(boxes):
        assert lower_top < upper_bottom
    assert abs((boxes[0][1] + boxes[-1][0]) / 2 - 50.0) < 2.0  # the block stays centred beside the code
