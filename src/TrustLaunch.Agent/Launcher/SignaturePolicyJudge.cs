using TrustLaunch.Oci.Policy;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// containers-policy.json beside the golden value: the image must satisfy the node's signature policy (skopeo /
/// podman simple signing, cosign) and then the inner judge (golden value, locally or by the verifier). Both must
/// pass; a policy refusal is an <see cref="ImageNotVerifiedException"/> with the policy's reason, before any layer is fetched.
/// </summary>
public sealed class SignaturePolicyJudge(IImageJudge inner, SignaturePolicyCheck policy) : IImageJudge
{
    public string Mode => inner.Mode;

    public async Task<ImageApproval> JudgeAsync(RegistryClient client, ImageMeasurement image, CancellationToken cancellationToken)
    {
        var verdict = await policy.CheckAsync(client, image.Reference, image.ManifestDigest, cancellationToken).ConfigureAwait(false);
        if (verdict.Refusal is { } refusal)
            throw new ImageNotVerifiedException(refusal);
        return await inner.JudgeAsync(client, image, cancellationToken).ConfigureAwait(false);
    }
}
