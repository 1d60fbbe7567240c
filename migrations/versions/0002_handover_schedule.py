"""Handover schedule: every handover's current status and date, to find the due ones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE handover_schedule (
            handover_id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL,
            from_service text NOT NULL,
            to_service text NOT NULL,
            kind text NOT NULL,
            effective_on date NOT NULL,
            status text NOT NULL,
            updated_position bigint NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX handover_schedule_tenant_idx ON handover_schedule (tenant_id)")
    # The scheduler asks for open handovers by date; settled ones drop out of this index.
    op.execute(
        "CREATE INDEX handover_schedule_open_idx ON handover_schedule (effective_on) "
        "WHERE status IN ('announced', 'accepted', 'declined')"
    )


def downgrade() -> None:
    op.execute("DROP TABLE handover_schedule")
