"""report descriptions with room for a pasted label URL below the reporter's 4,000 characters

A consumer who pastes a scanned URL into the code field has it kept in the description as evidence
("[URL] …", reports.file_report); at 4,000 characters written plus a 300-character URL, PostgreSQL
refused the row. SQLite never enforced the length.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 00:00:00
"""

from alembic import op
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report') as batch_op:
        batch_op.alter_column('description', type_=sqlmodel.sql.sqltypes.AutoString(length=4400), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('report') as batch_op:
        batch_op.alter_column('description', type_=sqlmodel.sql.sqltypes.AutoString(length=4000), existing_nullable=False)
