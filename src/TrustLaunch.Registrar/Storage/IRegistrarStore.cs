using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Registrar.Storage;

/// <summary>A registration waiting for its proof: the candidate record (inactive) and SHA-256 of the expected proof.
/// The credential itself is never stored.</summary>
public sealed record PendingRegistration(RegisteredAgent Agent, byte[] ProofDigest);

/// <summary>What the registrar holds for one agent id: the proven registration, a pending one, or both (a
/// re-registration being proven beside the active record).</summary>
public sealed record RegistrarRecord(RegisteredAgent? Active, PendingRegistration? Pending)
{
    /// <summary>What the management API shows: the active registration, else the pending candidate.</summary>
    public RegisteredAgent Agent => Active ?? Pending?.Agent ?? throw new InvalidOperationException("empty registrar record");
}

/// <summary>What <see cref="IRegistrarStore.RegisterAsync"/> did.</summary>
public enum RegisterOutcome
{
    /// <summary>No active registration: the candidate is pending (replacing an earlier pending one).</summary>
    Created,
    /// <summary>Active with the same EK: the candidate is pending beside it; the active record is untouched until the
    /// candidate is proven.</summary>
    Renewed,
    /// <summary>The agent id is active with a different EK: nothing changed.</summary>
    KeysDiffer,
}

/// <summary>
/// The registrar's state. Every method is one transaction: a kill -9 leaves each registration whole, before or
/// after. <see cref="RegistrarStore"/> keeps it in SQLite or PostgreSQL.
/// </summary>
public interface IRegistrarStore
{
    /// <summary>
    /// Stores <paramref name="candidate"/> as the agent's pending registration (replacing a pending one) with
    /// <paramref name="proofDigest"/>, unless the id is active with a different EK public area. Never changes the
    /// active registration.
    /// </summary>
    Task<RegisterOutcome> RegisterAsync(RegisteredAgent candidate, byte[] proofDigest, CancellationToken cancellationToken = default);

    /// <summary>Replaces the active registration with the pending one, atomically, only if
    /// <paramref name="proofDigest"/> is still the pending one's (a concurrent re-registration wins). Returns whether it did.</summary>
    Task<bool> ActivateAsync(string agentId, byte[] proofDigest, DateTimeOffset activatedAt, CancellationToken cancellationToken = default);

    Task<RegistrarRecord?> GetAsync(string agentId, CancellationToken cancellationToken = default);

    /// <summary>Every agent id: its active registration, else its pending one.</summary>
    Task<IReadOnlyList<RegisteredAgent>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>The active registrations whose AK public area is <paramref name="akPublic"/>: none, one, or (when
    /// several agent ids registered one TPM's AK) the first two.</summary>
    Task<IReadOnlyList<RegisteredAgent>> FindActiveByAkAsync(byte[] akPublic, CancellationToken cancellationToken = default);

    /// <summary>Deletes the active and pending registrations; returns whether there was one.</summary>
    Task<bool> DeleteAsync(string agentId, CancellationToken cancellationToken = default);
}
