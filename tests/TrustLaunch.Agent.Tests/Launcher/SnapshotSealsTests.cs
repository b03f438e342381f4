using TrustLaunch.Agent.Launcher;
using TrustLaunch.Oci.Rootfs;

namespace TrustLaunch.Agent.Tests.Launcher;

/// <summary>
/// Snapshot seals on a real filesystem: an unchanged tree is not read again; any change — even one that keeps size
/// and mtime, or one that changes only the ctime — makes the next launch digest the whole tree afresh.
/// </summary>
public sealed class SnapshotSealsTests : IDisposable
{
    private readonly string _rootfs = Directory.CreateTempSubdirectory("trustlaunch-seal-").FullName;

    public SnapshotSealsTests()
    {
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllText(Path.Combine(_rootfs, "etc", "hello.txt"), "hello\n");
        File.CreateSymbolicLink(Path.Combine(_rootfs, "hello"), "etc/hello.txt");
    }

    public void Dispose() => Directory.Delete(_rootfs, recursive: true);

    private string Hello => Path.Combine(_rootfs, "etc", "hello.txt");

    private SealedDigests Sealed(SnapshotSeals seals)
    {
        var first = seals.Digest(_rootfs, CancellationToken.None);
        seals.Seal(_rootfs, first);
        return first;
    }

    [Fact]
    public void Digest_TreeUnchangedSinceItWasSealed_TheSealItselfNotADigestAgain()
    {
        var seals = new SnapshotSeals();
        var sealedDigests = Sealed(seals);

        var again = seals.Digest(_rootfs, CancellationToken.None);

        Assert.Same(sealedDigests, again);
        Assert.Equal(RootfsDigest.ComputeAll(_rootfs), again.Digests);
    }

    [Fact]
    public void Digest_NotSealed_DigestedEveryTime()
    {
        var seals = new SnapshotSeals();

        var first = seals.Digest(_rootfs, CancellationToken.None);
        var second = seals.Digest(_rootfs, CancellationToken.None);

        Assert.NotSame(first, second);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Digest_ContentChangedKeepingSizeAndMtime_DigestedAgainAndTheChangeShows()
    {
        var seals = new SnapshotSeals();
        var sealedDigests = Sealed(seals);
        var mtime = File.GetLastWriteTimeUtc(Hello);

        File.WriteAllText(Hello, "HELLO\n");
        File.SetLastWriteTimeUtc(Hello, mtime);
        var after = seals.Digest(_rootfs, CancellationToken.None);

        Assert.Equal(mtime, File.GetLastWriteTimeUtc(Hello));
        Assert.NotSame(sealedDigests, after);
        Assert.NotEqual(sealedDigests.Digests.Current, after.Digests.Current);
    }

    [Fact]
    public void Digest_OnlyTheCtimeChanged_DigestedAgainStillMatchingThenSealedAnew()
    {
        var seals = new SnapshotSeals();
        var sealedDigests = Sealed(seals);

        File.SetLastWriteTimeUtc(Hello, File.GetLastWriteTimeUtc(Hello)); // a touch to the same mtime: only the ctime moves
        var after = seals.Digest(_rootfs, CancellationToken.None);
        seals.Seal(_rootfs, after);

        Assert.NotSame(sealedDigests, after);
        Assert.Equal(sealedDigests.Digests, after.Digests);
        Assert.Same(after, seals.Digest(_rootfs, CancellationToken.None));
    }

    [Theory]
    [InlineData("added")]
    [InlineData("removed")]
    [InlineData("linked")]
    [InlineData("renamed")]
    public void Metadata_EntryAddedRemovedLinkedOrRenamed_Differs(string change)
    {
        var before = SnapshotSeals.Metadata(_rootfs);

        switch (change)
        {
            case "added":
                File.WriteAllText(Path.Combine(_rootfs, "etc", "new"), "");
                break;
            case "removed":
                File.Delete(Path.Combine(_rootfs, "hello"));
                break;
            case "linked":
                using (var cwd = new Microsoft.Win32.SafeHandles.SafeFileHandle(TrustLaunch.Measurement.Native.Libc.AT_FDCWD, ownsHandle: false))
                    Assert.Equal(0, TrustLaunch.Measurement.Native.Libc.LinkAt(cwd, Hello, cwd, Path.Combine(_rootfs, "etc", "second"), 0));
                break;
            default:
                File.Move(Hello, Hello + ".moved");
                File.Move(Hello + ".moved", Hello);
                break;
        }

        Assert.NotEqual(before, SnapshotSeals.Metadata(_rootfs));
    }

    [Fact]
    public void Forget_SealDropped_NextDigestReadsTheTree()
    {
        var seals = new SnapshotSeals();
        var sealedDigests = Sealed(seals);

        seals.Forget(_rootfs);

        Assert.NotSame(sealedDigests, seals.Digest(_rootfs, CancellationToken.None));
    }
}
