"""a regulator may lift a code's copy warning found unfounded

The tally keeps how many of the code's scans were counted when the warning was lifted, and when: those
scans and the places shared before then stop counting as evidence of a copy; later ones count again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 07:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('scantally') as batch_op:
        batch_op.add_column(sa.Column('cleared_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scantally') as batch_op:
        batch_op.drop_column('cleared_at')
        batch_op.drop_column('cleared_count')
