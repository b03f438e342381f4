using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Signing;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Local mode: fetches the golden value published beside the image, checks its signature against the trusted
/// publisher keys, its validity window and the trust policy (where it was published, revocation, rollback, required
/// signers), then
/// compares manifest, config, layers and diff_ids.
/// </summary>
public sealed class LocalImageJudge(TrustedKeys trustedPublishers, TimeProvider? time = null, GoldenTrustPolicy? policy = null) : IImageJudge
{
    public string Mode => "local";

    public async Task<ImageApproval> JudgeAsync(RegistryClient client, ImageMeasurement image, CancellationToken cancellationToken)
    {
        var (tag, jws, missing, malformed) = await GoldenFetch.FetchArtifactAsync(client, image.Reference, image.ManifestDigest, cancellationToken).ConfigureAwait(false);
        if (missing)
            throw new ImageNotVerifiedException($"no golden value for {image.Reference} (tag {tag.Tag} not found)");
        if (malformed is not null)
            throw new ImageNotVerifiedException($"malformed golden value: {malformed}");

        var verdict = GoldenValueVerifier.Verify(jws!, trustedPublishers, image.ManifestDigest, (time ?? TimeProvider.System).GetUtcNow());
        if (!verdict.IsVerified)
            throw new ImageNotVerifiedException(verdict.Reason!);
        var value = verdict.Value!;
        if ((policy ?? GoldenTrustPolicy.Default).FindRefusal(verdict, image.Reference) is { } refusal)
            throw new ImageNotVerifiedException(refusal);
        if (value.FindMismatch(new ObservedImage(image.ManifestDigest, image.ConfigDigest, image.LayerDigests, image.DiffIds)) is { } mismatch)
            throw new ImageNotVerifiedException(mismatch);
        return new ImageApproval(value.PublisherKeyId, verdict.Golden!.Value.ToString(), value.RootfsDigest, jws!, verdict.Signers);
    }
}
