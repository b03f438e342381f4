using System.Security.Cryptography;
using TrustLaunch.Oci.Pull;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Tests.Store;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Pull;

/// <summary>Its own registry, because the test kills it.</summary>
public sealed class PullFaultTests(RegistryFixture registry) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly TempStore _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    [Trait("Category", "Slow")]
    public async Task PullAsync_RegistryKilledMidLayerAndRestarted_Recovers()
    {
        var big = RandomNumberGenerator.GetBytes(48 * 1024 * 1024);
        var pushed = await TestImages.BuildAndPushAsync(registry, "test/big", "v1", new Dictionary<string, byte[]> { ["/big.bin"] = big });
        var reference = ImageReference.Parse(pushed.Reference);
        using var client = new RegistryClient(new RegistryClientOptions { InitialBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromSeconds(1), MaxAttempts = 10 });
        var bigLayer = (await client.GetManifestAsync(reference)).ParseManifest().Layers.MaxBy(l => l.Size)!;
        var killedAt = -1L;
        Task? restart = null;
        var progress = new SyncProgress<PullProgress>(p =>
        {
            if (p.Digest != bigLayer.Digest || p.BytesDone < 4 * 1024 * 1024 || killedAt >= 0)
                return;
            killedAt = p.BytesDone;
            // Blocks the download while the registry dies, so the rest of the layer has to come from a new connection.
            registry.StopAsync().GetAwaiter().GetResult();
            restart = Task.Run(async () =>
            {
                await Task.Delay(1500);
                await registry.StartAsync();
            });
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var image = await new ImagePuller(client, _temp.Open()).PullAsync(reference, progress: progress, cancellationToken: timeout.Token);

        await restart!;
        Assert.InRange(killedAt, 4 * 1024 * 1024, bigLayer.Size - 1);
        Assert.Equal(pushed.ManifestDigest, image.ManifestDigest.ToString());
        // Resumed, not started over; a loaded machine has been seen to need a second reconnect (full suite, once).
        Assert.InRange(image.Reconnects, 1, 3);
        Assert.Equal(bigLayer.Digest.Hex, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(image.LayerPaths[^1]))));
    }
}
