using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Launcher;

/// <summary>A snapshot <c>image gc</c> removed: its manifest digest and the bytes its files held.</summary>
public sealed record RemovedSnapshot(string ManifestDigest, long Bytes);

/// <summary>
/// The verified unpacked trees containers mount read-only, one per image manifest: <c>DATA/snapshots/HEX/rootfs</c>.
/// <c>DATA/snapshots/HEX.lock</c> is flocked by a launch from the snapshot's check to its container's record (so
/// parallel launches unpack once) and by <see cref="Collect"/> while it removes one. Lock files stay: deleting one
/// while another process waits on it would let two holders in.
/// </summary>
public static class Snapshots
{
    public static string Root(string dataDir) => Path.Combine(dataDir, "snapshots");

    public static string Rootfs(string dataDir, Digest manifest) => Path.Combine(Root(dataDir), manifest.Hex, "rootfs");

    public static Task<FileLock> LockAsync(string dataDir, Digest manifest, CancellationToken cancellationToken)
    {
        PrivateDirectory.Ensure(Root(dataDir));
        return FileLock.AcquireAsync(LockPath(dataDir, manifest.Hex), cancellationToken);
    }

    /// <summary>
    /// Removes the snapshots of manifests not in <paramref name="keepManifests"/> that no container uses (its
    /// <c>container.json</c> names the manifest) and no launch is preparing (its lock is free).
    /// </summary>
    public static IReadOnlyList<RemovedSnapshot> Collect(string dataDir, IReadOnlySet<Digest> keepManifests)
    {
        var root = Root(dataDir);
        if (!Directory.Exists(root))
            return [];
        var removed = new List<RemovedSnapshot>();
        foreach (var directory in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
        {
            if (!Digest.TryParse("sha256:" + Path.GetFileName(directory), out var manifest, out _) || keepManifests.Contains(manifest))
                continue;
            using var held = FileLock.TryAcquire(LockPath(dataDir, manifest.Hex));
            if (held is null || UsedByAContainer(dataDir, manifest))
                continue;
            var bytes = new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Sum(f => f.Length);
            Directory.Delete(directory, recursive: true);
            removed.Add(new RemovedSnapshot(manifest.ToString(), bytes));
        }
        return removed;
    }

    private static bool UsedByAContainer(string dataDir, Digest manifest) =>
        ContainerDirectory.List(dataDir).Any(c => c.ReadRecord()?.ImageDigest == manifest.ToString());

    private static string LockPath(string dataDir, string hex) => Path.Combine(Root(dataDir), hex + ".lock");
}
