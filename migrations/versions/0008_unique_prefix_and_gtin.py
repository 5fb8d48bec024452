"""unique batch prefixes and GTINs: checked by the forms before, now also by the database

A batch number starts with its product's prefix and a GS1 link resolves a GTIN to one licensee, so two
products sharing a prefix or two licensees sharing a GTIN would make labels ambiguous. The forms refuse
both; the unique indexes keep two requests at once (or a hand edit) from slipping past them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 23:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_UNIQUE = (('product', 'batch_prefix'), ('licensee', 'gtin'))


def upgrade() -> None:
    connection = op.get_bind()
    for table, column in _UNIQUE:
        shared = connection.execute(
            sa.text(f'SELECT {column} FROM {table} WHERE {column} IS NOT NULL GROUP BY {column} HAVING COUNT(*) > 1')
        ).scalars().all()
        if shared:  # say which, rather than the database's bare "UNIQUE constraint failed"
            raise RuntimeError(f'{table}.{column} is shared by several rows, make it unique first: {", ".join(shared)}')
        op.create_index(f'ix_{table}_{column}', table, [column], unique=True)


def downgrade() -> None:
    for table, column in _UNIQUE:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
