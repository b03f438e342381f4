using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace TrustLaunch.Oci.Content;

/// <summary>
/// An OCI content digest, <c>algorithm:hex</c>. Only sha256 and sha512 are accepted (what the image spec registers),
/// with lowercase hex of the right length, so a digest can safely name a file in the content store.
/// </summary>
[JsonConverter(typeof(DigestJsonConverter))]
public readonly record struct Digest
{
    private Digest(string algorithm, string hex)
    {
        Algorithm = algorithm;
        Hex = hex;
    }

    public string Algorithm { get; }
    public string Hex { get; }

    public static Digest Parse(string text) =>
        TryParse(text, out var digest, out var error) ? digest : throw new FormatException(error);

    public static bool TryParse(string? text, out Digest digest, [NotNullWhen(false)] out string? error)
    {
        digest = default;
        var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (text is null || colon < 0)
        {
            error = $"'{text}' is not a digest: expected algorithm:hex, e.g. sha256:…";
            return false;
        }
        var algorithm = text[..colon];
        var hex = text[(colon + 1)..];
        var length = algorithm switch { "sha256" => 64, "sha512" => 128, _ => 0 };
        if (length == 0)
        {
            error = $"digest '{text}': algorithm '{algorithm}' is not sha256 or sha512";
            return false;
        }
        if (hex.Length != length || !hex.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
        {
            error = $"digest '{text}': expected {length} lowercase hex digits";
            return false;
        }
        digest = new Digest(algorithm, hex);
        error = null;
        return true;
    }

    public static Digest Sha256(ReadOnlySpan<byte> data) => FromHash("sha256", SHA256.HashData(data));

    public static Digest FromHash(string algorithm, ReadOnlySpan<byte> hash) =>
        Parse($"{algorithm}:{Convert.ToHexStringLower(hash)}");

    /// <summary>A hash object for this digest's algorithm, to digest a stream as it passes.</summary>
    public IncrementalHash CreateHash() => IncrementalHash.CreateHash(Algorithm == "sha512" ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256);

    public bool IsEmpty => Algorithm is null;

    public override string ToString() => $"{Algorithm}:{Hex}";
}

internal sealed class DigestJsonConverter : JsonConverter<Digest>
{
    public override Digest Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Digest.TryParse(reader.GetString(), out var digest, out var error) ? digest : throw new JsonException(error);

    public override void Write(Utf8JsonWriter writer, Digest value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
