using TrustLaunch.Hosting.Storage;

namespace TrustLaunch.Verifier.Storage;

/// <summary>
/// The verifier's schema, one migration per version and backend (the same version number means the same change on
/// both); never edit a released one, add the next.
/// </summary>
internal static class VerifierMigrations
{
    public static StoreSchema Schema { get; } = new("verifier",
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
        new(2, "verifier instances, their keys, agent leases, result instance", """
            CREATE TABLE verifier_instances (
                instance_id TEXT PRIMARY KEY,
                verifier_id TEXT NOT NULL,
                key_id TEXT NOT NULL,
                started_at TEXT NOT NULL,
                heartbeat_at TEXT NOT NULL,
                expires_at TEXT NOT NULL);
            CREATE TABLE verifier_keys (
                key_id TEXT PRIMARY KEY,
                public_key TEXT NOT NULL,
                instance_id TEXT NOT NULL,
                published_at TEXT NOT NULL);
            CREATE TABLE agent_leases (
                agent_id TEXT PRIMARY KEY REFERENCES agents (agent_id) ON DELETE CASCADE,
                instance_id TEXT NOT NULL,
                expires_at TEXT NOT NULL);
            CREATE INDEX agent_leases_by_instance ON agent_leases (instance_id);
            ALTER TABLE results ADD COLUMN instance_id TEXT;
            """),
        new(3, "push mode: agent mode and deadline, one outstanding challenge per agent", """
            ALTER TABLE agents ADD COLUMN mode TEXT NOT NULL DEFAULT 'pull';
            ALTER TABLE agents ADD COLUMN push_deadline TEXT;
            CREATE TABLE challenges (
                agent_id TEXT PRIMARY KEY,
                challenge_id TEXT NOT NULL,
                nonce BLOB NOT NULL,
                pcrs TEXT NOT NULL,
                since INTEGER NOT NULL,
                issued_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                consumed INTEGER NOT NULL,
                full_log INTEGER NOT NULL);
            """),
        new(4, "containers created in the agent's current boot", """
            ALTER TABLE agents ADD COLUMN created_containers TEXT NOT NULL DEFAULT '';
            """),
        new(5, "retention: the key each result and notification is signed with, outbox agent, creation and dead letters, key last use", """
            ALTER TABLE results ADD COLUMN key_id TEXT;
            CREATE INDEX results_by_key ON results (key_id);
            ALTER TABLE webhook_outbox ADD COLUMN agent_id TEXT;
            ALTER TABLE webhook_outbox ADD COLUMN created_at TEXT;
            ALTER TABLE webhook_outbox ADD COLUMN dead_at TEXT;
            ALTER TABLE webhook_outbox ADD COLUMN key_id TEXT;
            ALTER TABLE verifier_keys ADD COLUMN used_until TEXT;
            """),
        new(6, "the container launches each result verified (JSON), for the fleet dashboard's timelines", """
            ALTER TABLE results ADD COLUMN launches TEXT;
            """),
        new(7, "the agent row's generation, changed by every tenant write, which an attestation round's write is fenced on", """
            ALTER TABLE agents ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
            """),
    ],
    [
        new(1, "policies, agents, results, webhook outbox", """
            CREATE TABLE policies (
                name text NOT NULL,
                version integer NOT NULL,
                document text NOT NULL,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (name, version));
            CREATE TABLE agents (
                agent_id text PRIMARY KEY,
                address text NOT NULL,
                policy_name text NOT NULL,
                policy_version integer NOT NULL,
                state text NOT NULL,
                paused boolean NOT NULL,
                pcr_value bytea NOT NULL,
                next_recnum bigint NOT NULL,
                clock bigint,
                reset_count bigint,
                restart_count bigint,
                boot_count bigint NOT NULL,
                verified_images text NOT NULL,
                last_attestation timestamptz,
                last_success timestamptz,
                failure_reason text,
                failed_event_index bigint,
                events_verified bigint NOT NULL,
                attestations bigint NOT NULL,
                consecutive_faults integer NOT NULL);
            CREATE TABLE results (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                agent_id text NOT NULL,
                at timestamptz NOT NULL,
                status text NOT NULL,
                reason text,
                event_index bigint,
                log_length bigint NOT NULL,
                policy_id text NOT NULL,
                token text NOT NULL);
            CREATE INDEX results_by_agent ON results (agent_id, id);
            CREATE TABLE webhook_outbox (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                url text NOT NULL,
                body text NOT NULL,
                attempts integer NOT NULL,
                next_attempt timestamptz NOT NULL,
                last_error text);
            """),
        new(2, "verifier instances, their keys, agent leases, result instance", """
            CREATE TABLE verifier_instances (
                instance_id text PRIMARY KEY,
                verifier_id text NOT NULL,
                key_id text NOT NULL,
                started_at timestamptz NOT NULL,
                heartbeat_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL);
            CREATE TABLE verifier_keys (
                key_id text PRIMARY KEY,
                public_key text NOT NULL,
                instance_id text NOT NULL,
                published_at timestamptz NOT NULL);
            CREATE TABLE agent_leases (
                agent_id text PRIMARY KEY REFERENCES agents (agent_id) ON DELETE CASCADE,
                instance_id text NOT NULL,
                expires_at timestamptz NOT NULL);
            CREATE INDEX agent_leases_by_instance ON agent_leases (instance_id);
            ALTER TABLE results ADD COLUMN instance_id text;
            """),
        new(3, "push mode: agent mode and deadline, one outstanding challenge per agent", """
            ALTER TABLE agents ADD COLUMN mode text NOT NULL DEFAULT 'pull';
            ALTER TABLE agents ADD COLUMN push_deadline timestamptz;
            CREATE TABLE challenges (
                agent_id text PRIMARY KEY,
                challenge_id text NOT NULL,
                nonce bytea NOT NULL,
                pcrs text NOT NULL,
                since bigint NOT NULL,
                issued_at timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                consumed boolean NOT NULL,
                full_log boolean NOT NULL);
            """),
        new(4, "containers created in the agent's current boot", """
            ALTER TABLE agents ADD COLUMN created_containers text NOT NULL DEFAULT '';
            """),
        new(5, "retention: the key each result and notification is signed with, outbox agent, creation and dead letters, key last use", """
            ALTER TABLE results ADD COLUMN key_id text;
            CREATE INDEX results_by_key ON results (key_id);
            ALTER TABLE webhook_outbox ADD COLUMN agent_id text;
            ALTER TABLE webhook_outbox ADD COLUMN created_at timestamptz;
            ALTER TABLE webhook_outbox ADD COLUMN dead_at timestamptz;
            ALTER TABLE webhook_outbox ADD COLUMN key_id text;
            ALTER TABLE verifier_keys ADD COLUMN used_until timestamptz;
            """),
        new(6, "the container launches each result verified (JSON), for the fleet dashboard's timelines", """
            ALTER TABLE results ADD COLUMN launches text;
            """),
        new(7, "the agent row's generation, changed by every tenant write, which an attestation round's write is fenced on", """
            ALTER TABLE agents ADD COLUMN generation bigint NOT NULL DEFAULT 0;
            """),
    ]);
}
