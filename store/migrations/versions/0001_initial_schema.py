"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import switchboard.store.types

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('agent_state',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('autonomy', sa.Enum('shadow', 'supervised', 'autonomous', 'paused', name='autonomy', native_enum=False, length=18), nullable=False),
    sa.Column('shadow_since', sa.Date(), nullable=True),
    sa.Column('promoted_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('domain', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('direction', sa.Enum('over', 'under', 'dark', name='alertdirection', native_enum=False, length=13), nullable=False),
    sa.Column('state', sa.Enum('suppressed', 'open', 'acknowledged', 'resolved', name='alertstate', native_enum=False, length=20), nullable=False),
    sa.Column('deviation_pct', switchboard.store.types.ExactDecimal(9, 1), nullable=True),
    sa.Column('notified_deviation_pct', switchboard.store.types.ExactDecimal(9, 1), nullable=True),
    sa.Column('notifications', sa.Integer(), nullable=False),
    sa.Column('suppressed_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('suppressed_detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('assignee', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('first_seen_on', sa.Date(), nullable=False),
    sa.Column('last_seen_on', sa.Date(), nullable=False),
    sa.Column('opened_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('acknowledged_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_state'), ['state'], unique=False)
        batch_op.create_index('uq_alert_unresolved', ['account_id', 'month', 'direction'], unique=True, sqlite_where=sa.text("state != 'resolved'"), postgresql_where=sa.text("state != 'resolved'"))

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_subject'), ['subject'], unique=False)

    op.create_table('briefing_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'day', name='uq_briefing_run_channel_day')
    )
    op.create_table('client',
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sa.Enum('active', 'onboarding', 'offboarding', 'churned', name='clientstatus', native_enum=False, length=19), nullable=False),
    sa.Column('offboarding_date', sa.Date(), nullable=True),
    sa.Column('owner_slack_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.PrimaryKeyConstraint('client_id')
    )
    op.create_table('domain_owner',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('agent', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('updated_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('domain', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('policy_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('next_step_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'acknowledged', 'resolved', 'exhausted', name='escalationstatus', native_enum=False, length=20), nullable=False),
    sa.Column('created_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('acknowledged_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_next_step_at'), ['next_step_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_subject'), ['subject'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sa.Enum('post', 'dm', 'update', name='outboxkind', native_enum=False, length=14), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('parent_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'failed', name='outboxstate', native_enum=False, length=15), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('claim_expires_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ts', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_channel_state', ['channel', 'state', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_sent_at'), ['sent_at'], unique=False)

    op.create_table('ad_account',
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('platform', sa.Enum('google_ads', 'meta_ads', name='platform', native_enum=False, length=18), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.client_id'], ),
    sa.PrimaryKeyConstraint('account_id')
    )
    with op.batch_alter_table('ad_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ad_account_client_id'), ['client_id'], unique=False)

    op.create_table('inbound_email',
    sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('from_email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.client_id'], ),
    sa.PrimaryKeyConstraint('message_id')
    )
    with op.batch_alter_table('inbound_email', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbound_email_client_id'), ['client_id'], unique=False)

    op.create_table('project',
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('project_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', 'on_hold', name='projectstatus', native_enum=False, length=15), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.client_id'], ),
    sa.PrimaryKeyConstraint('source', 'project_id')
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_client_id'), ['client_id'], unique=False)

    op.create_table('budget',
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('amount', switchboard.store.types.ExactDecimal(14, 2), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ad_account.account_id'], ),
    sa.PrimaryKeyConstraint('account_id', 'month', 'effective_from')
    )
    op.create_table('draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbound_message_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('prompt_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('drafter', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('lint', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'approved', 'rejected', 'expired', 'superseded', 'sending', 'sent', 'send_failed', name='draftstate', native_enum=False, length=19), nullable=False),
    sa.Column('created_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('decided_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['inbound_message_id'], ['inbound_email.message_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_draft_state'), ['state'], unique=False)

    op.create_table('exclusion',
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('starts', sa.Date(), nullable=True),
    sa.Column('ends', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['ad_account.account_id'], ),
    sa.PrimaryKeyConstraint('account_id', 'reason')
    )
    op.create_table('spend_day',
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('spend', switchboard.store.types.ExactDecimal(14, 2), nullable=False),
    sa.Column('leads', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['ad_account.account_id'], ),
    sa.PrimaryKeyConstraint('account_id', 'day')
    )
    with op.batch_alter_table('spend_day', schema=None) as batch_op:
        batch_op.create_index('ix_spend_day_day', ['day'], unique=False)

    op.create_table('approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draft_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('approved_at', switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['draft_id'], ['draft.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_draft_id'), ['draft_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_draft_id'))

    op.drop_table('approval')
    with op.batch_alter_table('spend_day', schema=None) as batch_op:
        batch_op.drop_index('ix_spend_day_day')

    op.drop_table('spend_day')
    op.drop_table('exclusion')
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_state'))
        batch_op.drop_index(batch_op.f('ix_draft_client_id'))

    op.drop_table('draft')
    op.drop_table('budget')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_client_id'))

    op.drop_table('project')
    with op.batch_alter_table('inbound_email', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_email_client_id'))

    op.drop_table('inbound_email')
    with op.batch_alter_table('ad_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ad_account_client_id'))

    op.drop_table('ad_account')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_sent_at'))
        batch_op.drop_index('ix_outbox_channel_state')

    op.drop_table('outbox_message')
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_subject'))
        batch_op.drop_index(batch_op.f('ix_escalation_status'))
        batch_op.drop_index(batch_op.f('ix_escalation_next_step_at'))

    op.drop_table('escalation')
    op.drop_table('domain_owner')
    op.drop_table('client')
    op.drop_table('briefing_run')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_subject'))
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_unresolved', sqlite_where=sa.text("state != 'resolved'"), postgresql_where=sa.text("state != 'resolved'"))
        batch_op.drop_index(batch_op.f('ix_alert_state'))
        batch_op.drop_index(batch_op.f('ix_alert_account_id'))

    op.drop_table('alert')
    op.drop_table('agent_state')

