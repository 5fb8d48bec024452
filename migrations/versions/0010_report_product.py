"""the product a report without a batch concerns, as a regulator names it

A report filed with a code has the product of the code's batch. One filed without a code (a fake seen at
a market, say) had no product at all, so no product filter showed it; a regulator now names its product
on the case page. Only such reports use the column: the batch stays the one source of a coded report's
product (an earlier form of this migration also copied it here; reports.concerned_product_id prefers the
batch's, so such copies change nothing).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 02:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report') as batch_op:
        batch_op.add_column(sa.Column('product_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_report_product_id'), ['product_id'], unique=False)
        batch_op.create_foreign_key('fk_report_product_id_product', 'product', ['product_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('report') as batch_op:
        batch_op.drop_constraint('fk_report_product_id_product', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_report_product_id'))
        batch_op.drop_column('product_id')
