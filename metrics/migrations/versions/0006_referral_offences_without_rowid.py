"""Keep a SQLite store's offence codes in one b-tree (``WITHOUT ROWID``).

``referral_offences`` is nothing but its primary key (referral, code). As an ordinary
SQLite table it was stored twice: once in the table under a hidden row number and once
in the key's index. Without the row number the key is the table, which halves what a
load writes for the codes (about 0.4 s of a million-referral load; see
docs/performance.md, 3 December 2026). The rows and every constraint stay the same.
PostgreSQL has no row numbers of this kind: nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _rebuild(with_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # batch mode copies the rows into a new table made as asked, then swaps the names
    with op.batch_alter_table(
        "referral_offences", recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
    ):
        pass


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)
