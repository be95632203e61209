"""case due index

The local due-date index of open cases (``db.models.due_index``). It is created empty: filling
it needs the clock rules of ``app.cases``, which a migration must not import, so the start-up
check in ``app.context.open_data_dir`` rebuilds it (an empty index with open cases, or a changed
fingerprint, triggers ``app.cases.due.rebuild_due_index``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 07:40:04.504860
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_due_index',
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('earliest_due', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_due_index'))
    )
    with op.batch_alter_table('case_due_index', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_due_index_earliest_due'), ['earliest_due'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_due_index', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_due_index_earliest_due'))

    op.drop_table('case_due_index')
    # The fingerprint goes with it, so a later upgrade rebuilds the index.
    op.execute("DELETE FROM local_meta WHERE key = 'case_due_index'")
