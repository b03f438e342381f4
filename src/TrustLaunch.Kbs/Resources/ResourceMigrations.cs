using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Kbs.Resources;

/// <summary>The broker's schema, one migration per change and backend; never edit a released one, add the next.</summary>
internal static class ResourceMigrations
{
    public static StoreSchema Schema { get; } = new("kbs",
    [
        new(1, "resources", """
            CREATE TABLE resources (
                path TEXT PRIMARY KEY,
                wrapped_key BLOB NOT NULL,
                iv BLOB NOT NULL,
                ciphertext BLOB NOT NULL,
                tag BLOB NOT NULL,
                size INTEGER NOT NULL,
                updated_at TEXT NOT NULL
            ) STRICT;
            CREATE TABLE resource_policies (
                version INTEGER PRIMARY KEY,
                document TEXT NOT NULL,
                created_at TEXT NOT NULL
            ) STRICT;
            """),
    ],
    [
        new(1, "resources", """
            CREATE TABLE resources (
                path text PRIMARY KEY,
                wrapped_key bytea NOT NULL,
                iv bytea NOT NULL,
                ciphertext bytea NOT NULL,
                tag bytea NOT NULL,
                size bigint NOT NULL,
                updated_at timestamptz NOT NULL
            );
            CREATE TABLE resource_policies (
                version integer PRIMARY KEY,
                document text NOT NULL,
                created_at timestamptz NOT NULL
            );
            """),
    ]);
}
