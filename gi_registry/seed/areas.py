"""Reference data every install needs: Ziyang's administrative areas, from areas.csv.

The city, its three counties (GB/T 2260) and their townships and subdistricts (NBS 统计用区划代码 2023);
each row's `source` column says where it is from. Products' protected areas and licensees' counties are
chosen from these, and no page creates one, so `init-db` loads them (demo data or not).
"""

import csv
from pathlib import Path

from sqlmodel import Session

from ..models import Area

AREAS_CSV = Path(__file__).with_name("areas.csv")


def load_areas(*, session: Session) -> int:
    """Insert or refresh every area of areas.csv, parents before children; safe to run again."""
    with AREAS_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        area = session.get(Area, row["code"]) or Area(code=row["code"], name=row["name"], level=row["level"])
        area.name, area.name_en, area.level = row["name"], row["name_en"], row["level"]
        area.parent_code = row["parent_code"] or None
        area.latitude = float(row["latitude"]) if row["latitude"] else None
        area.longitude = float(row["longitude"]) if row["longitude"] else None
        area.source = row["source"][:200]
        session.add(area)
    session.flush()
    return len(rows)
