"""Drop referral indexes that bulk loads pay for and no query uses.

The unique key (force, force_referral_id) already serves look-ups by force; the
figures read whole tables, so indexes on referral_date and eligible only slowed
loading (about a quarter of the time of a million-row return).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_referrals_force": ["force"],
    "ix_referrals_referral_date": ["referral_date"],
    "ix_referrals_eligible": ["eligible"],
}


def upgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="referrals")


def downgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "referrals", columns, unique=False)
