"""Each risk timeline row keeps its entry as a tablet receives it, as JSON text.

A tablet's pull sends up to 50 timeline entries for each of up to 200 tenants; building
that JSON in every pull was most of the pull's database time (decision 70). The entry is
encoded once, when the projection writes the row; this fills it for the rows there are.

Revision ID: 0014_timeline_entry
Revises: 0013_sync_integrity
Create Date: 2026-12-04
"""

from alembic import op

revision = "0014_timeline_entry"
down_revision = "0013_sync_integrity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE risk_timeline ADD COLUMN entry text")
    op.execute(
        "UPDATE risk_timeline SET entry = json_build_object("
        "'position', position, 'event_type', event_type, 'occurred_at', occurred_at, "
        "'summary', summary)::text"
    )
    op.execute("ALTER TABLE risk_timeline ALTER COLUMN entry SET NOT NULL")


def downgrade() -> None:
    op.execute("ALTER TABLE risk_timeline DROP COLUMN entry")
