using TrustLaunch.Oci.Content;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>trustlaunch image …</c> against a real docker-registry on loopback.</summary>
public sealed class ImageCommandsTests(ImageRegistryFixture registry) : IClassFixture<ImageRegistryFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    private Task<CliResult> Image(params string[] args) => CliHarness.RunAsync(["image", .. args, "--data-dir", DataDir]);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task PullListInspectUnpackRmGc_Busybox_RoundTrip()
    {
        var image = registry.Busybox;

        var pull = (await Image("pull", image.Reference)).EnsureSuccess();
        var lines = pull.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal($"pulled {image.Reference} {image.ManifestDigest}", lines[^1]);
        Assert.Equal(3, lines.Length - 1); // config + 2 layers, one plain line each (stdout is not a terminal)
        Assert.All(lines[..^1], l => Assert.Matches(@"^sha256:[0-9a-f]{12}  .* in [0-9.]+ s \([0-9.]+ MB/s\)$", l));

        var list = (await Image("list")).EnsureSuccess();
        var table = list.Stdout.TrimEnd('\n').Split('\n');
        Assert.StartsWith("REFERENCE", table[0]);
        Assert.Matches($@"^{System.Text.RegularExpressions.Regex.Escape(image.Reference)}\s+{image.ManifestDigest[..19]}\s+[0-9.]+ [kM]?B\s+\d{{4}}-", table[1]);

        var inspect = (await Image("inspect", image.Reference, "--json")).EnsureSuccess().Json;
        Assert.Equal(image.ManifestDigest, inspect.GetProperty("manifest_digest").GetString());
        Assert.Equal(2, inspect.GetProperty("layers").GetArrayLength());
        Assert.Equal("amd64", inspect.GetProperty("architecture").GetString());
        Assert.Equal("/bin/busybox", inspect.GetProperty("cmd")[0].GetString());

        var bundle = _scratch["bundle"];
        var unpack = (await Image("unpack", image.Reference, bundle, "--json")).EnsureSuccess().Json;
        Assert.True(File.Exists(Path.Combine(bundle, "rootfs", "bin", "busybox")));
        Assert.Equal("hello from image A\n", File.ReadAllText(Path.Combine(bundle, "rootfs", "etc", "hello.txt")));
        Assert.Equal(Digest.Sha256(File.ReadAllBytes(Path.Combine(bundle, "config.json"))).ToString(), unpack.GetProperty("config_digest").GetString());

        var digest = (await Image("digest-rootfs", Path.Combine(bundle, "rootfs"))).EnsureSuccess();
        Assert.Equal(unpack.GetProperty("rootfs_digest").GetString() + "\n", digest.Stdout);

        Assert.Equal($"removed {image.Reference} {image.ManifestDigest}\n", (await Image("rm", image.Reference)).EnsureSuccess().Stdout);
        Assert.Single((await Image("list")).EnsureSuccess().Stdout.TrimEnd('\n').Split('\n'));

        var gc = (await Image("gc", "--json")).EnsureSuccess().Json;
        Assert.Equal(4, gc.GetProperty("blobs_removed").GetInt32()); // manifest, config, 2 layers
        Assert.True(gc.GetProperty("bytes_freed").GetInt64() > 1_000_000); // busybox-static
        Assert.Empty(Directory.GetFiles(Path.Combine(DataDir, "blobs", "sha256")));
    }

    [Fact]
    public async Task Unpack_NotPulled_PullsFirstAndWritesBundle()
    {
        var bundle = _scratch["b"];

        var result = (await Image("unpack", registry.Busybox.Reference, bundle)).EnsureSuccess();

        Assert.Contains($"unpacked {registry.Busybox.Reference} {registry.Busybox.ManifestDigest} into {bundle}\n", result.Stdout);
        Assert.Matches(@"rootfs      sha256:[0-9a-f]{64}\nconfig.json sha256:[0-9a-f]{64}\n$", result.Stdout);
        Assert.True(File.Exists(Path.Combine(bundle, "config.json")));
    }

    [Fact]
    public async Task Unpack_NonEmptyRootfs_RefusedExitOne()
    {
        var bundle = _scratch["full"];
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs"));
        File.WriteAllText(Path.Combine(bundle, "rootfs", "keep"), "x");

        var result = await Image("unpack", registry.Busybox.Reference, bundle);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: '{Path.Combine(bundle, "rootfs")}' exists and is not empty; refusing to unpack over it\n", result.Stderr);
        Assert.Equal(["keep"], Directory.GetFileSystemEntries(Path.Combine(bundle, "rootfs")).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("pull")]
    [InlineData("inspect")]
    [InlineData("rm")]
    public async Task Command_BadReference_ExitTwo(string command)
    {
        var result = await Image(command, "127.0.0.1:5000/Upper/Case:v1");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: image reference '127.0.0.1:5000/Upper/Case:v1': repository name 'Upper/Case' must be lowercase\n", result.Stderr);
    }

    [Fact]
    public async Task Pull_UnknownTag_ExitOneOneLine()
    {
        var result = await Image("pull", $"{registry.Host}/test/busybox:nope");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: manifest {registry.Host}/test/busybox:nope: 404 Not Found", result.Stderr);
        Assert.Single(result.Stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task RmAndInspect_NotInStore_ExitOne()
    {
        var reference = $"{registry.Host}/test/absent:v1";

        var rm = await Image("rm", reference);
        var inspect = await Image("inspect", reference);

        Assert.Equal(1, rm.ExitCode);
        Assert.Equal($"error: image {reference} is not in the content store {DataDir}\n", rm.Stderr);
        Assert.Equal(1, inspect.ExitCode);
        Assert.StartsWith($"error: image {reference} is not in the content store", inspect.Stderr);
    }

    [Fact]
    public async Task DigestRootfs_MissingDirectory_ExitTwo()
    {
        var result = await Image("digest-rootfs", _scratch["nothing"]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: ", result.Stderr);
    }
}
