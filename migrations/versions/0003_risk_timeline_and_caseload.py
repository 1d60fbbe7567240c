"""Risk timeline per tenant (with the inputs of the risk model) and the caseload board.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- projection risk_timeline -------------------------------------------------------
    # The risk model's inputs per tenant (msgspec msgpack of domain.risk.RiskInputs), so
    # the current risk can be assessed at "now" without replaying the tenant's events; and
    # the assessment at the tenant's last event, which holds until ``stable_until`` (when a
    # time-dependent rule may first change its answer; NULL: never), so reads can reuse it.
    op.execute(
        """
        CREATE TABLE risk_state (
            tenant_id uuid PRIMARY KEY,
            inputs bytea NOT NULL,
            level text NOT NULL,
            score integer NOT NULL,
            reasons jsonb NOT NULL,
            model_version integer NOT NULL,
            assessed_at timestamptz NOT NULL,
            stable_until timestamptz,
            position bigint NOT NULL
        )
        """
    )
    op.execute(
        """
        CREATE TABLE risk_timeline (
            tenant_id uuid NOT NULL,
            position bigint NOT NULL,
            occurred_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL,
            event_type text NOT NULL,
            summary text NOT NULL,
            level text NOT NULL,
            score integer NOT NULL,
            reasons jsonb NOT NULL,
            model_version integer NOT NULL,
            PRIMARY KEY (tenant_id, position)
        )
        """
    )
    # Who lives where, so facts about an address reach the people living there.
    op.execute(
        """
        CREATE TABLE risk_dwelling_residents (
            dwelling_id uuid NOT NULL,
            tenant_id uuid NOT NULL,
            PRIMARY KEY (dwelling_id, tenant_id)
        )
        """
    )
    # Open concerns about an address alone (no tenant named): a tenant moving in takes
    # them on, and their later events are routed to the residents.
    op.execute(
        """
        CREATE TABLE risk_address_concerns (
            concern_id uuid PRIMARY KEY,
            dwelling_id uuid NOT NULL,
            category text NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX risk_address_concerns_dwelling_idx ON risk_address_concerns (dwelling_id)"
    )

    # --- projection caseload --------------------------------------------------------------
    op.execute(
        """
        CREATE TABLE caseload (
            tenant_id uuid PRIMARY KEY,
            full_name text NOT NULL,
            responsible_service text,
            contact_worker_id uuid,
            responsibility_gap_since timestamptz,
            follow_up_active boolean NOT NULL DEFAULT false,
            follow_up_started_on date,
            follow_up_since timestamptz,
            follow_up_ended_on date,
            visit_interval_days integer,
            last_visit_at timestamptz,
            next_visit_at timestamptz,
            visit_due_at timestamptz,
            dwelling_id uuid,
            address text,
            safety_flag text,
            position bigint NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX caseload_worker_idx ON caseload (contact_worker_id)")
    op.execute("CREATE INDEX caseload_service_idx ON caseload (responsible_service)")
    op.execute("CREATE INDEX caseload_dwelling_idx ON caseload (dwelling_id)")
    op.execute(
        "CREATE INDEX caseload_without_service_idx "
        "ON caseload (coalesce(responsibility_gap_since, follow_up_since), tenant_id) "
        "WHERE follow_up_active AND responsible_service IS NULL"
    )
    op.execute(
        """
        CREATE TABLE caseload_planned_visits (
            visit_id uuid PRIMARY KEY,
            tenant_id uuid NOT NULL,
            planned_for timestamptz NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX caseload_planned_visits_tenant_idx "
        "ON caseload_planned_visits (tenant_id, planned_for)"
    )
    op.execute(
        """
        CREATE TABLE caseload_dwellings (
            dwelling_id uuid PRIMARY KEY,
            address text NOT NULL,
            safety_flag text
        )
        """
    )


def downgrade() -> None:
    for table in (
        "caseload_dwellings",
        "caseload_planned_visits",
        "caseload",
        "risk_address_concerns",
        "risk_dwelling_residents",
        "risk_timeline",
        "risk_state",
    ):
        op.execute(f"DROP TABLE {table}")
