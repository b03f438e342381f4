using System.Text.Json;
using TrustLaunch.Measurement;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Verifier.Policies;

public static partial class EventPolicy
{
    /// <summary>
    /// The node says the image matched a golden value; the verifier checks that golden value itself: the evidence holds
    /// it and it hashes to <c>golden</c>; it is signed by a key the policy trusts, names the event's image digest, and was
    /// valid when the record arrived. Its signer, never the event's <c>publisher</c>, is the publisher the policy judges;
    /// the signers the event names must be among those the verifier checked, and the policy's required signers
    /// (<c>golden_trust</c> <c>all_of</c> / <c>any_of</c>) are judged from the verifier's own checks.
    /// </summary>
    private static string? ImageVerified(AttestationPolicy policy, JsonElement content, EventContext context)
    {
        if (Require(content, "image", "digest", "golden", "publisher", "rootfs") is { } missing)
            return missing;
        var imageText = content.GetProperty("image").GetString()!;
        if (!ImageReference.TryParse(imageText, out var image, out var imageError))
            return $"image '{imageText}' is not an image reference: {imageError}";
        var digestText = content.GetProperty("digest").GetString()!;
        if (!Digest.TryParse(digestText, out var digest, out var digestError))
            return digestError;
        var golden = content.GetProperty("golden").GetString()!;
        if (!context.GoldenValues.TryGetValue(golden, out var jws))
            return $"the evidence holds no golden value {golden}";
        var actual = GoldenValue.JwsDigest(jws);
        if (actual != golden)
            return $"the evidence's golden value {golden} hashes to {actual}";
        var verification = policy.VerifyGoldenValue(golden, jws, digest, context.ReceivedAt);
        if (!verification.IsVerified)
            return $"golden value NOT verified: {verification.Reason}";
        var value = verification.Value!;
        var publisher = content.GetProperty("publisher").GetString()!;
        if (publisher != value.PublisherKeyId)
            return $"the event names publisher {publisher}, but its golden value is signed by {value.PublisherKeyId}";
        var rootfs = content.GetProperty("rootfs").GetString()!;
        if (rootfs != value.RootfsDigest.ToString())
            return $"the event's rootfs {rootfs} is not its golden value's {value.RootfsDigest}";
        if (ClaimedSigners(policy, content, verification) is { } claimed)
            return claimed;
        if (policy.GoldenTrust.FindRefusal(verification, image) is { } refused)
            return $"golden value refused by {policy.Display}: {refused}";
        if (policy.AllowsDigest(digestText))
            return null;
        if (!policy.AllowsPublisher(value.PublisherKeyId))
            return $"image {digestText} (publisher {value.PublisherKeyId}) is not allowed by {policy.Display}";
        context.VerifiedImages.Add(digestText);
        return null;
    }

    /// <summary>The event's <c>signers</c> (optional: older events have none) must each be a signature the verifier
    /// checked itself under this policy; the policy's required signers are judged from its own list, never the event's.</summary>
    private static string? ClaimedSigners(AttestationPolicy policy, JsonElement content, GoldenVerification verification)
    {
        if (!content.TryGetProperty("signers", out var signers))
            return null;
        if (signers.ValueKind != JsonValueKind.Array)
            return $"content 'signers' is {signers.ValueKind}, expected an array of key ids";
        foreach (var signer in signers.EnumerateArray())
        {
            if (signer.ValueKind != JsonValueKind.String)
                return $"content 'signers' holds {signer.ValueKind}, expected key ids";
            var keyId = signer.GetString()!;
            if (!verification.Signers.Contains(keyId, StringComparer.Ordinal))
                return $"the event names signer {keyId}, but its golden value holds no valid signature by that key which {policy.Display} trusts";
        }
        return null;
    }

    private static string? ContainerCreated(AttestationPolicy policy, long recnum, JsonElement content, EventContext context)
    {
        if (Require(content, "container", "namespace", "digest", "network", "seccomp") is { } missing)
            return missing;
        var container = content.GetProperty("container").GetString()!;
        if (ContainerIdProblem(container) is { } badId)
            return badId;
        var digest = content.GetProperty("digest").GetString()!;
        if (!policy.AllowsDigest(digest) && !context.VerifiedImages.Contains(digest))
            return $"image {digest} is not allowed by {policy.Display}";
        var ns = content.GetProperty("namespace").GetString()!;
        if (!policy.AllowsNamespace(ns))
            return $"namespace '{ns}' is not allowed by {policy.Display}";
        var problem = content.GetProperty("network").GetString() switch
        {
            ContainerIsolation.NetworkPod => null,
            ContainerIsolation.NetworkHost => policy.AllowsHostNetwork ? null
                : $"container '{container}' uses the host network, which {policy.Display} does not allow (allow_host_network)",
            var other => $"network '{other}' is neither {ContainerIsolation.NetworkPod} nor {ContainerIsolation.NetworkHost}",
        } ?? content.GetProperty("seccomp").GetString() switch
        {
            ContainerIsolation.SeccompDefault => null,
            ContainerIsolation.SeccompUnconfined => policy.AllowsUnconfinedSeccomp ? null
                : $"container '{container}' runs without seccomp, which {policy.Display} does not allow (allow_unconfined_seccomp)",
            var other => $"seccomp '{other}' is neither {ContainerIsolation.SeccompDefault} nor {ContainerIsolation.SeccompUnconfined}",
        };
        if (problem is null)
        {
            context.CreatedContainers[container] = digest;
            context.Launches.Add(new Hosting.Contracts.VerifiedLaunch(recnum, container, digest, OptionalString(content, "image"),
                OptionalString(content, "pod"), ns));
        }
        return problem;
    }

    private static string OptionalString(JsonElement content, string member) =>
        content.TryGetProperty(member, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
}
