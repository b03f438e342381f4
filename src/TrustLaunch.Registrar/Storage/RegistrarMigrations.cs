using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Registrar.Storage;

/// <summary>
/// The registrar's schema, one migration per change and backend (the same version number means the same change on
/// both); never edit a released one, add the next.
/// </summary>
internal static class RegistrarMigrations
{
    public static StoreSchema Schema { get; } = new("registrar",
    [
        new(1, "agents", """
            CREATE TABLE agents (
                agent_id TEXT PRIMARY KEY,
                ek_public BLOB NOT NULL,
                ek_certificate BLOB,
                ak_public BLOB NOT NULL,
                tls_certificate TEXT NOT NULL,
                address TEXT,
                pending_credential BLOB,
                active INTEGER NOT NULL,
                registered_at TEXT NOT NULL,
                activated_at TEXT
            ) STRICT
            """),
        // Proven registrations stay in agents; a registration waiting for its proof lives beside it in
        // pending_registrations with SHA-256 of the expected proof, never the credential. Challenges pending at the
        // upgrade held the credential itself: they are dropped (unproven; their agents register again), and
        // secure_delete zeroes the cells this frees.
        new(2, "pending_registrations", """
            PRAGMA secure_delete = ON;
            DELETE FROM agents WHERE active = 0;
            ALTER TABLE agents DROP COLUMN pending_credential;
            ALTER TABLE agents DROP COLUMN active;
            CREATE TABLE pending_registrations (
                agent_id TEXT PRIMARY KEY,
                ek_public BLOB NOT NULL,
                ek_certificate BLOB,
                ak_public BLOB NOT NULL,
                tls_certificate TEXT NOT NULL,
                address TEXT,
                registered_at TEXT NOT NULL,
                proof_digest BLOB NOT NULL
            ) STRICT;
            """),
        // The key broker finds an agent by the AK its evidence carries.
        new(3, "agents_by_ak", "CREATE INDEX agents_ak_public ON agents (ak_public)"),
    ],
    [
        new(1, "agents", """
            CREATE TABLE agents (
                agent_id text PRIMARY KEY,
                ek_public bytea NOT NULL,
                ek_certificate bytea,
                ak_public bytea NOT NULL,
                tls_certificate text NOT NULL,
                address text,
                pending_credential bytea,
                active boolean NOT NULL,
                registered_at timestamptz NOT NULL,
                activated_at timestamptz
            )
            """),
        new(2, "pending_registrations", """
            DELETE FROM agents WHERE NOT active;
            ALTER TABLE agents DROP COLUMN pending_credential;
            ALTER TABLE agents DROP COLUMN active;
            CREATE TABLE pending_registrations (
                agent_id text PRIMARY KEY,
                ek_public bytea NOT NULL,
                ek_certificate bytea,
                ak_public bytea NOT NULL,
                tls_certificate text NOT NULL,
                address text,
                registered_at timestamptz NOT NULL,
                proof_digest bytea NOT NULL
            )
            """),
        new(3, "agents_by_ak", "CREATE INDEX agents_ak_public ON agents (ak_public)"),
    ]);
}
