"""Each tenant's newest timeline entries, joined, as a tablet new to the tenant gets them.

A pull sends a tenant new on the device its newest 50 timeline entries of the last 90
days. Joining them row by row was most of a whole-caseload pull's database time
(decision 72); the risk timeline projection now keeps each tenant's newest entries
joined in one row, written when an entry is added. This fills it for the rows there are.

``entries`` is stored out of line uncompressed (STORAGE EXTERNAL): it is rewritten on
every new entry and read whole by every pull, and compressing it cost more than the
bytes saved.

Revision ID: 0015_timeline_recent
Revises: 0014_timeline_entry
Create Date: 2026-12-04
"""

from alembic import op

revision = "0015_timeline_recent"
down_revision = "0014_timeline_entry"
branch_labels = None
depends_on = None

# projections.risk_timeline.RECENT_ENTRIES when this was written.
RECENT_ENTRIES = 50


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE risk_timeline_recent (
            tenant_id uuid PRIMARY KEY,
            entries text NOT NULL,
            kept integer NOT NULL,
            oldest_position bigint NOT NULL,
            oldest_occurred_at timestamptz NOT NULL
        )
        """
    )
    op.execute("ALTER TABLE risk_timeline_recent ALTER COLUMN entries SET STORAGE EXTERNAL")
    op.execute(
        f"""
        INSERT INTO risk_timeline_recent
            (tenant_id, entries, kept, oldest_position, oldest_occurred_at)
        SELECT w.tenant_id, '[' || string_agg(r.entry, ',' ORDER BY r.position) || ']',
               count(*), min(r.position), min(r.occurred_at)
        FROM (SELECT DISTINCT tenant_id FROM risk_timeline) AS w
        CROSS JOIN LATERAL (
            SELECT position, occurred_at, entry FROM risk_timeline t
            WHERE t.tenant_id = w.tenant_id
            ORDER BY position DESC LIMIT {RECENT_ENTRIES}
        ) AS r
        GROUP BY w.tenant_id
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE risk_timeline_recent")
