"""Index the audit log by actor and time.

Sign-in counts the refused attempts at one user name over the last minutes
(``dashboard.auth``); without this index each attempt would read the whole log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_actor_at", "audit_log", ["actor", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_actor_at", table_name="audit_log")
