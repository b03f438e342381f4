using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Agent.Launcher;

/// <summary>A snapshot <c>image gc</c> removed: its manifest digest and the bytes its files held.</summary>
public sealed record RemovedSnapshot(string ManifestDigest, long Bytes);

/// <summary>
/// The verified unpacked trees containers mount read-only, one per image manifest: <c>DATA/snapshots/HEX/rootfs</c>,
/// or, for an image with any encrypted layer, <c>DATA/memory-snapshots/HEX/rootfs</c> on memory-backed storage
/// (<see cref="MemoryBackedStorage"/>), removed as soon as no container uses it (and gone at reboot), so decrypted
/// layers never reach a disk. <c>DATA/snapshots/HEX.lock</c> is flocked by a launch from the snapshot's check to its
/// container's record (so parallel launches unpack once) and by <see cref="Collect"/> while it removes one. Lock
/// files stay: deleting one while another process waits on it would let two holders in.
/// </summary>
public static class Snapshots
{
    public static string Root(string dataDir) => Path.Combine(dataDir, "snapshots");

    /// <summary>Where the snapshots of encrypted images and their containers' upper layers live: a tmpfs the launcher mounts.</summary>
    public static string MemoryRoot(string dataDir) => Path.Combine(dataDir, "memory-snapshots");

    /// <summary>Whether the image's snapshot must be memory-backed: it has a layer that is stored encrypted.</summary>
    public static bool NeedsMemory(OciManifest manifest) => manifest.Layers.Any(l => MediaTypes.IsEncrypted(l.MediaType));

    public static string Rootfs(string dataDir, Digest manifest, bool memoryBacked) =>
        Path.Combine(memoryBacked ? MemoryRoot(dataDir) : Root(dataDir), manifest.Hex, "rootfs");

    /// <summary>Where the overlay upper layer of a container over a memory-backed snapshot lives.</summary>
    public static string MemoryContainer(string dataDir, string name) => Path.Combine(MemoryRoot(dataDir), "containers", name);

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
        var removed = new List<RemovedSnapshot>();
        foreach (var root in new[] { Root(dataDir), MemoryRoot(dataDir) }.Where(Directory.Exists))
        {
            foreach (var directory in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
            {
                if (Digest.TryParse("sha256:" + Path.GetFileName(directory), out var manifest, out _) && !keepManifests.Contains(manifest)
                    && TryRemove(dataDir, directory, manifest) is { } snapshot)
                {
                    removed.Add(snapshot);
                }
            }
        }
        return removed;
    }

    /// <summary>Removes the memory-backed snapshot of <paramref name="manifest"/> when no container uses it any more (after <c>rm</c>).</summary>
    public static RemovedSnapshot? ReleaseMemory(string dataDir, Digest manifest)
    {
        var directory = Path.GetDirectoryName(Rootfs(dataDir, manifest, memoryBacked: true))!;
        return Directory.Exists(directory) ? TryRemove(dataDir, directory, manifest) : null;
    }

    private static RemovedSnapshot? TryRemove(string dataDir, string directory, Digest manifest)
    {
        PrivateDirectory.Ensure(Root(dataDir));
        using var held = FileLock.TryAcquire(LockPath(dataDir, manifest.Hex));
        if (held is null || UsedByAContainer(dataDir, manifest))
            return null;
        var bytes = new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Sum(f => f.Length);
        Directory.Delete(directory, recursive: true);
        return new RemovedSnapshot(manifest.ToString(), bytes);
    }

    private static bool UsedByAContainer(string dataDir, Digest manifest) =>
        ContainerDirectory.List(dataDir).Any(c => c.ReadRecord()?.ImageDigest == manifest.ToString());

    private static string LockPath(string dataDir, string hex) => Path.Combine(Root(dataDir), hex + ".lock");
}
