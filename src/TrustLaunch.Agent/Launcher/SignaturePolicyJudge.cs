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
    /// <summary>Reads http(s) lookaside stores; one per process, as HttpClient is meant to be used.</summary>
    private static readonly HttpClient LookasideHttp = new() { Timeout = TimeSpan.FromSeconds(60) };

    public string Mode => inner.Mode;

    /// <summary>
    /// <paramref name="inner"/> behind the signature policy at <paramref name="policyPath"/> (default
    /// <see cref="SignaturePolicy.DefaultPath"/> when it exists), or <paramref name="inner"/> alone when there is none.
    /// </summary>
    /// <exception cref="FormatException">A malformed policy or registries.d.</exception>
    /// <exception cref="FileNotFoundException">A named policy that does not exist.</exception>
    public static IImageJudge Wrap(IImageJudge inner, string? policyPath, string? registriesD)
    {
        if (policyPath is null && !File.Exists(SignaturePolicy.DefaultPath))
            return inner;
        return new SignaturePolicyJudge(inner, new SignaturePolicyCheck(SignaturePolicy.Load(policyPath), RegistriesD.Load(registriesD), LookasideHttp));
    }

    public async Task<ImageApproval> JudgeAsync(RegistryClient client, ImageMeasurement image, CancellationToken cancellationToken)
    {
        var verdict = await policy.CheckAsync(client, image.Reference, image.ManifestDigest, cancellationToken).ConfigureAwait(false);
        if (verdict.Refusal is { } refusal)
            throw new ImageNotVerifiedException(refusal);
        return await inner.JudgeAsync(client, image, cancellationToken).ConfigureAwait(false);
    }
}
