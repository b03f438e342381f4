using System.Text.Json;

namespace TrustLaunch.Verifier.Signing;

/// <summary>
/// What an EAR token (<see cref="EarToken"/>) says about one agent: the submodule's status, appraisal policy, and the
/// reason and event at fault when contraindicated, with the token's issue time.
/// </summary>
public sealed record EarClaims(string AgentId, string Status, string PolicyId, string? Reason, long? EventIndex, DateTimeOffset IssuedAt)
{
    /// <summary>Reads the claims of a token's payload (check its signature first); the token must hold exactly one submodule.</summary>
    /// <exception cref="FormatException">The payload is not an EAR token as <see cref="EarToken"/> writes it, naming what is missing.</exception>
    public static EarClaims Read(ReadOnlySpan<byte> payload)
    {
        try
        {
            var root = JsonElement.Parse(payload);
            if (!root.TryGetProperty("submods", out var submods) || submods.ValueKind != JsonValueKind.Object
                || submods.EnumerateObject().ToList() is not [var submod])
                throw new FormatException("the token has no single submodule in 'submods'");
            var claims = submod.Value;
            return new EarClaims(submod.Name, Required(claims, "ear.status"), Required(claims, "ear.appraisal-policy-id"),
                claims.TryGetProperty("trustlaunch.reason", out var reason) ? reason.GetString() : null,
                claims.TryGetProperty("trustlaunch.event-index", out var index) ? index.GetInt64() : null,
                DateTimeOffset.FromUnixTimeSeconds(root.TryGetProperty("iat", out var iat) ? iat.GetInt64() : throw new FormatException("the token has no 'iat'")));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new FormatException($"the token's claims are not an EAR: {e.Message}", e);
        }
    }

    private static string Required(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new FormatException($"the token's submodule has no string '{name}'");
}
