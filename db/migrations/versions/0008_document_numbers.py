"""document numbers

The number register (文号登记簿) per squad, document type and year; the blocks of numbers (号段)
each device holds; and the issued documents (已出具文书) with their number, data snapshot and the
hash of their PDF in the content store. See ``db.models.documents``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 08:19:29.715450
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Amounts in fen and byte sizes are BIGINT on PostgreSQL (32-bit INTEGER is too small there);
    # SQLite's INTEGER is 64-bit already, so its DDL is unchanged. See db.base.BigInt.
    op.create_table('number_registers',
    sa.Column('doc_type', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('pattern', sa.String(length=100), nullable=False),
    sa.Column('seq_width', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('squad_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=24), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_number_registers')),
    sa.UniqueConstraint('squad_id', 'doc_type', 'year', name=op.f('uq_number_registers_squad_id'))
    )
    with op.batch_alter_table('number_registers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_number_registers_squad_id'), ['squad_id'], unique=False)

    op.create_table('number_leases',
    sa.Column('register_id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('first_seq', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('next_seq', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('squad_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=24), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['register_id'], ['number_registers.id'], name=op.f('fk_number_leases_register_id_number_registers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_number_leases'))
    )
    with op.batch_alter_table('number_leases', schema=None) as batch_op:
        batch_op.create_index('ix_number_leases_holder', ['register_id', 'device_id', 'first_seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_number_leases_squad_id'), ['squad_id'], unique=False)

    op.create_table('issued_documents',
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('doc_type', sa.String(length=40), nullable=False),
    sa.Column('register_id', sa.String(length=36), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf_size', sa.Integer().with_variant(sa.BigInteger(), 'postgresql'), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('issued_by_id', sa.String(length=36), nullable=False),
    sa.Column('issued_by_name', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('voided_by_id', sa.String(length=36), nullable=False),
    sa.Column('voided_by_name', sa.String(length=64), nullable=False),
    sa.Column('voided_at', sa.DateTime(), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=False),
    sa.Column('replaces_id', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('squad_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=24), nullable=False),
    sa.Column('updated_by', sa.String(length=36), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_issued_documents_case_id_cases')),
    sa.ForeignKeyConstraint(['register_id'], ['number_registers.id'], name=op.f('fk_issued_documents_register_id_number_registers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_documents')),
    sa.UniqueConstraint('squad_id', 'doc_type', 'year', 'seq', name=op.f('uq_issued_documents_squad_id'))
    )
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_documents_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_documents_number'), ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_documents_register_id'), ['register_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_documents_replaces_id'), ['replaces_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_documents_squad_id'), ['squad_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issued_documents_squad_id'))
        batch_op.drop_index(batch_op.f('ix_issued_documents_replaces_id'))
        batch_op.drop_index(batch_op.f('ix_issued_documents_register_id'))
        batch_op.drop_index(batch_op.f('ix_issued_documents_number'))
        batch_op.drop_index(batch_op.f('ix_issued_documents_case_id'))

    op.drop_table('issued_documents')
    with op.batch_alter_table('number_leases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_number_leases_squad_id'))
        batch_op.drop_index('ix_number_leases_holder')

    op.drop_table('number_leases')
    with op.batch_alter_table('number_registers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_number_registers_squad_id'))

    op.drop_table('number_registers')
