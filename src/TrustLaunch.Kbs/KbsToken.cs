using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs;

/// <summary>
/// The broker's attestation token: an EAR-style JWT (<c>eat_profile</c>, <c>iat</c>, <c>exp</c>,
/// <c>ear.verifier-id</c>, one affirming submodule named after the agent) that also carries the tee-pubkey resources
/// are encrypted to (<c>trustlaunch.tee-pubkey</c>), signed by the broker's key.
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

    /// <summary>The agent and tee-pubkey of a token this broker signed that has not expired.</summary>
    /// <exception cref="KbsError">401 InvalidToken naming the reason.</exception>
    public static (string AgentId, Jwk TeePublicKey) Verify(string token, IPayloadVerifier verifier, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(token);
        JwsParts parts;
        try
        {
            parts = Jwt.Verify(token, verifier, now);
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            throw KbsError.InvalidToken(e.Message);
        }
        try
        {
            using var claims = JsonDocument.Parse(parts.Payload);
            var root = claims.RootElement;
            if (!root.TryGetProperty("eat_profile", out var profile) || profile.ValueKind != JsonValueKind.String || profile.GetString() != Profile)
                throw KbsError.InvalidToken($"eat_profile is not {Profile}");
            if (!root.TryGetProperty("submods", out var submods) || submods.ValueKind != JsonValueKind.Object
                || submods.EnumerateObject().ToList() is not [var submod]
                || !submod.Value.TryGetProperty("ear.status", out var status) || status.ValueKind != JsonValueKind.String || status.GetString() != "affirming")
                throw KbsError.InvalidToken("submods is not one affirming agent");
            if (!root.TryGetProperty(TeePubkeyClaim, out var teeKey))
                throw KbsError.InvalidToken($"no {TeePubkeyClaim} claim");
            return (submod.Name, Jwk.Parse(teeKey));
        }
        catch (FormatException e)
        {
            throw KbsError.InvalidToken($"{TeePubkeyClaim}: {e.Message}");
        }
    }
}
