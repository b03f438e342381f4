using System.Text.Json.Serialization;

namespace TrustLaunch.Measurement;

/// <summary>
/// One record of the launch event log in the TCG Canonical Event Log JSON form. <see cref="Content"/> is the exact
/// event line (<c>DOMAIN OPERATION CONTENT</c>) whose SHA-256 is the record's digest; keeping the line verbatim means a
/// verifier hashes the same bytes the agent extended, with no re-canonicalisation in between.
/// </summary>
public sealed record CelRecord(
    [property: JsonPropertyName("recnum")] long RecNum,
    [property: JsonPropertyName("pcr")] int Pcr,
    [property: JsonPropertyName("digests")] IReadOnlyList<CelDigest> Digests,
    [property: JsonPropertyName("content_type")] string ContentType,
    [property: JsonPropertyName("content")] string Content)
{
    /// <summary>The content type of TrustLaunch records: the content is an event line.</summary>
    public const string EventLineContentType = "event_line";
}

/// <summary>One digest of a record: <c>hashAlg</c> as TCG names it (<c>sha256</c>), <c>digest</c> in lowercase hex.</summary>
public sealed record CelDigest(
    [property: JsonPropertyName("hashAlg")] string HashAlg,
    [property: JsonPropertyName("digest")] string Digest);
