using TrustLaunch.Jose;
using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Agent.Tests.Cri;

/// <summary>What a store and an attacker do to a golden value published by <see cref="CriGolden"/>: countersign it
/// (as <c>trustlaunch golden countersign</c>), or push another JWS under its tag.</summary>
internal static class CriTrustGolden
{
    /// <summary>The golden value's JWS as published for <paramref name="reference"/>.</summary>
    public static async Task<string> FetchAsync(string reference, RegistryClientOptions? registry = null)
    {
        using var client = new RegistryClient(registry);
        var fetched = await GoldenFetch.FetchAsync(client, ImageReference.Parse(reference), null, CancellationToken.None);
        return fetched.Jws ?? throw new InvalidOperationException($"no golden value for {reference}: {fetched.Malformed ?? "missing"}");
    }

    public static async Task CountersignAsync(string reference, IPayloadSigner store) =>
        await ReplaceAsync(reference, GoldenCountersign.Add(await FetchAsync(reference), store).Jws);

    /// <summary>Pushes <paramref name="jws"/> as the golden value of <paramref name="reference"/>'s manifest.</summary>
    public static async Task ReplaceAsync(string reference, string jws, RegistryClientOptions? registry = null)
    {
        var r = ImageReference.Parse(reference);
        using var client = new RegistryClient(registry);
        var image = await client.ResolveImageAsync(r);
        var subject = new OciDescriptor { MediaType = image.Manifest.MediaType, Digest = image.Manifest.Digest, Size = image.Manifest.Bytes.Length };
        await GoldenArtifact.PushAsync(client, r.WithTag(GoldenArtifact.TagFor(image.Manifest.Digest)), GoldenArtifact.Build(jws, subject), CancellationToken.None);
    }
}
