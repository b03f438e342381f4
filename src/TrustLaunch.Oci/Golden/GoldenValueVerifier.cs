using TrustLaunch.Jose;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Oci.Golden;

/// <summary>The outcome of checking a golden value: verified with its value and signers, or refused with one exact reason.</summary>
public sealed record GoldenVerification
{
    private GoldenVerification(GoldenValue? value, Digest? golden, Digest? payload, IReadOnlyList<string> signers, IReadOnlySet<Digest> digests, string? reason)
    {
        Value = value;
        Golden = golden;
        Payload = payload;
        Signers = signers;
        Digests = digests;
        Reason = reason;
    }

    public bool IsVerified => Reason is null;

    /// <summary>The golden value (set when verified).</summary>
    public GoldenValue? Value { get; }

    /// <summary>The SHA-256 of the JWS as published, what <c>ImageVerified</c>'s <c>golden</c> names (set when verified).</summary>
    public Digest? Golden { get; }

    /// <summary>The SHA-256 of the signed payload (the golden value's canonical JSON), what revocation matches first: the
    /// same for every JWS of the value, re-signed, countersigned or with a malleated signature (set when verified).</summary>
    public Digest? Payload { get; }

    /// <summary>The key ids whose signatures were checked and hold, the publisher first, then the countersigners in the
    /// order the JWS lists them; signatures by keys that are not trusted are not among them (empty when refused).</summary>
    public IReadOnlyList<string> Signers { get; }

    /// <summary>What revocations of the older form match: the SHA-256 of the JWS as published and of each of its
    /// signatures as a compact JWS. They do not survive a new signature over the same payload (ECDSA signs with a fresh
    /// nonce, and <c>s</c> may be replaced by <c>n - s</c>): revoke by <see cref="Payload"/>.</summary>
    public IReadOnlySet<Digest> Digests { get; }

    /// <summary>Why it was refused: <c>signature invalid</c>, <c>signature by KID invalid</c>,
    /// <c>untrusted publisher key KID</c>, <c>expired at TIME</c>, <c>not yet valid</c>, <c>manifest digest mismatch: …</c>,
    /// <c>malformed golden value: …</c>.</summary>
    public string? Reason { get; }

    internal static GoldenVerification Verified(GoldenValue value, Digest golden, Digest payload, IReadOnlyList<string> signers, IReadOnlySet<Digest> digests) =>
        new(value, golden, payload, signers, digests, null);

    internal static GoldenVerification Refused(string reason) => new(null, null, null, [], new HashSet<Digest>(), reason);

    public override string ToString() => Reason is null ? "verified" : $"NOT verified: {Reason}";
}

public static class GoldenValueVerifier
{
    /// <summary>
    /// Checks a golden value JWS, compact (one signature) or JSON (the publisher's and countersignatures): each
    /// signature's header (<c>typ</c>, <c>alg</c>, <c>kid</c>, one signature per key); every signature by a trusted key
    /// (a wrong one refuses the whole value; one by a key not trusted is ignored); that a trusted key signed; the
    /// payload; that its publisher key id is a trusted signer; the validity window; and that it is for
    /// <paramref name="expectedManifestDigest"/>. The payload is parsed only after a trusted signature checked out.
    /// </summary>
    public static GoldenVerification Verify(string jws, TrustedKeys trustedKeys, Digest expectedManifestDigest, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(trustedKeys);
        IReadOnlyList<JwsParts> signatures;
        try
        {
            signatures = JwsJson.ParseSignatures(jws);
        }
        catch (FormatException e)
        {
            return Malformed(e.Message);
        }
        var keyIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var parts in signatures)
        {
            if (parts.Type != GoldenValue.JwsType)
                return Malformed($"JWS typ is '{parts.Type}', expected '{GoldenValue.JwsType}'");
            if (parts.Algorithm is not (JwsAlgorithms.ES256 or JwsAlgorithms.RS256 or JwsAlgorithms.PS256))
                return Malformed($"JWS alg '{parts.Algorithm}' is not ES256, RS256 or PS256");
            if (string.IsNullOrEmpty(parts.KeyId))
                return Malformed("JWS header has no 'kid'");
            if (!keyIds.Add(parts.KeyId))
                return Malformed($"two signatures by {parts.KeyId}");
        }
        var verified = new List<string>();
        foreach (var parts in signatures)
        {
            if (!trustedKeys.TryGet(parts.KeyId!, out var verifier))
                continue;
            if (!verifier.Verify(parts.Algorithm, parts.SigningInput, parts.Signature))
                return GoldenVerification.Refused(signatures.Count == 1 ? "signature invalid" : $"signature by {parts.KeyId} invalid");
            verified.Add(parts.KeyId!);
        }
        if (verified.Count == 0)
            return GoldenVerification.Refused($"untrusted publisher key {signatures[0].KeyId}");
        GoldenValue value;
        try
        {
            value = GoldenValue.ParsePayload(signatures[0].Payload);
        }
        catch (FormatException e)
        {
            return Malformed(e.Message);
        }
        if (!keyIds.Contains(value.PublisherKeyId))
            return Malformed(signatures.Count == 1
                ? $"payload publisher_kid {value.PublisherKeyId} is not the signing key {signatures[0].KeyId}"
                : $"payload publisher_kid {value.PublisherKeyId} made none of its {signatures.Count} signatures");
        if (!verified.Contains(value.PublisherKeyId, StringComparer.Ordinal))
            return GoldenVerification.Refused($"untrusted publisher key {value.PublisherKeyId}");
        if (ValidityRefusal(value, expectedManifestDigest, now) is { } refused)
            return GoldenVerification.Refused(refused);
        var golden = Digest.Parse(GoldenValue.JwsDigest(jws));
        var digests = new HashSet<Digest> { golden };
        foreach (var parts in signatures)
            digests.Add(Digest.Parse(GoldenValue.JwsDigest(parts.ToCompact())));
        return GoldenVerification.Verified(value, golden, Digest.Sha256(signatures[0].Payload), [value.PublisherKeyId, .. verified.Where(k => k != value.PublisherKeyId)], digests);
    }

    /// <summary>
    /// <paramref name="verified"/> (a verification that held) judged again for another image digest and time: the
    /// checks of <see cref="Verify"/> that depend on them, with the same reasons. Its signatures need no second look.
    /// </summary>
    public static GoldenVerification Recheck(GoldenVerification verified, Digest expectedManifestDigest, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(verified);
        if (!verified.IsVerified)
            throw new ArgumentException("only a verification that held can be checked again", nameof(verified));
        return ValidityRefusal(verified.Value!, expectedManifestDigest, now) is { } refused ? GoldenVerification.Refused(refused) : verified;
    }

    private static string? ValidityRefusal(GoldenValue value, Digest expectedManifestDigest, DateTimeOffset now)
    {
        if (now >= value.Expires)
            return $"expired at {GoldenValue.FormatTime(value.Expires)}";
        if (now < value.Created)
            return "not yet valid";
        return value.ManifestDigest != expectedManifestDigest
            ? $"manifest digest mismatch: golden value is for {value.ManifestDigest}, image is {expectedManifestDigest}"
            : null;
    }

    private static GoldenVerification Malformed(string why) => GoldenVerification.Refused($"malformed golden value: {why}");
}
