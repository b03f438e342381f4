using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Registrar.Storage;

/// <summary>The registrar's schema, one migration per change; never edit a released one, add the next.</summary>
internal static class RegistrarMigrations
{
    public static IReadOnlyList<Migration> All { get; } =
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
    ];
}
