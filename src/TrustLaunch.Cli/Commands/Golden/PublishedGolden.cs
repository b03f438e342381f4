using TrustLaunch.Oci.Golden;
using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Cli.Commands.Golden;

/// <summary>The golden value an image has in its registry, for the commands that need one to exist
/// (<c>show</c>, <c>countersign</c>); <c>verify</c> reports these cases as <c>NOT verified</c> instead.</summary>
internal static class PublishedGolden
{
    /// <exception cref="CliFailureException">No golden value is published for the image, or it is malformed.</exception>
    public static async Task<FetchedGolden> FetchAsync(RegistryClient client, ImageReference reference, Platform? platform, CancellationToken ct)
    {
        var fetched = await GoldenFetch.FetchAsync(client, reference, platform, ct).ConfigureAwait(false);
        if (fetched.Missing)
            throw new CliFailureException($"no golden value for {reference} (tag {fetched.Tag} not found)");
        if (fetched.Malformed is { } why)
            throw new CliFailureException($"{fetched.TagReference}: malformed golden value: {why}");
        return fetched;
    }
}
