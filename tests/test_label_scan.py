"""Print check: render label sheets at 300 dpi and scan every code back.

Needs poppler-utils (pdftoppm), which the project installs; a missing tool is a
failure, not a skip, so a broken print path cannot pass unnoticed.
"""

import math
import shutil
import subprocess

import pytest
import zxingcpp
from PIL import Image

from gi_registry.domain import outlines
from gi_registry.domain.codes import CodeKeys, code_url, sign_code
from gi_registry.domain.labels import GRIDS, Label, label_sheet_pdf

DPI = 300
MM_PER_PX = 25.4 / DPI
KEYS = CodeKeys.from_setting("scan-test-secret-0123456789")
BASES = ["http://127.0.0.1:5000", "https://gi.ziyang.gov.cn"]


MARK = "地理标志产品"  # the GI mark area: a framed line beside the code must not disturb the decoder


def sheet_labels(grid: str, base: str) -> list[Label]:
    """Two full pages, starting with the batch code (serial 0)."""
    count = 2 * GRIDS[grid].per_page
    return [
        Label(code_url(base, sign_code(keys=KEYS, batch_id=4321, serial=s)), "雁江蜜柑", "YJ-2026-000042", s, MARK)
        for s in range(count)
    ]


def render(pdf_path, out_prefix) -> list[Image.Image]:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: install Debian's poppler-utils to check printed labels")
    result = subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", str(pdf_path), str(out_prefix)], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    pages = sorted(out_prefix.parent.glob(out_prefix.name + "-*.png"))
    return [Image.open(page) for page in pages]


def width_mm(position) -> float:
    top = math.dist((position.top_left.x, position.top_left.y), (position.top_right.x, position.top_right.y))
    left = math.dist((position.top_left.x, position.top_left.y), (position.bottom_left.x, position.bottom_left.y))
    return max(top, left) * MM_PER_PX


def centre_in_slot(position, grid, slot: int) -> bool:
    x = (position.top_left.x + position.bottom_right.x) / 2 * MM_PER_PX
    y = (position.top_left.y + position.bottom_right.y) / 2 * MM_PER_PX
    left, top = grid.origin(slot)
    return left < x < left + grid.width and top < y < top + grid.height


@pytest.mark.parametrize("outlined", [True, False], ids=["outlined-text", "named-fonts"])
@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("grid_name", sorted(GRIDS))
def test_every_printed_code_scans_back(tmp_path, grid_name, base, outlined):
    grid, printed = GRIDS[grid_name], sheet_labels(grid_name, base)
    font = outlines.load(outlines.find_font()) if outlined else None
    pdf = tmp_path / "sheet.pdf"
    with open(pdf, "wb") as out:
        out.writelines(label_sheet_pdf(printed, grid=grid_name, font=font))
    pages = render(pdf, tmp_path / "page")
    assert len(pages) == 2
    for number, page in enumerate(pages):
        expected = printed[number * grid.per_page : (number + 1) * grid.per_page]
        slot_of = {label.url: slot for slot, label in enumerate(expected)}
        results = zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)
        decoded = [r.text for r in results]
        assert len(decoded) == len(set(decoded))
        assert set(decoded) == set(slot_of), f"page {number + 1}: missing {set(slot_of) - set(decoded)}"
        for result in results:
            # One pixel of slack: the detector's corners sit on pixel edges.
            assert width_mm(result.position) <= 15.0 + MM_PER_PX
            assert centre_in_slot(result.position, grid, slot_of[result.text])
