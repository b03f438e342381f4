using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using TrustLaunch.Jose;

namespace TrustLaunch.Measurement;

/// <summary>
/// A Confidential Containers event line, <c>DOMAIN OPERATION CONTENT</c>: single spaces, no whitespace in domain or
/// operation, content RFC 8785 canonical JSON (so it never holds LF or CR). The record's digest is SHA-256 of the
/// UTF-8 line, which is what the PCR is extended with.
/// </summary>
public sealed record EventLine(string Domain, string Operation, JsonElement Content)
{
    public const int DigestSize = SHA256.HashSizeInBytes;

    /// <summary>Formats a line; <paramref name="content"/> is canonicalised here.</summary>
    /// <exception cref="ArgumentException">The domain or operation is empty or holds whitespace.</exception>
    /// <exception cref="FormatException">The content is not I-JSON (see <see cref="CanonicalJson"/>).</exception>
    public static string Format(string domain, string operation, JsonElement content)
    {
        CheckToken(domain, nameof(domain));
        CheckToken(operation, nameof(operation));
        return $"{domain} {operation} {CanonicalJson.SerializeToString(content)}";
    }

    /// <summary>Formats a line whose content is a typed value serialised through its source-generated contract.</summary>
    public static string Format<T>(string domain, string operation, T content, JsonTypeInfo<T> typeInfo) =>
        Format(domain, operation, JsonSerializer.SerializeToElement(content, typeInfo));

    /// <summary>Parses a line strictly: the content must already be in canonical form, byte for byte.</summary>
    /// <exception cref="FormatException">Naming what is wrong, e.g. "event line has no operation".</exception>
    public static EventLine Parse(string line) => Parse(line, EventLineCheck.Canonical);

    /// <summary>
    /// Parses a line: domain, operation and JSON content always; with <see cref="EventLineCheck.Canonical"/> also that
    /// the content is in canonical form byte for byte, with <see cref="EventLineCheck.Verbatim"/> only that it holds no
    /// duplicate member (what canonical form would have ruled out that changes what the content says).
    /// </summary>
    /// <exception cref="FormatException">Naming what is wrong, e.g. "event line has no operation".</exception>
    public static EventLine Parse(string line, EventLineCheck check)
    {
        ArgumentNullException.ThrowIfNull(line);
        var breakAt = line.AsSpan().IndexOfAny('\n', '\r');
        if (breakAt >= 0)
            throw new FormatException($"event line holds a line break at offset {breakAt}");
        var firstSpace = line.IndexOf(' ');
        if (firstSpace <= 0)
            throw new FormatException(line.Length == 0 || firstSpace == 0 ? "event line has no domain" : "event line has no operation");
        var secondSpace = line.IndexOf(' ', firstSpace + 1);
        if (secondSpace == firstSpace + 1 || (secondSpace < 0 && firstSpace == line.Length - 1))
            throw new FormatException("event line has no operation");
        if (secondSpace < 0)
            throw new FormatException("event line has no content");
        var domain = line[..firstSpace];
        var operation = line[(firstSpace + 1)..secondSpace];
        if (domain.Any(char.IsWhiteSpace))
            throw new FormatException($"event line domain '{domain}' holds whitespace");
        if (operation.Any(char.IsWhiteSpace))
            throw new FormatException($"event line operation '{operation}' holds whitespace");
        var content = line[(secondSpace + 1)..];
        JsonElement element;
        try
        {
            element = JsonElement.Parse(content, new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            throw new FormatException($"event line content is not JSON: {ex.Message}", ex);
        }
        if (check == EventLineCheck.Canonical && CanonicalJson.SerializeToString(element) != content)
            throw new FormatException("event line content is not in RFC 8785 canonical form");
        return new EventLine(domain, operation, element);
    }

    /// <summary>SHA-256 of the UTF-8 line: the record digest and the PCR extend value.</summary>
    public static byte[] Digest(string line)
    {
        var digest = new byte[DigestSize];
        ComputeDigest(line, digest);
        return digest;
    }

    /// <summary><see cref="Digest"/> into a caller's 32-byte buffer (no allocation for short lines).</summary>
    public static void ComputeDigest(string line, Span<byte> destination)
    {
        var length = Encoding.UTF8.GetByteCount(line);
        var rented = length <= 1024 ? null : new byte[length];
        Span<byte> utf8 = rented ?? stackalloc byte[length];
        Encoding.UTF8.GetBytes(line, utf8);
        SHA256.HashData(utf8, destination);
    }

    private static void CheckToken(string token, string name)
    {
        if (string.IsNullOrEmpty(token))
            throw new ArgumentException($"the event line {name} is empty", name);
        if (token.Any(char.IsWhiteSpace))
            throw new ArgumentException($"the event line {name} '{token}' holds whitespace", name);
    }
}

/// <summary>How much of an event line <see cref="EventLine.Parse(string, EventLineCheck)"/> checks.</summary>
public enum EventLineCheck
{
    /// <summary>Well-formed, and the content canonical byte for byte (what the agent writes).</summary>
    Canonical,

    /// <summary>
    /// Well-formed JSON content without duplicate members, not re-canonicalised: the verifier's hot path, where the
    /// record digest already binds the exact bytes that are evaluated.
    /// </summary>
    Verbatim,
}
