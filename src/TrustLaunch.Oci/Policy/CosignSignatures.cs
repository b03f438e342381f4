using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Policy;

/// <summary>One cosign signature: the simple signing payload (a layer blob) and its base64 signature (the layer's annotation).</summary>
public sealed record CosignSignature(byte[] Payload, string SignatureBase64);

/// <summary>
/// Sigstore signatures in cosign's registry format: an OCI manifest tagged <c>sha256-HEX.sig</c> in the image's
/// repository, one layer per signature of media type <see cref="PayloadMediaType"/> whose blob is the payload
/// (<see cref="SimpleSigningPayload.CosignType"/>) and whose annotation <see cref="SignatureAnnotation"/> is the
/// base64 DER ECDSA (or RSA PKCS#1 v1.5) signature over the payload's SHA-256, checked against public keys (PEM).
/// </summary>
public static class CosignSignatures
{
    public const string PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json";
    public const string SignatureAnnotation = "dev.cosignproject.cosign/signature";
    public const int MaxPayloadBytes = 1 << 20;

    /// <summary>The artifactType cosign gives signatures it stores as OCI 1.1 referrers.</summary>
    public const string ReferrerArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json";

    public static string TagFor(Digest manifestDigest) => $"{manifestDigest.Algorithm}-{manifestDigest.Hex}.sig";

    /// <summary>
    /// The signatures of <paramref name="manifestDigest"/>: those of each referrer of cosign's artifactType (when the
    /// registry serves the referrers API) and of the <c>sha256-HEX.sig</c> attachment tag; none when there are neither.
    /// </summary>
    public static async Task<IReadOnlyList<CosignSignature>> ReadAsync(RegistryClient client, ImageReference image, Digest manifestDigest, CancellationToken ct)
    {
        var signatures = new List<CosignSignature>();
        foreach (var referrer in await client.GetReferrersAsync(image, manifestDigest, ReferrerArtifactType, ct).ConfigureAwait(false) ?? [])
        {
            var pinned = image.WithDigest(referrer.Digest);
            signatures.AddRange(await ReadManifestAsync(client, pinned, await client.GetManifestAsync(pinned, ct).ConfigureAwait(false), ct).ConfigureAwait(false));
        }
        var tag = image.WithTag(TagFor(manifestDigest));
        try
        {
            signatures.AddRange(await ReadManifestAsync(client, tag, await client.GetManifestAsync(tag, ct).ConfigureAwait(false), ct).ConfigureAwait(false));
        }
        catch (RegistryException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
        }
        return signatures;
    }

    private static async Task<List<CosignSignature>> ReadManifestAsync(RegistryClient client, ImageReference tag, ManifestResponse response, CancellationToken ct)
    {
        var manifest = response.ParseManifest();
        var signatures = new List<CosignSignature>();
        foreach (var layer in manifest.Layers)
        {
            if (layer.MediaType != PayloadMediaType)
                throw new InvalidDataException($"signature attachment {tag}: layer media type '{layer.MediaType}', expected '{PayloadMediaType}'");
            if (layer.Annotations?.GetValueOrDefault(SignatureAnnotation) is not { Length: > 0 } signature)
                throw new InvalidDataException($"signature attachment {tag}: layer {layer.Digest} has no {SignatureAnnotation} annotation");
            if (layer.Size is <= 0 or > MaxPayloadBytes)
                throw new InvalidDataException($"signature attachment {tag}: payload of {layer.Size} bytes is outside 1..{MaxPayloadBytes}");
            await using var stream = await client.OpenBlobAsync(tag, layer.Digest, layer.Size, ct).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
            signatures.Add(new CosignSignature(buffer.ToArray(), signature));
        }
        return signatures;
    }

    /// <summary>The payload when <paramref name="signature"/> verifies under one of <paramref name="publicKeysPem"/>; else throws <see cref="FormatException"/>.</summary>
    public static VerifiedSignature Verify(CosignSignature signature, IReadOnlyList<string> publicKeysPem)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(signature.SignatureBase64);
        }
        catch (FormatException)
        {
            throw new FormatException("cosign signature annotation is not base64");
        }
        foreach (var pem in publicKeysPem)
        {
            if (VerifyWith(pem, signature.Payload, bytes) is { } keyId)
                return new VerifiedSignature(keyId, SimpleSigningPayload.Parse(signature.Payload, SimpleSigningPayload.CosignType));
        }
        throw new FormatException("cosign signature does not verify under any of the trusted keys");
    }

    /// <summary>Signs a payload with an EC (P-256: ES256) private key, DER-encoded as cosign writes it.</summary>
    public static string Sign(ReadOnlySpan<byte> payload, ECDsa key) =>
        Convert.ToBase64String(key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));

    /// <summary>Adds a signature to the image's <c>sha256-HEX.sig</c> attachment (created when absent), keeping the signatures already there.</summary>
    public static async Task<ImageReference> AttachAsync(RegistryClient client, ImageReference image, Digest manifestDigest, byte[] payload, string signatureBase64,
        CancellationToken ct)
    {
        var tag = image.WithTag(TagFor(manifestDigest));
        var layers = new List<OciDescriptor>();
        try
        {
            layers.AddRange((await client.GetManifestAsync(tag, ct).ConfigureAwait(false)).ParseManifest().Layers);
        }
        catch (RegistryException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
        }
        var payloadDigest = Digest.Sha256(payload);
        if (!layers.Any(l => l.Digest == payloadDigest && l.Annotations?.GetValueOrDefault(SignatureAnnotation) == signatureBase64))
        {
            layers.Add(new OciDescriptor
            {
                MediaType = PayloadMediaType,
                Digest = payloadDigest,
                Size = payload.Length,
                Annotations = new Dictionary<string, string> { [SignatureAnnotation] = signatureBase64 },
            });
        }
        await client.PushBlobAsync(tag, GoldenArtifact.EmptyConfig, ct).ConfigureAwait(false);
        await client.PushBlobAsync(tag, payload, ct).ConfigureAwait(false);
        var manifest = new OciManifest { MediaType = MediaTypes.OciManifest, Config = GoldenArtifact.EmptyConfigDescriptor, Layers = layers };
        var bytes = JsonSerializer.SerializeToUtf8Bytes(manifest, OciJson.Readable.OciManifest);
        await client.PushManifestAsync(tag, bytes, MediaTypes.OciManifest, ct).ConfigureAwait(false);
        return tag;
    }

    /// <summary>The key's id (SHA-256 of its SubjectPublicKeyInfo, hex) when it verifies the signature, else null.</summary>
    private static string? VerifyWith(string pem, byte[] payload, byte[] signature)
    {
        try
        {
            using var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return ec.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)
                ? KeyId(ec.ExportSubjectPublicKeyInfo())
                : null;
        }
        catch (ArgumentException)
        {
            using var rsa = RSA.Create();
            try
            {
                rsa.ImportFromPem(pem);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"a sigstoreSigned key is neither an EC nor an RSA public key (PEM): {e.Message}");
            }
            return rsa.VerifyData(payload, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1) ? KeyId(rsa.ExportSubjectPublicKeyInfo()) : null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    private static string KeyId(byte[] subjectPublicKeyInfo) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo));
}
