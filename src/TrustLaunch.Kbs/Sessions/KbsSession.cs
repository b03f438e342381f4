using TrustLaunch.Jose;

namespace TrustLaunch.Kbs.Sessions;

/// <summary>One handshake: the nonce handed out at <c>/auth</c>, and, once attested, the agent and the tee-pubkey
/// resources are encrypted to.</summary>
public sealed class KbsSession(Guid id, string tee, string nonce, DateTimeOffset expires)
{
    public Guid Id { get; } = id;
    public string Tee { get; } = tee;

    /// <summary>Base64 of 32 CSPRNG bytes, as sent in the challenge.</summary>
    public string Nonce { get; } = nonce;
    public DateTimeOffset Expires { get; } = expires;

    /// <summary>Set once, by the one attestation this session accepts.</summary>
    public KbsAttestedNode? Attested { get; internal set; }

    /// <summary>An attestation has been tried on this session (accepted or not): sessions are single-use.</summary>
    internal bool AttestationTried { get; set; }
}

/// <summary>What a successful attestation established; <see cref="Container"/> is the container of the node it is for
/// (<see cref="Protocol.ContainerEvidence"/>), null for the node itself.</summary>
public sealed record KbsAttestedNode(string AgentId, Jwk TeePublicKey, string Token)
{
    public Protocol.ContainerEvidence? Container { get; init; }
}
