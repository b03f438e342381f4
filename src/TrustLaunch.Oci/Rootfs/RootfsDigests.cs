using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Rootfs;

/// <summary>One tree's rootfs digest in each format version (<see cref="RootfsDigest.ComputeAll"/>).</summary>
public sealed record RootfsDigests(Digest Current, Digest V1)
{
    /// <summary>
    /// Whether <paramref name="approved"/> (a golden value's rootfs digest) is this tree's digest in either version. The
    /// versions' headers differ, so one version's digest never stands in for the other's: a version-2 golden value is
    /// met only by a tree whose xattrs match too, a version-1 one (made before xattrs were covered) as it always was.
    /// </summary>
    public bool Matches(Digest approved) => approved == Current || approved == V1;

    /// <summary>This tree's digest in the version <paramref name="approved"/> was made in (the current one when neither matches).</summary>
    public Digest As(Digest approved) => approved == V1 ? V1 : Current;
}
