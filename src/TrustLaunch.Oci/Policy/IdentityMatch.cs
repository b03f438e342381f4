using TrustLaunch.Oci.Registry;

namespace TrustLaunch.Oci.Policy;

/// <summary>Whether a signature's claimed <c>docker-reference</c> is acceptable for an image, per <see cref="SignedIdentity"/>
/// (containers/image's policy_reference_match.go).</summary>
public static class IdentityMatch
{
    /// <summary>Null when <paramref name="signed"/> is acceptable for <paramref name="image"/>, else why not.</summary>
    /// <param name="image">The reference the image is run by (a tag, or a digest).</param>
    /// <param name="signed">The signature's <c>docker-reference</c>, as written in its payload.</param>
    public static string? Refusal(SignedIdentity identity, ImageReference image, string signed)
    {
        if (!ImageReference.TryParse(signed, out var claimed, out var error))
            return $"signature names '{signed}', not an image reference: {error}";
        var claimedHasTagOrDigest = signed.Contains('@', StringComparison.Ordinal) || signed.LastIndexOf(':') > signed.LastIndexOf('/');
        return identity switch
        {
            MatchExact => Exact(image, claimed, claimedHasTagOrDigest) ? null : Differs(image, signed),
            MatchRepoDigestOrExact => RepoDigestOrExact(image, claimed, claimedHasTagOrDigest) ? null : Differs(image, signed),
            MatchRepository => claimed.Name == image.Name ? null : $"signature names repository {claimed.Name}, not {image.Name}",
            ExactReference e => ImageReference.TryParse(e.DockerReference, out var wanted, out var wantedError)
                ? Exact(wanted, claimed, claimedHasTagOrDigest) ? null : $"signature names {signed}, not {e.DockerReference} (exactReference)"
                : $"signedIdentity dockerReference '{e.DockerReference}' is not an image reference: {wantedError}",
            ExactRepository e => ImageReference.TryParse(e.DockerRepository, out var repository, out var repositoryError)
                ? claimed.Name == repository.Name ? null : $"signature names repository {claimed.Name}, not {repository.Name} (exactRepository)"
                : $"signedIdentity dockerRepository '{e.DockerRepository}' is not a repository: {repositoryError}",
            RemapIdentity r => Remap(r, image) is { } remapped
                ? RepoDigestOrExact(remapped, claimed, claimedHasTagOrDigest) ? null : Differs(remapped, signed)
                : RepoDigestOrExact(image, claimed, claimedHasTagOrDigest) ? null : Differs(image, signed),
            _ => $"signedIdentity {identity.GetType().Name} is not supported",
        };
    }

    private static string Differs(ImageReference image, string signed) => $"signature names {signed}, not {Shown(image)}";

    private static string Shown(ImageReference image) => image.Digest is { } d ? $"{image.Name}@{d}" : $"{image.Name}:{image.Tag}";

    private static bool Exact(ImageReference image, ImageReference claimed, bool claimedHasTagOrDigest) =>
        claimedHasTagOrDigest && claimed.Name == image.Name &&
        (image.Digest is { } digest ? claimed.Digest == digest : claimed.Digest is null && claimed.Tag == image.Tag);

    private static bool RepoDigestOrExact(ImageReference image, ImageReference claimed, bool claimedHasTagOrDigest) =>
        image.Digest is not null ? claimed.Name == image.Name : Exact(image, claimed, claimedHasTagOrDigest);

    /// <summary>The image reference with <see cref="RemapIdentity.Prefix"/> replaced by the signed prefix, or null when it is not under the prefix.</summary>
    private static ImageReference? Remap(RemapIdentity remap, ImageReference image)
    {
        var text = Shown(image);
        if (!(text == remap.Prefix || (text.StartsWith(remap.Prefix, StringComparison.Ordinal) &&
                                      (remap.Prefix.EndsWith('/') || text[remap.Prefix.Length] is '/' or ':' or '@'))))
            return null;
        return ImageReference.TryParse(remap.SignedPrefix + text[remap.Prefix.Length..], out var remapped, out _) ? remapped : null;
    }
}
