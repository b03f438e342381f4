using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

/// <summary>The verifier's schema, one migration per version.</summary>
internal static class VerifierMigrations
{
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "policies, agents, results, webhook outbox", """
            CREATE TABLE policies (
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                document TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (name, version));
            CREATE TABLE agents (
                agent_id TEXT PRIMARY KEY,
                address TEXT NOT NULL,
                policy_name TEXT NOT NULL,
                policy_version INTEGER NOT NULL,
                state TEXT NOT NULL,
                paused INTEGER NOT NULL,
                pcr_value BLOB NOT NULL,
                next_recnum INTEGER NOT NULL,
                clock INTEGER,
                reset_count INTEGER,
                restart_count INTEGER,
                boot_count INTEGER NOT NULL,
                verified_images TEXT NOT NULL,
                last_attestation TEXT,
                last_success TEXT,
                failure_reason TEXT,
                failed_event_index INTEGER,
                events_verified INTEGER NOT NULL,
                attestations INTEGER NOT NULL,
                consecutive_faults INTEGER NOT NULL);
            CREATE TABLE results (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                agent_id TEXT NOT NULL,
                at TEXT NOT NULL,
                status TEXT NOT NULL,
                reason TEXT,
                event_index INTEGER,
                log_length INTEGER NOT NULL,
                policy_id TEXT NOT NULL,
                token TEXT NOT NULL);
            CREATE INDEX results_by_agent ON results (agent_id, id);
            CREATE TABLE webhook_outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                url TEXT NOT NULL,
                body TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt TEXT NOT NULL,
                last_error TEXT);
            """),
    ];
}
