"""Record when an administrator last lifted a user's sign-in lock.

``beaconport users unlock NAME`` sets it; sign-in counts refused attempts only since
then (``dashboard.auth``). Null for a user never unlocked.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("sign_in_unlocked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sign_in_unlocked_at")
