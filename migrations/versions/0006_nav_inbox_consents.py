"""The consents behind NAV's notifications, so NAV's access ends when a consent does.

A notification sent on the tenant's consent stays readable by NAV only while that consent
is in force (given, not expired, not withdrawn). The nav_inbox projection keeps the
consents that let NAV hear about rent and eviction; it is refilled from the log.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE nav_inbox_consents (
            consent_id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL,
            given_on date NOT NULL,
            expires_on date,
            withdrawn_on date,
            position bigint NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX nav_inbox_tenant_idx ON nav_inbox (tenant_id)")
    # The projection starts again from the beginning, to fill the new table.
    op.execute("TRUNCATE nav_inbox")
    op.execute("DELETE FROM projection_parked WHERE projection = 'nav_inbox'")
    op.execute("UPDATE projection_tracking SET position = 0 WHERE projection = 'nav_inbox'")


def downgrade() -> None:
    op.execute("DROP INDEX nav_inbox_tenant_idx")
    op.execute("DROP TABLE nav_inbox_consents")
