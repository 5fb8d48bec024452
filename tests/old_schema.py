"""A register as schema revision 0009 left it, for the tests of migrating and restoring older data."""

from datetime import date

from sqlalchemy import create_engine, text
from sqlmodel import Session

from gi_registry import migrate
from gi_registry.domain import registry
from gi_registry.seed.areas import load_areas

REVISION = "0009"  # the last before reports could name a product of their own (0010)


def register_at_0009(url: str) -> None:
    """Migrate `url` to 0009 and fill it: a lemon licensee with a batch, a report on the batch (R1) and a
    report with no code (R2). The batch and the reports are written as SQL: their models are newer than 0009."""
    migrate.upgrade(url, REVISION)
    engine = create_engine(url)
    with Session(engine) as session:  # the other tables are as 0009 left them
        load_areas(session=session)
        product = registry.save_product(
            session=session,
            actor=None,
            data=registry.ProductInput(
                code="anyue-lemon", name="安岳柠檬", name_en="Anyue Lemon", kind="gi_product", area_codes=["512021"]
            ),
        )
        licensee = registry.save_licensee(
            session=session,
            actor=None,
            data=registry.LicenseeInput(name="老合作社", uscc="93512021MA6AY0L018", county_code="512021"),
        )
        term = {"valid_from": date(2020, 1, 1), "valid_to": date(2049, 12, 31)}
        licence = registry.grant_licence(
            session=session, licensee=licensee, product_code="anyue-lemon", actor=None, **term
        )
        session.commit()
        owners = {"licensee": licensee.id, "product": product.id, "licence": licence.id}
    with engine.begin() as connection:
        batch_id = connection.execute(
            text(
                "INSERT INTO batch (batch_no, licensee_id, product_id, licence_id, quantity, unit, harvested_on,"
                " origin_code, grade, notes, inspection_cert, status, recall_reason, labels_issued, created_at,"
                " updated_at) VALUES ('AY-2026-000001', :licensee, :product, :licence, 10.0, 'kg', '2026-10-01',"
                " '512021', '', '', '', 'active', '', 0, '2026-11-01', '2026-11-01') RETURNING id"
            ),
            owners,
        ).scalar_one()
        for number, batch_ref in (("R1", batch_id), ("R2", None)):
            connection.execute(
                text(
                    "INSERT INTO report (tracking_no, code, batch_id, description, place, contact, status,"
                    " created_at, updated_at) VALUES (:no, '', :batch, 'x', '', '', 'new', '2026-11-01', '2026-11-01')"
                ),
                {"no": number, "batch": batch_ref},
            )
    engine.dispose()
