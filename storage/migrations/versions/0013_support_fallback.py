"""A workspace's own route for when the support rota is away (issue 16, ``/tend support fallback``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

``workspace.support_fallback``: the words an admin set; NULL keeps the instance's
``TEND_SUPPORT_FALLBACK``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(sa.Column("support_fallback", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("support_fallback")
