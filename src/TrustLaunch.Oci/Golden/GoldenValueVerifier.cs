using TrustLaunch.Jose;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Oci.Golden;

/// <summary>The outcome of checking a golden value: verified with its value, or refused with one exact reason.</summary>
public sealed record GoldenVerification
{
    private GoldenVerification(GoldenValue? value, string? reason)
    {
        Value = value;
        Reason = reason;
    }

    public bool IsVerified => Reason is null;

    /// <summary>The golden value (set when verified).</summary>
    public GoldenValue? Value { get; }

    /// <summary>Why it was refused: <c>signature invalid</c>, <c>untrusted publisher key KID</c>,
    /// <c>expired at TIME</c>, <c>not yet valid</c>, <c>manifest digest mismatch: …</c>,
    /// <c>malformed golden value: …</c>.</summary>
    public string? Reason { get; }

    internal static GoldenVerification Verified(GoldenValue value) => new(value, null);
    internal static GoldenVerification Refused(string reason) => new(null, reason);

    public override string ToString() => Reason is null ? "verified" : $"NOT verified: {Reason}";
}

public static class GoldenValueVerifier
{
    /// <summary>
    /// Checks a compact JWS golden value: structure and header (<c>typ</c>, <c>alg</c>, <c>kid</c>), that the
    /// key is trusted, the signature, the payload, that the payload's publisher key id is the header's, the validity
    /// window, and that it is for <paramref name="expectedManifestDigest"/>. The payload is parsed only after the
    /// signature checked out.
    /// </summary>
    public static GoldenVerification Verify(string jws, TrustedKeys trustedKeys, Digest expectedManifestDigest, DateTimeOffset now)
    {
        JwsParts parts;
        try
        {
            parts = Jws.Parse(jws);
        }
        catch (FormatException e)
        {
            return Malformed(e.Message);
        }
        if (parts.Type != GoldenValue.JwsType)
            return Malformed($"JWS typ is '{parts.Type}', expected '{GoldenValue.JwsType}'");
        if (parts.Algorithm is not (JwsAlgorithms.ES256 or JwsAlgorithms.RS256 or JwsAlgorithms.PS256))
            return Malformed($"JWS alg '{parts.Algorithm}' is not ES256, RS256 or PS256");
        if (string.IsNullOrEmpty(parts.KeyId))
            return Malformed("JWS header has no 'kid'");
        if (!trustedKeys.TryGet(parts.KeyId, out var verifier))
            return GoldenVerification.Refused($"untrusted publisher key {parts.KeyId}");
        if (!verifier.Verify(parts.Algorithm, parts.SigningInput, parts.Signature))
            return GoldenVerification.Refused("signature invalid");
        GoldenValue value;
        try
        {
            value = GoldenValue.ParsePayload(parts.Payload);
        }
        catch (FormatException e)
        {
            return Malformed(e.Message);
        }
        if (value.PublisherKeyId != parts.KeyId)
            return Malformed($"payload publisher_kid {value.PublisherKeyId} is not the signing key {parts.KeyId}");
        if (now >= value.Expires)
            return GoldenVerification.Refused($"expired at {GoldenValue.FormatTime(value.Expires)}");
        if (now < value.Created)
            return GoldenVerification.Refused("not yet valid");
        if (value.ManifestDigest != expectedManifestDigest)
            return GoldenVerification.Refused($"manifest digest mismatch: golden value is for {value.ManifestDigest}, image is {expectedManifestDigest}");
        return GoldenVerification.Verified(value);
    }

    private static GoldenVerification Malformed(string why) => GoldenVerification.Refused($"malformed golden value: {why}");
}
