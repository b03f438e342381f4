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
    ]);
}
