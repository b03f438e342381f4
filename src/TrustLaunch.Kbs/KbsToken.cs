using System.Text.Json;
using TrustLaunch.Jose;

namespace TrustLaunch.Kbs;

/// <summary>
/// The broker's attestation token: an EAR-style JWT (<c>eat_profile</c>, <c>iat</c>, <c>exp</c>,
/// <c>ear.verifier-id</c>, one affirming submodule for the agent) that also carries the tee-pubkey resources are
/// encrypted to (<c>trustlaunch.tee-pubkey</c>), signed by the broker's key.
/// </summary>
public static class KbsToken
{
    public const string Profile = "tag:github.com,2023:veraison/ear";
    public const string TeePubkeyClaim = "trustlaunch.tee-pubkey";

    public static string Create(IPayloadSigner signer, string agentId, Jwk teePublicKey, DateTimeOffset now, TimeSpan lifetime)
    {
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(teePublicKey);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("eat_profile", Profile);
            w.WriteNumber("iat", now.ToUnixTimeSeconds());
            w.WriteNumber("exp", (now + lifetime).ToUnixTimeSeconds());
            w.WriteStartObject("ear.verifier-id");
            w.WriteString("developer", "trustlaunch");
            w.WriteString("build", "kbs");
            w.WriteEndObject();
            w.WriteStartObject("submods");
            w.WriteStartObject(agentId);
            w.WriteString("ear.status", "affirming");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WritePropertyName(TeePubkeyClaim);
            teePublicKey.WriteTo(w);
            w.WriteEndObject();
        }
        return Jwt.Sign(buffer.ToArray(), signer);
    }
}
