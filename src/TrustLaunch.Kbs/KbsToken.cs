using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Jose;
using TrustLaunch.Kbs.Protocol;

namespace TrustLaunch.Kbs;

/// <summary>
/// The broker's attestation token: an EAR-style JWT (<c>eat_profile</c>, <c>iat</c>, <c>exp</c>,
/// <c>ear.verifier-id</c>, one affirming submodule named after the agent) that also carries the tee-pubkey resources
/// are encrypted to (<c>trustlaunch.tee-pubkey</c>) and, for a container's handshake, the container
/// (<c>trustlaunch.container</c>), signed by the broker's key.
/// </summary>
public static class KbsToken
{
    public const string Profile = "tag:github.com,2023:veraison/ear";
    public const string TeePubkeyClaim = "trustlaunch.tee-pubkey";
    public const string ContainerClaim = ContainerEvidence.IdMember;
    public const string ImageClaim = ContainerEvidence.ImageMember;

    public static string Create(IPayloadSigner signer, string agentId, Jwk teePublicKey, DateTimeOffset now, TimeSpan lifetime, ContainerEvidence? container = null)
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
            if (container is not null)
            {
                w.WriteString(ContainerClaim, container.Id);
                w.WriteString(ImageClaim, container.Image);
            }
            w.WriteEndObject();
        }
        return Jwt.Sign(buffer.ToArray(), signer);
    }

    /// <summary>The agent, tee-pubkey and container (null: the node itself) of a token this broker signed that has not expired.</summary>
    /// <exception cref="KbsError">401 InvalidToken naming the reason.</exception>
    public static (string AgentId, Jwk TeePublicKey, ContainerEvidence? Container) Verify(string token, IPayloadVerifier verifier, DateTimeOffset now)
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
            ContainerEvidence? container = null;
            if (root.TryGetProperty(ContainerClaim, out var id) | root.TryGetProperty(ImageClaim, out var image))
            {
                if (id.ValueKind != JsonValueKind.String || image.ValueKind != JsonValueKind.String)
                    throw KbsError.InvalidToken($"{ContainerClaim} and {ImageClaim} are not both strings");
                container = new ContainerEvidence(id.GetString()!, image.GetString()!);
            }
            return (submod.Name, Jwk.Parse(teeKey), container);
        }
        catch (FormatException e)
        {
            throw KbsError.InvalidToken($"{TeePubkeyClaim}: {e.Message}");
        }
    }
}
