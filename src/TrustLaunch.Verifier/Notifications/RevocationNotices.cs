using System.Text.Json;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Jose;
using TrustLaunch.Verifier.Signing;

namespace TrustLaunch.Verifier.Notifications;

/// <summary>
/// Which state changes are revocations, and their signed notification: every change into Failed or Unreachable (from
/// any other state) is announced, with the new state, the reason and the event at fault in the body.
/// </summary>
public sealed class RevocationNotices(VerifierSigningKey key)
{
    /// <summary>Whether moving from <paramref name="from"/> to <paramref name="to"/> is announced to the webhooks.</summary>
    public static bool IsRevocation(string from, string to) => to is AgentStates.Failed or AgentStates.Unreachable && from != to;

    /// <summary>The notification of a change, or null when the change is not a revocation.</summary>
    public string? For(string agentId, string from, string to, string reason, long? eventIndex, DateTimeOffset at) =>
        IsRevocation(from, to) ? Sign(new RevocationNotification(agentId, to, reason, eventIndex, at)) : null;

    /// <summary>The notification as a compact JWS (typ <c>revocation+jws</c>) by the verifier key.</summary>
    public string Sign(RevocationNotification notification) =>
        Jws.SignCompact(JsonSerializer.SerializeToUtf8Bytes(notification, ContractsJsonContext.Default.RevocationNotification), key.Signer, "revocation+jws");
}
