"""a code seen far apart stays marked

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('scantally') as batch_op:
        batch_op.add_column(sa.Column('far_apart_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scantally') as batch_op:
        batch_op.drop_column('far_apart_at')
