"""The migrations build exactly the schema the models describe, so no change skips Alembic."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col, select

from gi_registry import migrate
from gi_registry.models import Licensee, Product  # registers every table on SQLModel.metadata


def test_the_migrated_schema_matches_the_models(app):
    with app.extensions["db_engine"].connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


@pytest.mark.parametrize(
    ("model", "column", "taken"),
    [(Product, "batch_prefix", "AY"), (Licensee, "gtin", "06901234000016")],
)
def test_the_database_itself_refuses_a_second_batch_prefix_or_gtin(db, world, model, column, taken):
    # The forms refuse them first; this is for two requests at once, or a hand edit past the forms.
    row = next(row for row in db.exec(select(model)) if getattr(row, column) != taken)
    setattr(row, column, taken)
    db.add(row)
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_licensees_without_a_gtin_do_not_clash(db, world):
    assert world["coop_b"].gtin is None
    db.add(Licensee(name="无码合作社", uscc="91512000MA6200000X", county_code="512022"))
    db.commit()
    assert len(db.exec(select(Licensee).where(col(Licensee.gtin).is_(None))).all()) == 2


def test_the_migration_to_unique_prefixes_names_the_rows_to_fix_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0007")
    engine = create_engine(url)
    with engine.begin() as connection:
        for code in ("lemon", "mandarin"):
            connection.execute(
                text(
                    "INSERT INTO product (code, name, name_en, kind, status, registration_no, standard, kg_per_label,"
                    " batch_prefix, description, created_at, updated_at) VALUES (:code, :code, :code, 'gi_product',"
                    " 'active', '', '', 0.5, 'AY', '', '2026-01-01', '2026-01-01')"
                ),
                {"code": code},
            )
    with pytest.raises(RuntimeError, match=r"product\.batch_prefix .*: AY"):
        migrate.upgrade(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE product SET batch_prefix = 'YJ' WHERE code = 'mandarin'"))
    migrate.upgrade(url)  # once fixed, it goes through
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert version == ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    engine.dispose()


def test_the_migration_to_report_products_gives_each_report_with_a_batch_its_product(tmp_path):
    from datetime import date

    from sqlmodel import Session

    from gi_registry.domain import batches, registry
    from gi_registry.seed.areas import load_areas

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate.upgrade(url, "0009")
    engine = create_engine(url)
    with Session(engine) as session:  # the tables it uses are as 0009 left them
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
            data=registry.LicenseeInput(name="合作社", uscc="93512021MA6AY0L018", county_code="512021"),
        )
        registry.grant_licence(
            session=session,
            licensee=licensee,
            product_code="anyue-lemon",
            valid_from=date(2020, 1, 1),
            valid_to=date(2049, 12, 31),
            actor=None,
        )
        values = {"product_code": "anyue-lemon", "quantity": 10.0, "unit": "kg", "harvested_on": date(2026, 10, 1)}
        batch = batches.register_batch(
            session=session, licensee=licensee, data=batches.BatchInput(origin_code="512021", **values), actor=None
        )
        session.commit()
        product_id, batch_id = product.id, batch.id
    with engine.begin() as connection:
        for number, batch_ref in (("R1", batch_id), ("R2", None)):
            connection.execute(
                text(
                    "INSERT INTO report (tracking_no, code, batch_id, description, place, contact, status,"
                    " created_at, updated_at) VALUES (:no, '', :batch, 'x', '', '', 'new', '2026-11-01', '2026-11-01')"
                ),
                {"no": number, "batch": batch_ref},
            )
    migrate.upgrade(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT tracking_no, product_id FROM report ORDER BY tracking_no")).all()
    assert [tuple(row) for row in rows] == [("R1", product_id), ("R2", None)]
    engine.dispose()
