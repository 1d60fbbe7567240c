"""One timeline per tenant: the risk timeline also answers GET /tenants/{id}/timeline.

Also: the risk's reasons are stored as text (the JSON the API answers), not jsonb. Nothing
queries inside them, and parsing them into jsonb was a fifth of PostgreSQL's cost of a
timeline row.

The tenant timeline and the risk timeline held a row for every event about a tenant
each, with the same position, time, kind and summary; the risk timeline also had the
risk. The risk timeline now keeps who recorded each fact (the actor), so it serves both
endpoints, and the tenant timeline table and projection are gone (decision 32). The risk
timeline starts again from the beginning, to fill the new columns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RISK_TABLES = "risk_state, risk_timeline, risk_dwelling_residents, risk_address_concerns"


def _refill(projection: str) -> None:
    op.execute(f"DELETE FROM projection_parked WHERE projection = '{projection}'")
    op.execute(f"DELETE FROM projection_tracking WHERE projection = '{projection}'")


def upgrade() -> None:
    op.execute(f"TRUNCATE {RISK_TABLES}")
    _refill("risk_timeline")
    op.execute("ALTER TABLE risk_timeline ADD COLUMN actor_user_id uuid NOT NULL")
    op.execute("ALTER TABLE risk_timeline ADD COLUMN actor_service text NOT NULL")
    for table in ("risk_timeline", "risk_state"):
        op.execute(f"ALTER TABLE {table} ALTER COLUMN reasons TYPE text USING reasons::text")
    op.execute("DROP TABLE tenant_timeline")
    op.execute("DROP SCHEMA IF EXISTS rebuild_tenant_timeline CASCADE")
    _refill("tenant_timeline")


def downgrade() -> None:
    op.execute(
        """
        CREATE TABLE tenant_timeline (
            tenant_id uuid NOT NULL,
            position bigint NOT NULL,
            event_type text NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            actor_user_id uuid NOT NULL,
            actor_service text NOT NULL,
            summary text NOT NULL,
            PRIMARY KEY (tenant_id, position)
        )
        """
    )
    op.execute(f"TRUNCATE {RISK_TABLES}")
    _refill("risk_timeline")
    for table in ("risk_timeline", "risk_state"):
        op.execute(f"ALTER TABLE {table} ALTER COLUMN reasons TYPE jsonb USING reasons::jsonb")
    op.execute("ALTER TABLE risk_timeline DROP COLUMN actor_service")
    op.execute("ALTER TABLE risk_timeline DROP COLUMN actor_user_id")
