using System.Text.Json;
using TrustLaunch.Jose;

namespace TrustLaunch.Verifier.Signing;

/// <summary>
/// An attestation result as an EAR-style JWT (draft-ietf-rats-ear): <c>eat_profile</c>, <c>iat</c>, <c>exp</c>,
/// <c>ear.verifier-id</c>, and one submodule per agent with <c>ear.status</c>, <c>ear.trustworthiness-vector</c>
/// (AR4SI claims) and <c>ear.appraisal-policy-id</c>, signed ES256 by the verifier key.
/// </summary>
public static class EarToken
{
    public const string Profile = "tag:github.com,2023:veraison/ear";
    public const string Affirming = "affirming";
    public const string Warning = "warning";
    public const string Contraindicated = "contraindicated";
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    // AR4SI trustworthiness claim values: 2 = affirming; 33 = unrecognised or unauthorised executables ran;
    // 96 = the evidence could not be verified (instance identity not recognised).
    private const int ClaimAffirming = 2;
    private const int ClaimUnauthorizedExecutables = 33;
    private const int ClaimUnrecognizedInstance = 96;

    /// <summary>Affirming when <paramref name="reason"/> is null; contraindicated otherwise, the failed claim set by
    /// whether a policy (<paramref name="policyFailure"/>) or the evidence itself was at fault.</summary>
    public static string Create(IPayloadSigner signer, string verifierId, string agentId, string policyId,
        string? reason, bool policyFailure, long? eventIndex, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(signer);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("eat_profile", Profile);
            w.WriteNumber("iat", now.ToUnixTimeSeconds());
            w.WriteNumber("exp", (now + Lifetime).ToUnixTimeSeconds());
            w.WriteStartObject("ear.verifier-id");
            w.WriteString("developer", "trustlaunch");
            w.WriteString("build", verifierId);
            w.WriteEndObject();
            w.WriteStartObject("submods");
            w.WriteStartObject(agentId);
            w.WriteString("ear.status", reason is null ? Affirming : Contraindicated);
            w.WriteStartObject("ear.trustworthiness-vector");
            w.WriteNumber("instance-identity", reason is not null && !policyFailure ? ClaimUnrecognizedInstance : ClaimAffirming);
            w.WriteNumber("executables", reason is null ? ClaimAffirming : policyFailure ? ClaimUnauthorizedExecutables : 0);
            w.WriteNumber("hardware", reason is not null && !policyFailure ? ClaimUnrecognizedInstance : ClaimAffirming);
            w.WriteEndObject();
            w.WriteString("ear.appraisal-policy-id", policyId);
            if (reason is not null)
                w.WriteString("trustlaunch.reason", reason);
            if (eventIndex is { } index)
                w.WriteNumber("trustlaunch.event-index", index);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Jwt.Sign(buffer.ToArray(), signer);
    }
}
