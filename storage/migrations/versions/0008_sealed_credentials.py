"""Platform credentials encrypted at rest with TEND_SECRET_KEY: no change to Tend's own schema.

The only stored credentials are Slack's, in slack_sdk's tables, which Alembic does not manage
(``storage.migrate.EXTERNAL_TABLES``): the adapter that creates them widens their credential columns
to TEXT on PostgreSQL and seals any plain token at start-up, when the key is known
(``adapters.slack.oauth``: ``create_store_tables``, ``SlackOAuth.use_key``). A migration runs without
the key (``python app.py migrate``), so it could not encrypt anything here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
