using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Launcher;

/// <summary>What the launcher measured of a pulled image, before and after unpacking it.</summary>
public sealed record ImageMeasurement(
    ImageReference Reference,
    Digest ManifestDigest,
    Digest ConfigDigest,
    IReadOnlyList<Digest> LayerDigests,
    IReadOnlyList<Digest> DiffIds);

/// <summary>
/// Allowed, with what <c>ImageVerified</c> records: the publisher key id, the SHA-256 of the golden value JWS and
/// the rootfs tree digest the unpacked snapshot must have; and the golden value JWS itself, measured with it so the
/// verifier can check it again. <c>Signers</c>: the key ids whose signatures on it were checked (the publisher first).
/// </summary>
public sealed record ImageApproval(string Publisher, string Golden, Digest RootfsDigest, string GoldenValue, IReadOnlyList<string>? Signers = null)
{
    /// <summary>The <c>ImageVerified</c> content for <paramref name="image"/> (as given) at <paramref name="digest"/>.</summary>
    public ImageVerifiedEvent ToEvent(string image, string digest, string mode) =>
        new(image, digest, mode, Publisher, Golden, RootfsDigest.ToString(), Signers);
}

/// <summary>Decides whether a pulled image may run: locally from golden values, or by asking the verifier.</summary>
public interface IImageJudge
{
    string Mode { get; }

    /// <returns>The approval, or throws <see cref="ImageNotVerifiedException"/> with the reason.</returns>
    Task<ImageApproval> JudgeAsync(RegistryClient client, ImageMeasurement image, CancellationToken cancellationToken);
}
