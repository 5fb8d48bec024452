"""a batch registration form sent twice makes one batch

The form carries a one-time token that the batch keeps; the unique index refuses it a second time, also
when the two requests arrive at once. Batches registered before have none (NULL, which never clashes).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 08:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('batch') as batch_op:
        batch_op.add_column(sa.Column('form_token', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_batch_form_token', ['form_token'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('batch') as batch_op:
        batch_op.drop_index('ix_batch_form_token')
        batch_op.drop_column('form_token')
