"""one record's audit events are found by its kind and number together

The batch page's history, the case page's events and the audit page's filters ask for one record's events
(entity_type and entity_id). The index on entity_type alone, a handful of values, was useless to them, and
SQLite (which keeps no statistics unless told to ANALYZE) chose it anyway: every batch page read every batch's
events. One index on both replaces it; the one on entity_id stays for the audit page's filter by number.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 16:30:00
"""

from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auditevent') as batch_op:
        batch_op.create_index('ix_auditevent_subject', ['entity_type', 'entity_id'], unique=False)
        batch_op.drop_index('ix_auditevent_entity_type')


def downgrade() -> None:
    with op.batch_alter_table('auditevent') as batch_op:
        batch_op.create_index('ix_auditevent_entity_type', ['entity_type'], unique=False)
        batch_op.drop_index('ix_auditevent_subject')
