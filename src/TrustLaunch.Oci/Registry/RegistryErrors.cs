using System.Net;
using System.Text.Json.Serialization;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Registry;

/// <summary>One entry of a registry's <c>{"errors":[…]}</c> body (distribution spec error codes).</summary>
public sealed record RegistryError
{
    [JsonPropertyName("code")] public string Code { get; init; } = "";
    [JsonPropertyName("message")] public string? Message { get; init; }

    public override string ToString() => string.IsNullOrEmpty(Message) ? Code : $"{Code}: {Message}";
}

internal sealed record RegistryErrorBody
{
    [JsonPropertyName("errors")] public IReadOnlyList<RegistryError>? Errors { get; init; }
}

/// <summary>A registry answered with an error status; <see cref="Errors"/> holds its JSON error codes, if any.</summary>
public sealed class RegistryException(string message, HttpStatusCode? statusCode, IReadOnlyList<RegistryError> errors, Exception? inner = null)
    : Exception(message, inner)
{
    public HttpStatusCode? StatusCode { get; } = statusCode;
    public IReadOnlyList<RegistryError> Errors { get; } = errors;

    /// <summary>True when one of the registry's error codes is <paramref name="code"/> (e.g. MANIFEST_UNKNOWN).</summary>
    public bool HasCode(string code) => Errors.Any(e => e.Code == code);
}

/// <summary>Content that does not match the descriptor naming it.</summary>
public abstract class OciContentException(string message) : Exception(message);

/// <summary>Content whose bytes do not hash to the digest that names it.</summary>
public sealed class OciDigestMismatchException(string what, Digest expected, Digest actual)
    : OciContentException($"{what}: digest mismatch: expected {expected}, got {actual}")
{
    public Digest Expected { get; } = expected;
    public Digest Actual { get; } = actual;
}

/// <summary>Content longer or shorter than the size its descriptor declares.</summary>
public sealed class OciSizeMismatchException(string what, long expected, long actual, bool tooLong)
    : OciContentException(tooLong
        ? $"{what}: size mismatch: more than the expected {expected} bytes"
        : $"{what}: size mismatch: expected {expected} bytes, got {actual}")
{
    public long Expected { get; } = expected;
    public long Actual { get; } = actual;
}

/// <summary>An image index with no manifest for the requested platform.</summary>
public sealed class PlatformNotFoundException(string message) : Exception(message);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RegistryErrorBody))]
[JsonSerializable(typeof(TokenResponse))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;

internal sealed record TokenResponse
{
    [JsonPropertyName("token")] public string? Token { get; init; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    [JsonPropertyName("expires_in")] public int? ExpiresIn { get; init; }
}
