"""Sign-in (users, devices, tokens) and the append-only access log.

Tokens are opaque random strings; only their SHA-256 is stored. The access log refuses
UPDATE, DELETE and TRUNCATE with a statement trigger, so no code path of the application
can change or remove what it recorded (retention pruning is a deliberate DBA operation,
see docs/access.md).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # password_hash is "scrypt$n$r$p$salt$hash" (base64); NULL for a user who signs in
    # only through an external identity provider.
    op.execute(
        """
        CREATE TABLE users (
            id uuid PRIMARY KEY,
            username text NOT NULL UNIQUE,
            display_name text NOT NULL,
            service text NOT NULL,
            roles text[] NOT NULL,
            password_hash text,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL
        )
        """
    )
    # last_synced_at starts at registration; a password sign-in on the device and every
    # sync move it on. The offline lease counts from it.
    op.execute(
        """
        CREATE TABLE devices (
            id uuid PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users (id),
            label text NOT NULL,
            registered_at timestamptz NOT NULL,
            revoked_at timestamptz,
            revoked_by uuid,
            last_synced_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX devices_user_idx ON devices (user_id)")
    # One row per token handed out. family_id ties a sign-in's access and refresh tokens
    # together across refresh rotations, so reuse of a rotated refresh token can revoke
    # the whole chain. A device credential has no expiry (expires_at NULL): it lives
    # until the device is revoked. signed_in_with says how the family began, so an action
    # that needs the worker's password (registering a device) can refuse a session that
    # began from a device credential.
    op.execute(
        """
        CREATE TABLE auth_tokens (
            token_hash bytea PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('access', 'refresh', 'device')),
            user_id uuid NOT NULL REFERENCES users (id),
            device_id uuid REFERENCES devices (id),
            family_id uuid NOT NULL,
            signed_in_with text NOT NULL
                CHECK (signed_in_with IN ('password', 'device_credential')),
            issued_at timestamptz NOT NULL,
            expires_at timestamptz,
            revoked_at timestamptz,
            CHECK (kind = 'device' OR expires_at IS NOT NULL),
            CHECK (kind <> 'device' OR device_id IS NOT NULL)
        )
        """
    )
    op.execute("CREATE INDEX auth_tokens_family_idx ON auth_tokens (family_id)")
    op.execute("CREATE INDEX auth_tokens_device_idx ON auth_tokens (device_id)")
    op.execute("CREATE INDEX auth_tokens_expiry_idx ON auth_tokens (expires_at)")
    # Who read or changed which tenant's data, when, from which device. No foreign keys:
    # the log must stay whole whatever happens to users and devices, and a principal from
    # an external identity provider may have no users row.
    op.execute(
        """
        CREATE TABLE access_log (
            id bigserial PRIMARY KEY,
            at timestamptz NOT NULL,
            user_id uuid NOT NULL,
            service text NOT NULL,
            roles text[] NOT NULL,
            device_id uuid,
            tenant_id uuid,
            action text NOT NULL CHECK (action IN ('read', 'change')),
            endpoint text NOT NULL,
            record_id text,
            status integer NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX access_log_tenant_idx ON access_log (tenant_id, id) "
        "WHERE tenant_id IS NOT NULL"
    )
    op.execute("CREATE INDEX access_log_user_idx ON access_log (user_id, id)")
    op.execute(
        """
        CREATE FUNCTION access_log_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'access_log is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    # Statement triggers fire even when no row matches, so "DELETE ... WHERE false" and
    # a TRUNCATE of an empty log are refused as well.
    op.execute(
        """
        CREATE TRIGGER access_log_append_only
        BEFORE UPDATE OR DELETE OR TRUNCATE ON access_log
        FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only()
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE access_log")
    op.execute("DROP FUNCTION access_log_append_only()")
    op.execute("DROP TABLE auth_tokens")
    op.execute("DROP TABLE devices")
    op.execute("DROP TABLE users")
