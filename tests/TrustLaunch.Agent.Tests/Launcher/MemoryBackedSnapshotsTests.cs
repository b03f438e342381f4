using TrustLaunch.Agent.Launcher;
using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Agent.Tests.Launcher;

/// <summary>
/// Memory-backed storage for the decrypted snapshots of encrypted images, on the real kernel (the tests run as root
/// and mount a tmpfs): statfs says tmpfs after <see cref="MemoryBackedStorage.Ensure"/>, a plain directory is refused, and
/// image gc removes a memory-backed snapshot as it does a plain one.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class MemoryBackedSnapshotsTests : IDisposable
{
    private static readonly Digest Manifest = Digest.Sha256("manifest"u8.ToArray());

    private readonly string _dataDir = Directory.CreateTempSubdirectory("trustlaunch-memory-").FullName;

    public void Dispose()
    {
        var memory = Snapshots.MemoryRoot(_dataDir);
        if (Directory.Exists(memory) && OverlayRootfs.IsMountPoint(memory))
            Assert.Equal(0, Libc.Umount2(memory, Libc.MNT_DETACH));
        Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public void Ensure_DirectoryOnDisk_TmpfsMountedThere0700()
    {
        var memory = Snapshots.MemoryRoot(_dataDir);
        Assert.NotEqual(Libc.TMPFS_MAGIC, MemoryBackedStorage.FileSystemType(_dataDir));

        MemoryBackedStorage.Ensure(memory);
        MemoryBackedStorage.Ensure(memory);

        Assert.Equal(Libc.TMPFS_MAGIC, MemoryBackedStorage.FileSystemType(memory));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(memory));
        Assert.Single(File.ReadLines("/proc/self/mounts"), l => l.Split(' ')[1] == memory);
        MemoryBackedStorage.Require(memory);
    }

    [Fact]
    public void Require_PlainDirectory_RefusedWithItsFilesystemType()
    {
        var plain = Directory.CreateDirectory(Path.GetDirectoryName(Snapshots.Rootfs(_dataDir, Manifest, memoryBacked: false))!).FullName;

        var refused = Assert.Throws<IOException>(() => MemoryBackedStorage.Require(plain));

        Assert.Equal($"'{plain}' is on filesystem type 0x{MemoryBackedStorage.FileSystemType(plain):x}, not tmpfs or ramfs: the decrypted layers of encrypted images are kept only in memory",
            refused.Message);
    }

    [Fact]
    public void CollectAndReleaseMemory_UnusedMemoryBackedSnapshot_Removed()
    {
        MemoryBackedStorage.Ensure(Snapshots.MemoryRoot(_dataDir));
        var rootfs = Snapshots.Rootfs(_dataDir, Manifest, memoryBacked: true);
        Directory.CreateDirectory(rootfs);
        File.WriteAllText(Path.Combine(rootfs, "decrypted"), "plaintext");
        var other = Digest.Sha256("other"u8.ToArray());
        Directory.CreateDirectory(Snapshots.Rootfs(_dataDir, other, memoryBacked: true));

        var collected = Snapshots.Collect(_dataDir, new HashSet<Digest> { other });
        var released = Snapshots.ReleaseMemory(_dataDir, other);

        Assert.Equal([new RemovedSnapshot(Manifest.ToString(), "plaintext".Length)], collected);
        Assert.Equal(new RemovedSnapshot(other.ToString(), 0), released);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Snapshots.MemoryRoot(_dataDir)));
    }
}
