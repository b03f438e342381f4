using TrustLaunch.Hosting.Contracts;

namespace TrustLaunch.Verifier.Storage;

/// <summary>
/// A push-mode agent's outstanding challenge (at most one per agent: a new one replaces it). Any verifier instance
/// sharing the store can take the evidence; <see cref="Consumed"/> once a result was recorded for it.
/// </summary>
public sealed record StoredChallenge(
    string AgentId,
    string ChallengeId,
    byte[] Nonce,
    IReadOnlyList<int> Pcrs,
    long Since,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    bool Consumed)
{
    public AttestationChallenge ToContract() => new(ChallengeId, Nonce, Pcrs, Since, ExpiresAt);
}
