using TrustLaunch.Agent.Launcher;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>
/// A launch resolves its tag once and names the image by digest from then on: another pull of the same tag that lands
/// while this launch is being judged (the tag moved in the registry and recorded in the store) cannot swap the image
/// that is pulled, unpacked and run. Real docker-registry, real agent on swtpm.
/// </summary>
[Trait("Category", "Slow")]
public sealed class LaunchByDigestTests(ImageRegistryFixture registry, LaunchAgentFixture agent)
    : IClassFixture<ImageRegistryFixture>, IClassFixture<LaunchAgentFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string DataDir => _scratch["data"];

    [Fact]
    public async Task Prepare_TagMovedAndPulledWhileJudging_RunsTheImageThatWasJudged()
    {
        var (priv, pub) = ImageRegistryFixture.WriteKeyPair(_scratch.Path, "publisher");
        var a = await registry.PushAsync(registry.LayoutA, "race/app", "a");
        var b = await registry.PushAsync(registry.LayoutB, "race/app", "b");
        foreach (var image in new[] { a, b })
            (await CliHarness.RunAsync("golden", "publish", image.Reference, "--key", priv, "--data-dir", _scratch["publish"])).EnsureSuccess();
        var tag = $"{registry.Host}/race/app:v1";
        await registry.PushAsync(registry.LayoutA, "race/app", "v1");
        var judge = new ConcurrentPullJudge(new LocalImageJudge(TrustedKeys.Load(pub)), async () =>
        {
            await registry.PushAsync(registry.LayoutB, "race/app", "v1");
            (await CliHarness.RunAsync("image", "pull", tag, "--data-dir", DataDir)).EnsureSuccess();
            Assert.Equal(b.ManifestDigest, new ContentStore(DataDir).Find(tag)!.ManifestDigest.ToString());
        });
        using var measurer = new AgentSocketMeasurer(agent.Deployment.SocketPath);
        var store = new ContentStore(DataDir);
        using var client = new RegistryClient();

        var container = await new TrustedLauncher(DataDir, store, judge, measurer)
            .PrepareAsync(client, new LaunchRequest(ImageReference.Parse(tag), "raced", LaunchMode.Local));

        try
        {
            Assert.Equal(a.ManifestDigest, container.ReadRecord()!.ImageDigest);
            Assert.Equal("hello from image A\n", await File.ReadAllTextAsync(Path.Combine(container.Bundle, "rootfs", "etc", "hello.txt")));
        }
        finally
        {
            (await CliHarness.RunAsync("rm", "--data-dir", DataDir, "--agent-socket", agent.Deployment.SocketPath, "raced")).EnsureSuccess();
        }
    }

    /// <summary>Approves as <paramref name="inner"/> does, then lets another pull of the tag happen before the launch goes on.</summary>
    private sealed class ConcurrentPullJudge(IImageJudge inner, Func<Task> concurrentPull) : IImageJudge
    {
        public string Mode => inner.Mode;

        public async Task<ImageApproval> JudgeAsync(RegistryClient client, ImageMeasurement image, CancellationToken cancellationToken)
        {
            var approval = await inner.JudgeAsync(client, image, cancellationToken);
            await concurrentPull();
            return approval;
        }
    }
}
