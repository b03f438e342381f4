using System.Text;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Registry;
using TrustLaunch.Oci.Store;

namespace TrustLaunch.Oci.Tests.Store;

/// <summary>A temporary store root, deleted afterwards.</summary>
public sealed class TempStore : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("trustlaunch-store-").FullName;
    public ContentStore Open() => new(Root);
    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public sealed class ContentStoreTests : IDisposable
{
    private readonly TempStore _temp = new();
    private readonly ContentStore _store;

    public ContentStoreTests() => _store = _temp.Open();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task IngestAsync_MatchingContent_StoredUnderBlobs()
    {
        var content = "layer bytes"u8.ToArray();
        var digest = Digest.Sha256(content);
        var path = await _store.IngestAsync(digest, content.Length, new MemoryStream(content));
        Assert.Equal(Path.Combine(_temp.Root, "blobs", "sha256", digest.Hex), path);
        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Empty(Directory.EnumerateFiles(_store.IngestDirectory));
    }

    [Fact]
    public async Task IngestAsync_DigestMismatch_RefusedAndNothingLeft()
    {
        var claimed = Digest.Sha256("expected"u8);
        var e = await Assert.ThrowsAsync<OciDigestMismatchException>(() => _store.IngestAsync(claimed, 8, new MemoryStream("tampered"u8.ToArray())));
        Assert.Equal($"blob {claimed}: digest mismatch: expected {claimed}, got {Digest.Sha256("tampered"u8)}", e.Message);
        Assert.Empty(Directory.EnumerateFiles(_store.BlobsDirectory, "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.EnumerateFiles(_store.IngestDirectory));
    }

    [Fact]
    public async Task IngestAsync_ShortContent_SizeError()
    {
        var content = "short"u8.ToArray();
        var e = await Assert.ThrowsAsync<OciSizeMismatchException>(() => _store.IngestAsync(Digest.Sha256(content), 6, new MemoryStream(content)));
        Assert.Equal($"blob {Digest.Sha256(content)}: size mismatch: expected 6 bytes, got 5", e.Message);
        Assert.False(_store.Contains(Digest.Sha256(content)));
    }

    [Fact]
    public async Task IngestAsync_ConcurrentWritersOfOneBlob_OneIntactBlob()
    {
        var content = new byte[3_000_000];
        Random.Shared.NextBytes(content);
        var digest = Digest.Sha256(content);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => _temp.Open().IngestAsync(digest, content.Length, new MemoryStream(content)))));
        Assert.Equal(digest, Digest.Sha256(await File.ReadAllBytesAsync(_store.BlobPath(digest))));
        Assert.Empty(Directory.EnumerateFiles(_store.IngestDirectory));
    }

    [Fact]
    public void RecordImage_ListFindRemove()
    {
        var digest = Digest.Sha256("m"u8);
        _store.RecordImage(new StoredImage { Reference = "127.0.0.1:5000/a/b:t", ManifestDigest = digest, MediaType = MediaTypes.OciManifest });
        _store.RecordImage(new StoredImage { Reference = "docker.io/library/x:latest", ManifestDigest = digest, MediaType = MediaTypes.DockerManifest });
        Assert.Equal(["127.0.0.1:5000/a/b:t", "docker.io/library/x:latest"], _store.List().Select(i => i.Reference));
        Assert.Equal(digest, _store.Find("127.0.0.1:5000/a/b:t")!.ManifestDigest);
        Assert.True(_store.Remove("127.0.0.1:5000/a/b:t"));
        Assert.False(_store.Remove("127.0.0.1:5000/a/b:t"));
        Assert.Equal(["docker.io/library/x:latest"], _store.List().Select(i => i.Reference));
        Assert.Empty(Directory.EnumerateFiles(_store.RefsDirectory, ".tmp-*"));
    }

    private async Task<(Digest Manifest, Digest Config, Digest Layer)> PutImageAsync(string reference, string layerText)
    {
        var config = Encoding.UTF8.GetBytes($$"""{"rootfs":{"type":"layers","diff_ids":[]},"os":"linux","architecture":"amd64","x":"{{layerText}}"}""");
        var layer = Encoding.UTF8.GetBytes(layerText);
        var manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{Digest.Sha256(config)}}","size":{{config.Length}}},"layers":[{"mediaType":"{{MediaTypes.OciLayerTar}}","digest":"{{Digest.Sha256(layer)}}","size":{{layer.Length}}}]}""");
        foreach (var blob in new[] { config, layer, manifest })
            await _store.PutAsync(Digest.Sha256(blob), blob);
        _store.RecordImage(new StoredImage { Reference = reference, ManifestDigest = Digest.Sha256(manifest), MediaType = MediaTypes.OciManifest });
        return (Digest.Sha256(manifest), Digest.Sha256(config), Digest.Sha256(layer));
    }

    [Fact]
    public async Task GarbageCollect_KeepsReferencedRemovesUnreferencedAndLeftovers()
    {
        var kept = await PutImageAsync("r/kept:1", "kept layer");
        var gone = await PutImageAsync("r/gone:1", "gone layer");
        var stray = Digest.Sha256("stray"u8);
        await _store.PutAsync(stray, "stray"u8.ToArray());
        var leftover = Path.Combine(_store.IngestDirectory, "0123456789abcdef-killed");
        await File.WriteAllBytesAsync(leftover, new byte[1000]);
        Assert.True(_store.Remove("r/gone:1"));

        var result = _store.GarbageCollect();

        Assert.True(_store.Contains(kept.Manifest) && _store.Contains(kept.Config) && _store.Contains(kept.Layer));
        Assert.False(_store.Contains(gone.Manifest) || _store.Contains(gone.Config) || _store.Contains(gone.Layer) || _store.Contains(stray));
        Assert.Equal(new[] { gone.Manifest, gone.Config, gone.Layer, stray }.Select(d => d.ToString()).Order(), result.RemovedBlobs.Select(d => d.ToString()).Order());
        Assert.Equal([leftover], result.RemovedIngestFiles);
    }

    [Fact]
    public async Task GarbageCollect_IngestFileOfLiveWriter_Kept()
    {
        var live = Path.Combine(_store.IngestDirectory, "live");
        await using (new FileStream(live, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            Assert.Empty(_store.GarbageCollect().RemovedIngestFiles);
            Assert.True(File.Exists(live));
        }
        Assert.Equal([live], _store.GarbageCollect().RemovedIngestFiles);
    }

    [Fact]
    public async Task GarbageCollect_WhilePullLeaseHeld_WaitsThenBusy()
    {
        using var lease = await _store.AcquirePullLeaseAsync();
        using var second = await _temp.Open().AcquirePullLeaseAsync(); // leases share
        var e = Assert.Throws<IOException>(() => _store.GarbageCollect(TimeSpan.FromMilliseconds(200)));
        Assert.Equal($"content store {_temp.Root} is busy: a pull is still running after 0 s", e.Message);
    }
}
