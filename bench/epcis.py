"""EPCIS export memory: a batch's document written out piece by piece against built whole.

    .venv/bin/python bench/epcis.py [--labels 1000000]

One recalled batch with --labels unit labels (the commissioning and the recall each name
every label) is described by epcis.batch_document, in memory, without a database.  The
document is then written out as the download does (downloads.json_chunks, identifiers made
as they are written) and, for comparison, as the export did before (every identifier in a
list, json.dumps of the whole).  tracemalloc's peak is each one's memory beyond the objects
that stand for the batch; the two texts must read as the same JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gi_registry.domain import epcis  # noqa: E402
from gi_registry.downloads import json_chunks  # noqa: E402
from gi_registry.models import Area, Batch, LabelIssue, Licensee, Product  # noqa: E402

BASE_URL = "http://127.0.0.1:5000"
NOW = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


def document(labels: int) -> dict:
    batch = Batch(
        id=1, batch_no="AY-2026-000123", licensee_id=1, product_id=1, licence_id=1, quantity=labels / 2, unit="kg",
        harvested_on=date(2026, 10, 1), origin_code="512021126", labels_issued=labels, status="recalled",
        recall_reason="bench", recalled_at=NOW, created_at=NOW,
    )  # fmt: skip
    issue = LabelIssue(batch_id=1, first_serial=1, last_serial=labels, key_id=1, issued_at=NOW)
    return epcis.batch_document(
        batch=batch,
        product=Product(code="anyue-lemon", name="安岳柠檬", name_en="Anyue lemon", kind="gi_product"),
        licensee=Licensee(id=1, name="合作社", uscc="93512021MA6AY0L018", county_code="512021", gtin="06901234000016"),
        origin=Area(code="512021126", name="龙台镇", level="township"),
        issues=[issue],
        base_url=BASE_URL,
        now=NOW,
    )


def measured(write) -> tuple[str, float, float]:
    tracemalloc.start()
    began = time.perf_counter()
    text = write()
    seconds = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return text, peak / 1e6, seconds


def streamed(labels: int, *, keep: bool = False) -> str:
    """The download's way; its size, or its text when kept (only for a small one: it is never all held)."""
    chunks = json_chunks(document(labels))
    return "".join(chunks) if keep else str(sum(len(chunk.encode()) for chunk in chunks))


def whole(labels: int, *, keep: bool = False) -> str:
    """The way before: every identifier in a list, and the whole text made at once."""
    built = document(labels)
    for event in built["epcisBody"]["eventList"]:
        if isinstance(event.get("epcList"), epcis.UnitIds):
            event["epcList"] = list(event["epcList"])
    text = json.dumps(built, ensure_ascii=False, separators=(",", ":"))
    return text if keep else str(len(text.encode()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=int, default=1_000_000)
    labels = parser.parse_args().labels
    small_a, small_b = streamed(1000, keep=True), whole(1000, keep=True)
    same = json.loads(small_a) == json.loads(small_b)
    size_a, peak_a, seconds_a = measured(lambda: streamed(labels))
    size_b, peak_b, seconds_b = measured(lambda: whole(labels))
    print(f"EPCIS document of a recalled batch, {labels:,} labels (each named twice), {int(size_a) / 1e6:.1f} MB")
    print(f"  written piece by piece: peak {peak_a:7.1f} MB, {seconds_a:5.1f} s (under tracemalloc)")
    print(f"  built whole:            peak {peak_b:7.1f} MB, {seconds_b:5.1f} s, {int(size_b) / 1e6:.1f} MB")
    print(f"  memory ratio: {peak_b / peak_a:,.0f}x less written piece by piece; same JSON for 1,000 labels: {same}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
