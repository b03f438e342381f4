using TrustLaunch.Oci.Rootfs;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// Rootfs digest versions at launch: golden values published now hold version 2 (xattrs and file capabilities
/// covered), so a capability added to a snapshot's file after the pull is refused; a golden value holding a
/// version-1 digest still verifies; the agent's snapshot seals never let a changed snapshot through. Real
/// docker-registry, real agent on swtpm, real crun, setcap from libcap2-bin.
/// </summary>
[Trait("Category", "Slow")]
public sealed class RunRootfsDigestTests(ImageRegistryFixture registry, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<LaunchAgentFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    private Task<CliResult> Tl(string command, params string[] args) =>
        CliHarness.RunAsync([command, "--data-dir", DataDir, "--agent-socket", agent.Deployment.SocketPath, .. args]);

    [Fact]
    public async Task Run_CapabilityAddedToASnapshotFileAfterThePull_Exit3RootfsMismatch()
    {
        var image = await registry.PushAsync(registry.LayoutA, "rootfs/cap", "v1");
        var (priv, trusted) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher");
        var published = (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"], "--json")).EnsureSuccess().Json;
        (await Tl("run", image.Reference, "--trust", trusted, "--name", "first", "--attach", "--", "/bin/busybox", "true")).EnsureSuccess();
        (await Tl("rm", "first")).EnsureSuccess();
        var snapshot = Path.Combine(DataDir, "snapshots", image.ManifestDigest["sha256:".Length..], "rootfs");
        var before = RootfsDigest.ComputeAll(snapshot);
        Assert.Equal(published.GetProperty("rootfs_digest").GetString(), before.Current.ToString());
        (await ProcessRunner.RunAsync("setcap", ["cap_sys_admin+ep", Path.Combine(snapshot, "bin", "busybox")])).EnsureSuccess("setcap");

        var run = await Tl("run", image.Reference, "--trust", trusted, "--name", "second");

        var after = RootfsDigest.ComputeAll(snapshot);
        Assert.Equal(before.V1, after.V1); // what a version-1 digest could not have seen
        Assert.Equal((3, $"NOT verified: rootfs digest mismatch: golden value has {before.Current}, the snapshot {snapshot} has {after.Current} (modified after the pull?)\n"),
            (run.ExitCode, run.Stderr));
    }

    /// <summary>
    /// The agent seals a snapshot once a full digest matched (the second launch); the third finds the seal and does
    /// not read the tree. A content change that keeps size and mtime still moves the ctime: the fourth is refused.
    /// </summary>
    [Fact]
    public async Task Run_SealedSnapshotChangedKeepingSizeAndMtime_Exit3RootfsMismatch()
    {
        var image = await registry.PushAsync(registry.LayoutA, "rootfs/sealed", "v1");
        var (priv, trusted) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher-sealed");
        var published = (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"], "--json")).EnsureSuccess().Json;
        foreach (var name in new[] { "unpacked", "sealed", "from-seal" })
        {
            (await Tl("run", image.Reference, "--trust", trusted, "--name", name, "--attach", "--", "/bin/busybox", "true")).EnsureSuccess();
            (await Tl("rm", name)).EnsureSuccess();
        }
        var snapshot = Path.Combine(DataDir, "snapshots", image.ManifestDigest["sha256:".Length..], "rootfs");
        var hello = Path.Combine(snapshot, "etc", "hello.txt");
        var (content, mtime) = (await File.ReadAllTextAsync(hello), File.GetLastWriteTimeUtc(hello));
        await File.WriteAllTextAsync(hello, content.ToUpperInvariant());
        File.SetLastWriteTimeUtc(hello, mtime);

        var run = await Tl("run", image.Reference, "--trust", trusted, "--name", "tampered");

        Assert.Equal((content.Length, mtime), (new FileInfo(hello).Length, File.GetLastWriteTimeUtc(hello)));
        Assert.Equal((3, $"NOT verified: rootfs digest mismatch: golden value has {published.GetProperty("rootfs_digest").GetString()}, the snapshot {snapshot} has "
            + $"{RootfsDigest.ComputeAll(snapshot).Current} (modified after the pull?)\n"), (run.ExitCode, run.Stderr));
    }

    /// <summary>A change of metadata only (the ctime, by a touch to the same mtime) breaks the seal: the tree is digested again, still matches, and runs.</summary>
    [Fact]
    public async Task Run_SealedSnapshotOnlyItsCtimeChanged_DigestedAgainAndRuns()
    {
        var image = await registry.PushAsync(registry.LayoutA, "rootfs/ctime", "v1");
        var (priv, trusted) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher-ctime");
        (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        foreach (var name in new[] { "unpacked", "sealed" })
        {
            (await Tl("run", image.Reference, "--trust", trusted, "--name", name, "--attach", "--", "/bin/busybox", "true")).EnsureSuccess();
            (await Tl("rm", name)).EnsureSuccess();
        }
        var hello = Path.Combine(DataDir, "snapshots", image.ManifestDigest["sha256:".Length..], "rootfs", "etc", "hello.txt");
        File.SetLastWriteTimeUtc(hello, File.GetLastWriteTimeUtc(hello)); // a touch to the same mtime: the ctime moves

        var run = await Tl("run", image.Reference, "--trust", trusted, "--name", "touched", "--attach", "--", "/bin/busybox", "cat", "/etc/hello.txt");
        (await Tl("rm", "touched")).EnsureSuccess();

        Assert.Equal((0, "hello from image A\n", ""), (run.ExitCode, run.Stdout, run.Stderr));
    }

    [Fact]
    public async Task Run_GoldenValueWithAVersion1RootfsDigest_StillRuns()
    {
        var image = await registry.PushAsync(registry.LayoutA, "rootfs/v1", "v1");
        var (priv, trusted) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher-v1");
        (await CliHarness.RunAsync("image", "unpack", image.Reference, _scratch["bundle"], "--data-dir", _scratch["unpack"])).EnsureSuccess();
        var v1 = RootfsDigest.ComputeAll(Path.Combine(_scratch["bundle"], "rootfs")).V1;
        await CraftedImages.PublishGoldenAsync(image.Reference, priv, v1);

        var run = await Tl("run", image.Reference, "--trust", trusted, "--name", "old", "--attach", "--", "/bin/busybox", "cat", "/etc/hello.txt");
        (await Tl("rm", "old")).EnsureSuccess();

        Assert.Equal((0, "hello from image A\n"), (run.ExitCode, run.Stdout));
        Assert.Equal(v1, RootfsDigest.ComputeAll(Path.Combine(DataDir, "snapshots", image.ManifestDigest["sha256:".Length..], "rootfs")).V1);
        Assert.NotEqual(v1, RootfsDigest.Compute(Path.Combine(DataDir, "snapshots", image.ManifestDigest["sha256:".Length..], "rootfs")));
    }

    [Fact]
    public async Task ImageUnpack_LayerWithForeignXattrs_SkippedAndCountedInTheOutput()
    {
        var tar = CraftedImages.Tar(("etc/labelled", "x"u8.ToArray(), new Dictionary<string, string>
        {
            ["SCHILY.xattr.user.kept"] = "yes",
            ["SCHILY.xattr.trusted.overlay.opaque"] = "y",
            ["SCHILY.xattr.security.selinux"] = "system_u:object_r:etc_t:s0",
        }));
        var (reference, _) = await CraftedImages.PushAsync(registry, "rootfs/xattrs", "v1", CraftedLayer.Gzip(tar));

        var unpack = (await CliHarness.RunAsync("image", "unpack", reference, _scratch["bundle"], "--data-dir", _scratch["unpack"])).EnsureSuccess();
        var json = (await CliHarness.RunAsync("image", "unpack", reference, _scratch["bundle-json"], "--data-dir", _scratch["unpack"], "--json")).EnsureSuccess().Json;

        Assert.Contains("xattrs      2 skipped (not user.* or security.capability), 0 refused by the filesystem\n", unpack.Stdout);
        Assert.Equal((2, 0), (json.GetProperty("xattrs_skipped").GetInt32(), json.GetProperty("xattrs_not_applied").GetInt32()));
        Assert.Contains($" user.kept={Convert.ToHexStringLower("yes"u8)}", string.Join('\n', RootfsDigest.CanonicalLines(Path.Combine(_scratch["bundle"], "rootfs"))));
    }
}
