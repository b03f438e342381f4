using System.Net.Http.Json;
using TrustLaunch.Hosting.Clients;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Launcher;

/// <summary>
/// Remote mode: the verifier looks the golden value up itself, checks it against the agent's policy and answers
/// allow or deny (<c>POST /v1/images/attest</c> on its agent port); the launcher follows the answer and still checks
/// its snapshot against the rootfs digest the verifier approved.
/// </summary>
public sealed class RemoteImageJudge(HttpClient verifier, string agentId) : IImageJudge
{
    public string Mode => "remote";

    public async Task<ImageApproval> JudgeAsync(RegistryClient client, ImageMeasurement image, CancellationToken cancellationToken)
    {
        var request = new ImageAttestationRequest(agentId, image.Reference.ToString(), image.ManifestDigest.ToString(), image.ConfigDigest.ToString(),
            image.LayerDigests.Select(d => d.ToString()).ToList(), null);
        using var response = await verifier.PostAsJsonAsync("/v1/images/attest", request, ContractsJsonContext.Default.ImageAttestationRequest, cancellationToken).ConfigureAwait(false);
        await ServiceProblemException.EnsureSuccessAsync(response, "verifier image attestation", cancellationToken).ConfigureAwait(false);
        var decision = await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.ImageAttestationDecision, cancellationToken).ConfigureAwait(false)
            ?? throw new IOException("the verifier answered the image attestation with an empty body");
        if (!decision.Allow)
            throw new ImageNotVerifiedException($"the verifier denied it: {decision.Reason}");
        if (decision is not { Publisher: { } publisher, Golden: { } golden, GoldenValue: { } jws } || !Digest.TryParse(decision.RootfsDigest, out var rootfs, out _))
            throw new IOException("the verifier allowed the image but did not say which golden value (publisher, golden, rootfs_digest, golden_value)");
        if (GoldenValue.JwsDigest(jws) != golden)
            throw new IOException($"the verifier allowed the image by golden value {golden}, but the golden_value it sent hashes to {GoldenValue.JwsDigest(jws)}");
        return new ImageApproval(publisher, golden, rootfs, jws, decision.Signers);
    }
}
