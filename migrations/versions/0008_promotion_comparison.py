"""Model promotions record the figures their decision compared.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_promotions") as batch:
        batch.add_column(
            sa.Column("comparison", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("model_promotions") as batch:
        batch.drop_column("comparison")
