"""Label sheet speed: our streamed vector PDF against the naive qrcode + reportlab loop.

    .venv/bin/python bench/labels.py [--n 10000] [--naive-n 2000] [--memory]

Both paths sign every code and build its URL.  The naive loop renders each code
with qrcode.make to a PNG and places it with reportlab's Canvas.drawImage, which
keeps every page until save(); it runs on fewer labels and rates are compared.
--memory also builds a 100,000-label sheet in a child process and reports the
child's peak RSS.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gi_registry.domain import outlines  # noqa: E402
from gi_registry.domain.codes import CodeKeys, code_url, new_secret, sign_code  # noqa: E402
from gi_registry.domain.labels import GRIDS, Label, label_sheet_pdf  # noqa: E402

BASE_URL = "http://127.0.0.1:5000"
GRID = "a4-65"
PRODUCT, BATCH_NO, BATCH_ID = "安岳柠檬", "AY-2026-000123", 1234
RATIO_TARGET, RSS_TARGET_MB = 20, 300


def labels(count: int, keys: CodeKeys) -> Iterator[Label]:
    """Signed labels made lazily, as the app would read an issued range."""
    for serial in range(1, count + 1):
        code = sign_code(keys=keys, batch_id=BATCH_ID, serial=serial)
        yield Label(code_url(BASE_URL, code), PRODUCT, BATCH_NO, serial, mark="地理标志产品")


def ours(count: int, keys: CodeKeys, path: str) -> tuple[float, int]:
    """Seconds and bytes for the streamed sheet written to path."""
    start = time.perf_counter()
    with open(path, "wb") as out:
        # As the app prints it: text as glyph outlines when Debian's CJK font is installed.
        for chunk in label_sheet_pdf(labels(count, keys), grid=GRID, font=outlines.load(outlines.find_font())):
            out.write(chunk)
    return time.perf_counter() - start, os.path.getsize(path)


def naive(count: int, keys: CodeKeys, path: str) -> tuple[float, int]:
    """The same sheet the obvious way: a PNG per code, drawImage, Canvas.save."""
    import qrcode
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    grid = GRIDS[GRID]
    start = time.perf_counter()
    canvas = Canvas(path, pagesize=A4)
    for index, label in enumerate(labels(count, keys)):
        slot = index % grid.per_page
        if index and not slot:
            canvas.showPage()
        png = io.BytesIO()
        qrcode.make(label.url).save(png)
        png.seek(0)
        left, top = grid.origin(slot)
        x, y = (left + 2) * mm, A4[1] - (top + 18) * mm
        canvas.drawImage(ImageReader(png), x, y, 15 * mm, 15 * mm)
        canvas.setFont("STSong-Light", 6)
        canvas.drawString(x + 17 * mm, y + 11 * mm, label.product_name)
        canvas.setFont("Helvetica", 5)
        canvas.drawString(x + 17 * mm, y + 7 * mm, label.batch_no)
        canvas.drawString(x + 17 * mm, y + 3 * mm, f"No. {label.serial:06d}")
    canvas.save()
    return time.perf_counter() - start, os.path.getsize(path)


def own_peak_kib() -> int:
    """This process's own high-water RSS (VmHWM), which exec does not inherit."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def child(count: int, path: str) -> None:
    """Run in the measured process: build the sheet, print size, time and peak."""
    seconds, size = ours(count, CodeKeys.from_setting(new_secret()), path)
    print(f"{size} {seconds:.2f} {own_peak_kib()}")


def memory(count: int, tmp: str) -> tuple[float, float, int, float]:
    """Peak RSS in MB (ru_maxrss, VmHWM) of a child building the sheet, its size and time."""
    path = os.path.join(tmp, "memory.pdf")
    command = [sys.executable, __file__, "--child", "--n", str(count), "--out", path]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    # KiB on Linux.  A child's ru_maxrss starts from its parent's RSS at fork,
    # so main() runs this before the naive loop swells the parent.
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size, seconds, hwm = output.split()
    return maxrss, int(hwm) / 1024, int(size), float(seconds)


def pages_of(path: str) -> str:
    """pdfinfo's page count, or a note if poppler-utils is missing."""
    try:
        info = subprocess.run(["pdfinfo", path], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "? (pdfinfo unavailable)"
    return next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def report_memory(count: int, tmp: str) -> None:
    maxrss, hwm, size, seconds = memory(count, tmp)
    pages = pages_of(os.path.join(tmp, "memory.pdf"))
    peak = max(maxrss, hwm)
    print(
        f"  memory: {count:,} labels in {seconds:.1f} s, {pages} pages, {size / 1e6:.1f} MB file, "
        f"child peak RSS {maxrss:.0f} MB ru_maxrss / {hwm:.0f} MB VmHWM "
        f"(target < {RSS_TARGET_MB} MB: {verdict(peak < RSS_TARGET_MB)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="labels for our path")
    parser.add_argument("--naive-n", type=int, default=None, help="labels for the naive loop (min(n, 2000))")
    parser.add_argument("--memory", action="store_true", help="also measure a 100,000-label sheet")
    parser.add_argument("--memory-n", type=int, default=100_000, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=os.devnull, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.n, args.out)
    naive_n = args.naive_n or min(args.n, 2000)
    keys = CodeKeys.from_setting(new_secret())
    text = f"outlines of {outlines.find_font()}" if outlines.find_font() else "named fonts (no outline font found)"
    print(f"label sheet bench: grid {GRID}, base {BASE_URL}, {PRODUCT} {BATCH_NO}, text as {text}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.memory:
            report_memory(args.memory_n, tmp)
        ours_s, ours_size = ours(args.n, keys, os.path.join(tmp, "ours.pdf"))
        naive_s, naive_size = naive(naive_n, keys, os.path.join(tmp, "naive.pdf"))
        ours_rate, naive_rate = args.n / ours_s, naive_n / naive_s
        ratio = ours_rate / naive_rate
        print(
            f"  ours : {args.n:>7,} labels in {ours_s:6.2f} s = {ours_rate:8,.0f} labels/s, "
            f"{ours_size / 1e6:6.1f} MB (streamed vector PDF)"
        )
        print(
            f"  naive: {naive_n:>7,} labels in {naive_s:6.2f} s = {naive_rate:8,.0f} labels/s, "
            f"{naive_size / 1e6:6.1f} MB (qrcode.make PNG + Canvas.drawImage)"
        )
        note = "" if naive_n == args.n else f"; rates compared, naive ran {naive_n:,} labels"
        print(f"  ratio: {ratio:.1f}x (target >= {RATIO_TARGET}x: {verdict(ratio >= RATIO_TARGET)}{note})")


if __name__ == "__main__":
    main()
