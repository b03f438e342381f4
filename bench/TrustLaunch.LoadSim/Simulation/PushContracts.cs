using System.Text.Json.Serialization;

namespace TrustLaunch.LoadSim.Simulation;

// The push-mode wire contract (issue 7) as the simulator reads it, until the verifier's own contract types are on main.

/// <summary><c>POST /v1/agents/{id}/attestations</c> → 201: what to quote for this challenge, and until when.</summary>
public sealed record AttestationChallenge(string ChallengeId, byte[] Nonce, IReadOnlyList<int> Pcrs, long Since, DateTimeOffset ExpiresAt);

/// <summary><c>POST /v1/agents/{id}/attestations/{challenge_id}</c> → 200: the appraisal and when to attest next.</summary>
public sealed record PushAttestationResult(string Status, string? Reason, long? EventIndex, DateTimeOffset NextAttestationAt)
{
    public const string Affirming = "affirming";
    public const string Contraindicated = "contraindicated";
    public const string Retry = "retry";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(AttestationChallenge))]
[JsonSerializable(typeof(PushAttestationResult))]
internal sealed partial class PushJsonContext : JsonSerializerContext;
