using System.Collections.Concurrent;
using System.Security.Cryptography;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Pull;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Tests.Registry;
using TrustLaunch.Oci.Tests.Store;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Pull;

public sealed class ImagePullerTests(ImagesRegistryFixture registry) : IClassFixture<ImagesRegistryFixture>, IDisposable
{
    private readonly TempStore _temp = new();
    private readonly RegistryClient _client = new();

    public void Dispose()
    {
        _client.Dispose();
        _temp.Dispose();
    }

    private static void AssertBlobsIntact(string root)
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "blobs", "sha256")))
            Assert.Equal(Path.GetFileName(file), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))));
    }

    [Theory]
    [InlineData("test/busybox:v1", MediaTypes.OciManifest)]
    [InlineData("test/busybox-docker:v1", MediaTypes.DockerManifest)]
    public async Task PullAsync_Image_StoredVerifiedAndRecorded(string repositoryAndTag, string mediaType)
    {
        var store = _temp.Open();
        var reports = new ConcurrentQueue<PullProgress>();
        var reference = ImageReference.Parse($"{registry.Host}/{repositoryAndTag}");
        var image = await new ImagePuller(_client, store).PullAsync(reference, progress: new SyncProgress<PullProgress>(reports.Enqueue));

        Assert.Equal(await _client.ResolveAsync(reference), image.ManifestDigest);
        Assert.Equal(mediaType, store.Find(reference.ToString())!.MediaType);
        Assert.Equal("amd64", image.Config.Architecture);
        Assert.Equal(image.Manifest.Layers.Count, image.Config.RootFs.DiffIds.Count);
        Assert.Equal(image.Manifest.Layers.Count + 1, image.BlobsDownloaded);
        Assert.All(image.LayerPaths.Append(image.ConfigPath).Append(image.ManifestPath), p => Assert.True(File.Exists(p)));
        AssertBlobsIntact(_temp.Root);
        foreach (var layer in image.Manifest.Layers)
            Assert.Contains(reports, r => r.Digest == layer.Digest && r.Completed && r.BytesTotal == layer.Size);

        var again = await new ImagePuller(_client, store).PullAsync(reference);
        Assert.Equal(0, again.BlobsDownloaded);
        Assert.Equal(image.Manifest.Layers.Count + 1, again.BlobsReused);
    }

    [Fact]
    public async Task PullAsync_SameImageAgain_RecordKeptAsItWas()
    {
        var store = _temp.Open();
        var reference = ImageReference.Parse(registry.Oci.Reference);
        await new ImagePuller(_client, store).PullAsync(reference);
        var first = store.Find(reference.ToString())!;

        await new ImagePuller(_client, store).PullAsync(reference);

        Assert.Equal(first, store.Find(reference.ToString()));
    }

    [Fact]
    public async Task PullAsync_Index_StoresChosenPlatformAndIndex()
    {
        var store = _temp.Open();
        var image = await new ImagePuller(_client, store).PullAsync(ImageReference.Parse(registry.IndexReference),
            new PullOptions { Platform = Platform.Parse("linux/arm64") });
        Assert.Equal(registry.Arm64.ManifestDigest, image.ManifestDigest.ToString());
        Assert.Equal("arm64", image.Config.Architecture);
        Assert.Equal(registry.IndexDigest, store.Find(registry.IndexReference)!.IndexDigest.ToString());
        Assert.True(store.Contains(Digest.Parse(registry.IndexDigest)));
        Assert.Empty(store.GarbageCollect().RemovedBlobs);
    }

    [Fact]
    public async Task PullAsync_ConcurrentPullsOfOneImage_ShareBlobs()
    {
        var reference = ImageReference.Parse(registry.Oci.Reference);
        var images = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => new ImagePuller(_client, _temp.Open()).PullAsync(reference))));
        Assert.All(images, i => Assert.Equal(images[0].ManifestDigest, i.ManifestDigest));
        AssertBlobsIntact(_temp.Root);
        Assert.Equal(images[0].Manifest.Layers.Count + 2, Directory.EnumerateFiles(Path.Combine(_temp.Root, "blobs", "sha256")).Count());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_temp.Root, "ingest")));
    }

    [Fact]
    public async Task PullAsync_AfterKilledPull_SucceedsAndGcRemovesLeftover()
    {
        var store = _temp.Open();
        var reference = ImageReference.Parse(registry.Oci.Reference);
        var manifest = (await _client.GetManifestAsync(reference)).ParseManifest();
        var layer = manifest.Layers[0];
        // What a pull killed with SIGKILL leaves: half a layer in ingest/, nothing under blobs/, no record.
        var partial = Path.Combine(store.IngestDirectory, $"{layer.Digest.Hex[..16]}-{Guid.NewGuid():N}");
        await using (var blob = await _client.OpenBlobAsync(reference, layer.Digest, layer.Size))
        await using (var file = File.Create(partial))
        {
            var half = new byte[layer.Size / 2];
            await blob.ReadExactlyAsync(half);
            await file.WriteAsync(half);
        }

        var image = await new ImagePuller(_client, store).PullAsync(reference);

        Assert.Equal(manifest.Layers.Count + 1, image.BlobsDownloaded);
        AssertBlobsIntact(_temp.Root);
        var gc = store.GarbageCollect();
        Assert.Equal([partial], gc.RemovedIngestFiles);
        Assert.Empty(gc.RemovedBlobs);
        Assert.True(store.Contains(layer.Digest));
    }

    [Fact]
    public async Task PullAsync_BlobCorruptedInRegistry_RefusedNothingStored()
    {
        var payload = RandomNumberGenerator.GetBytes(4096);
        var pushed = await TestImages.BuildAndPushAsync(registry, "test/corrupt", "v1", new Dictionary<string, byte[]> { ["/payload"] = payload });
        var reference = ImageReference.Parse(pushed.Reference);
        var layer = (await _client.GetManifestAsync(reference)).ParseManifest().Layers[^1];
        var data = registry.BlobDataPath(layer.Digest.ToString());
        var bytes = await File.ReadAllBytesAsync(data);
        bytes[bytes.Length / 2] ^= 0xff; // same size, other bytes
        await File.WriteAllBytesAsync(data, bytes);
        var store = _temp.Open();

        var e = await Assert.ThrowsAsync<OciDigestMismatchException>(() => new ImagePuller(_client, store).PullAsync(reference));

        Assert.Equal($"blob {registry.Host}/test/corrupt@{layer.Digest}: digest mismatch: expected {layer.Digest}, got {Digest.Sha256(bytes)}", e.Message);
        Assert.False(store.Contains(layer.Digest));
        Assert.Empty(Directory.EnumerateFiles(store.IngestDirectory));
        Assert.Empty(store.List());
        AssertBlobsIntact(_temp.Root);
    }
}

/// <summary>Calls back on the reporting thread (Progress&lt;T&gt; posts to the pool and may run late).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
