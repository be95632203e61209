"""rosters

Duty rosters (排班): shift types (班次), daily demand per shift, members' leave (请假), the
monthly roster with its publication, its cells (locked or not) and the changes recorded after
publication (调班记录). See ``db.models.rosters``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 09:16:59.664291
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rosters',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=False),
    sa.Column('published_by_id', sa.String(length=36), nullable=False),
    sa.Column('published_by_name', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('squad_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=24), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rosters')),
    sa.UniqueConstraint('squad_id', 'month', name=op.f('uq_rosters_squad_id'))
    )
    with op.batch_alter_table('rosters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rosters_squad_id'), ['squad_id'], unique=False)

    op.create_table('shift_types',
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('start_time', sa.String(length=5), nullable=False),
    sa.Column('end_time', sa.String(length=5), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('is_night', sa.Boolean(), nullable=False),
    sa.Column('is_24h', sa.Boolean(), nullable=False),
    sa.Column('needs_police', sa.Boolean(), nullable=False),
    sa.Column('colour', sa.String(length=7), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('squad_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=24), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_types')),
    sa.UniqueConstraint('squad_id', 'code', name=op.f('uq_shift_types_squad_id'))
    )
    with op.batch_alter_table('shift_types', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_types_squad_id'), ['squad_id'], unique=False)

    op.create_table('member_leaves',
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('squad_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=24), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_leaves_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_leaves'))
    )
    with op.batch_alter_table('member_leaves', schema=None) as batch_op:
        batch_op.create_index('ix_member_leaves_span', ['member_id', 'start', 'end'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_leaves_squad_id'), ['squad_id'], unique=False)

    op.create_table('roster_assignments',
    sa.Column('roster_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('shift_type_id', sa.String(length=36), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('squad_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=24), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_roster_assignments_member_id_members')),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_roster_assignments_roster_id_rosters')),
    sa.ForeignKeyConstraint(['shift_type_id'], ['shift_types.id'], name=op.f('fk_roster_assignments_shift_type_id_shift_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_assignments')),
    sa.UniqueConstraint('roster_id', 'member_id', 'day', 'shift_type_id', name=op.f('uq_roster_assignments_roster_id'))
    )
    with op.batch_alter_table('roster_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_assignments_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_assignments_shift_type_id'), ['shift_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_assignments_squad_id'), ['squad_id'], unique=False)

    op.create_table('roster_changes',
    sa.Column('roster_id', sa.String(length=36), nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('changed_by_id', sa.String(length=36), nullable=False),
    sa.Column('changed_by_name', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('before_code', sa.String(length=40), nullable=False),
    sa.Column('after_code', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('squad_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=24), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_roster_changes_member_id_members')),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_roster_changes_roster_id_rosters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_changes'))
    )
    with op.batch_alter_table('roster_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_changes_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_changes_roster_id'), ['roster_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_changes_squad_id'), ['squad_id'], unique=False)

    op.create_table('shift_demands',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('shift_type_id', sa.String(length=36), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('min_certified', sa.Integer(), nullable=False),
    sa.Column('min_police', sa.Integer(), nullable=False),
    sa.Column('needs_leader', sa.Boolean(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('squad_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=24), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['shift_type_id'], ['shift_types.id'], name=op.f('fk_shift_demands_shift_type_id_shift_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_demands')),
    sa.UniqueConstraint('squad_id', 'day', 'shift_type_id', name=op.f('uq_shift_demands_squad_id'))
    )
    with op.batch_alter_table('shift_demands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_demands_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_demands_shift_type_id'), ['shift_type_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_demands_squad_id'), ['squad_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('shift_demands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_demands_squad_id'))
        batch_op.drop_index(batch_op.f('ix_shift_demands_shift_type_id'))
        batch_op.drop_index(batch_op.f('ix_shift_demands_day'))

    op.drop_table('shift_demands')
    with op.batch_alter_table('roster_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_changes_squad_id'))
        batch_op.drop_index(batch_op.f('ix_roster_changes_roster_id'))
        batch_op.drop_index(batch_op.f('ix_roster_changes_member_id'))

    op.drop_table('roster_changes')
    with op.batch_alter_table('roster_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_assignments_squad_id'))
        batch_op.drop_index(batch_op.f('ix_roster_assignments_shift_type_id'))
        batch_op.drop_index(batch_op.f('ix_roster_assignments_member_id'))

    op.drop_table('roster_assignments')
    with op.batch_alter_table('member_leaves', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_leaves_squad_id'))
        batch_op.drop_index('ix_member_leaves_span')

    op.drop_table('member_leaves')
    with op.batch_alter_table('shift_types', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_types_squad_id'))

    op.drop_table('shift_types')
    with op.batch_alter_table('rosters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rosters_squad_id'))

    op.drop_table('rosters')
