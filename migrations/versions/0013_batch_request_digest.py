"""an idempotency key sent again with another request is refused, also when the two arrive at once

An API registration keeps its idempotency key in form_token (unique) and a digest of its request beside it.
Batches registered before have none (NULL).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 11:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('batch') as batch_op:
        batch_op.add_column(sa.Column('request_digest', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('batch') as batch_op:
        batch_op.drop_column('request_digest')
