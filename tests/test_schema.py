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


def test_reports_of_an_older_register_concern_their_batchs_product_after_the_upgrade(tmp_path):
    from sqlmodel import Session

    from gi_registry.domain import reports
    from tests.old_schema import register_at_0009

    url = f"sqlite:///{tmp_path / 'old.db'}"
    register_at_0009(url)
    migrate.upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:

        def listed(product_code):
            where = reports.ReportFilter(product_code=product_code)
            rows, _total = reports.search_reports(session=session, where=where, page=1, per_page=10)
            return [report.tracking_no for report, *_ in rows]

        assert (listed("anyue-lemon"), listed(reports.NO_PRODUCT)) == (["R1"], ["R2"])
    engine.dispose()


def test_the_audit_subject_index_replaces_the_kind_alone_and_goes_back_on_a_downgrade(tmp_path):
    from alembic import command
    from sqlalchemy import inspect

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    migrate.upgrade(url)
    engine = create_engine(url)

    def indexes():
        return {index["name"] for index in inspect(engine).get_indexes("auditevent")}

    assert {"ix_auditevent_subject", "ix_auditevent_entity_id"} <= indexes()
    assert "ix_auditevent_entity_type" not in indexes()
    command.downgrade(migrate.alembic_config(url), "0013")
    assert "ix_auditevent_entity_type" in indexes() and "ix_auditevent_subject" not in indexes()
    engine.dispose()
