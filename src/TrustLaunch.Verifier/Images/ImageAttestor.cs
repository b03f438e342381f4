using System.Security.Cryptography.X509Certificates;
using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Verifier.Policies;
using TrustLaunch.Verifier.Polling;
using TrustLaunch.Verifier.Storage;

namespace TrustLaunch.Verifier.Images;

/// <summary>
/// Remote-mode launches: the agent reports the image it is about to run; the verifier fetches the image's golden value
/// from the registry itself (tag <c>sha256-HEX.golden</c>), checks it against the trusted publishers of the agent's
/// policy and its <c>golden_trust</c> (required signers among them), compares it with the report, and allows the image only when the policy allows its digest or its publisher.
/// </summary>
public sealed class ImageAttestor(IVerifierStore store, PolicyCache policies, RegistryClient registry, AgentConnections connections, TimeProvider time)
{
    /// <param name="caller">The client certificate of the request: it must be the TLS certificate the agent registered,
    /// so a node can ask only about itself.</param>
    public async Task<ImageAttestationDecision> DecideAsync(ImageAttestationRequest request, X509Certificate2? caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!await connections.IsRegisteredCertificateAsync(request.AgentId, caller, cancellationToken).ConfigureAwait(false))
            return Deny($"the caller's TLS certificate is not the one agent '{request.AgentId}' registered");
        var agent = await store.GetAgentAsync(request.AgentId, cancellationToken).ConfigureAwait(false);
        if (agent is null)
            return Deny($"agent '{request.AgentId}' is not under attestation");
        if (agent.State is AgentStates.Failed)
            return Deny($"agent '{request.AgentId}' failed attestation: {agent.FailureReason}");
        var stored = await store.GetPolicyAsync(agent.PolicyName, null, cancellationToken).ConfigureAwait(false);
        if (stored is null)
            return Deny($"policy '{agent.PolicyName}' no longer exists");
        var policy = policies.Get(stored);
        if (!ImageReference.TryParse(request.Reference, out var reference, out var referenceError))
            return Deny($"reference '{request.Reference}': {referenceError}");
        if (!TryDigests(request, out var observed, out var digestError))
            return Deny(digestError);

        var (_, found, missing, malformed) = await GoldenFetch.FetchArtifactAsync(registry, reference, observed.ManifestDigest, cancellationToken).ConfigureAwait(false);
        if (missing)
            return Deny($"no golden value for {observed.ManifestDigest} in {reference.Registry}/{reference.Repository}");
        if (malformed is not null)
            return Deny($"golden value for {observed.ManifestDigest} is malformed: {malformed}");
        var jws = found!;
        var verification = GoldenValueVerifier.Verify(jws, policy.TrustedKeys, observed.ManifestDigest, time.GetUtcNow());
        if (!verification.IsVerified)
            return Deny($"golden value NOT verified: {verification.Reason}");
        var golden = verification.Value!;
        if (golden.FindMismatch(observed with { DiffIds = golden.DiffIds }) is { } mismatch)
            return Deny($"image does not match its golden value: {mismatch}");
        if (policy.GoldenTrust.FindRefusal(verification, reference) is { } refused)
            return Deny($"golden value refused by {policy.Display}: {refused}");
        if (!policy.AllowsDigest(observed.ManifestDigest.ToString()) && !policy.AllowsPublisher(golden.PublisherKeyId))
            return Deny($"image {observed.ManifestDigest} (publisher {golden.PublisherKeyId}) is not allowed by {policy.Display}");
        return new ImageAttestationDecision(true, "verified", golden.PublisherKeyId, verification.Golden!.Value.ToString(), golden.RootfsDigest.ToString(), jws,
            verification.Signers);
    }

    private static bool TryDigests(ImageAttestationRequest request, out ObservedImage observed, out string error)
    {
        observed = null!;
        var layers = new List<Digest>();
        foreach (var text in request.LayerDigests)
        {
            if (!Digest.TryParse(text, out var layer, out var layerError))
            {
                error = $"layer digest '{text}': {layerError}";
                return false;
            }
            layers.Add(layer);
        }
        Digest? rootfs = null;
        if (request.RootfsDigest is { } rootfsText)
        {
            if (!Digest.TryParse(rootfsText, out var parsed, out var rootfsError))
            {
                error = $"rootfs digest '{rootfsText}': {rootfsError}";
                return false;
            }
            rootfs = parsed;
        }
        if (!Digest.TryParse(request.ManifestDigest, out var manifest, out var manifestError))
        {
            error = $"manifest digest '{request.ManifestDigest}': {manifestError}";
            return false;
        }
        if (!Digest.TryParse(request.ConfigDigest, out var config, out var configError))
        {
            error = $"config digest '{request.ConfigDigest}': {configError}";
            return false;
        }
        observed = new ObservedImage(manifest, config, layers, [], rootfs);
        error = "";
        return true;
    }

    private static ImageAttestationDecision Deny(string reason) => new(false, reason, null, null, null);
}
