"""The store's columnar copy of what the figures read (``metrics.snapshot``).

Creates ``column_segments`` and fills it from the rows already stored, so an upgraded
store reads fast at once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "column_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_column_segments_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_column_segments")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # the blobs are compressed already: keep TOAST from compressing them again
        op.execute("ALTER TABLE column_segments ALTER COLUMN data SET STORAGE EXTERNAL")
    # the copy as of now, from the rows (the format this revision's code writes)
    from metrics import snapshot

    snapshot.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("column_segments")
