using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Registrar.Storage;

/// <summary>A registration and the credential its pending challenge sealed (null once activated).</summary>
public sealed record RegistrarRecord(RegisteredAgent Agent, byte[]? PendingCredential);

/// <summary>What <see cref="IRegistrarStore.RegisterAsync"/> did.</summary>
public enum RegisterOutcome
{
    Created,
    /// <summary>Same EK and AK as registered: new challenge, inactive until activated again.</summary>
    Renewed,
    /// <summary>The agent id is registered with a different EK or AK: nothing changed.</summary>
    KeysDiffer,
}

/// <summary>
/// The registrar's state. Every method is one transaction: a kill -9 leaves each registration whole, before or
/// after. <see cref="RegistrarStore"/> keeps it in SQLite or PostgreSQL.
/// </summary>
public interface IRegistrarStore
{
    /// <summary>
    /// Inserts <paramref name="agent"/> with <paramref name="credential"/> pending, or replaces an existing
    /// registration of the same id only when its EK and AK public areas are byte-identical.
    /// </summary>
    Task<RegisterOutcome> RegisterAsync(RegisteredAgent agent, byte[] credential, CancellationToken cancellationToken = default);

    /// <summary>Marks the agent active and forgets the credential, only if <paramref name="credential"/> is still the
    /// pending one (a concurrent re-registration wins). Returns whether it did.</summary>
    Task<bool> ActivateAsync(string agentId, byte[] credential, DateTimeOffset activatedAt, CancellationToken cancellationToken = default);

    Task<RegistrarRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<RegisteredAgent>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Returns whether the agent was registered.</summary>
    Task<bool> DeleteAsync(string agentId, CancellationToken cancellationToken = default);
}
