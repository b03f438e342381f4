using System.Security.Cryptography;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Policy;

/// <summary>
/// Signs an image the way skopeo and cosign do, so their policies accept it: the payload names
/// <c>HOST/REPO:TAG</c> (or <c>HOST/REPO</c> for a reference by digest) and the manifest digest.
/// </summary>
public static class ImageSigner
{
    /// <summary>The identity a signature of <paramref name="image"/> claims: its name and tag, without the digest.</summary>
    public static string DockerReference(ImageReference image) => image.Tag is { } tag ? $"{image.Name}:{tag}" : image.Name;

    /// <summary>An OpenPGP simple signing signature written to the lookaside staging store registries.d names; returns the file and the signer.</summary>
    public static (string Path, string Signer) SignToLookaside(ImageReference image, Digest manifestDigest, SignatureStorage storage, byte[] secretKeyring,
        char[] passphrase, TimeProvider? time = null)
    {
        var staging = storage.LookasideStaging ?? storage.Lookaside;
        if (!staging.IsFile)
            throw new FormatException($"registries.d gives {staging} to write signatures of {image.Name} to; only file:// lookaside-staging can be written");
        var payload = new SimpleSigningPayload(DockerReference(image), manifestDigest).Serialize(SimpleSigningPayload.AtomicType, (time ?? TimeProvider.System).GetUtcNow());
        var (signature, signer) = OpenPgpSignatures.Sign(payload, secretKeyring, passphrase);
        return (LookasideStore.Write(staging, image, manifestDigest, signature), signer);
    }

    /// <summary>A cosign signature pushed as (or added to) the image's <c>sha256-HEX.sig</c> attachment; returns its tag reference.</summary>
    public static Task<ImageReference> SignWithCosignAsync(RegistryClient client, ImageReference image, Digest manifestDigest, ECDsa key, CancellationToken ct,
        TimeProvider? time = null)
    {
        var payload = new SimpleSigningPayload(DockerReference(image), manifestDigest).Serialize(SimpleSigningPayload.CosignType, (time ?? TimeProvider.System).GetUtcNow());
        return CosignSignatures.AttachAsync(client, image, manifestDigest, payload, CosignSignatures.Sign(payload, key), ct);
    }
}
