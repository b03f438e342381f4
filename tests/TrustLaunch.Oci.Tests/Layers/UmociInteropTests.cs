using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Layers;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Oci.Rootfs;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Layers;

/// <summary>A real busybox image made by umoci (two layers, with whiteouts and a hard link), unpacked by both.</summary>
public sealed class UmociInteropTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private Task Sh(string script) => ProcessRunner.RunAsync("sh", ["-euc", script], workingDirectory: _box.Base)
        .ContinueWith(t => t.Result.EnsureSuccess(script));

    [Fact]
    public async Task UnpackImage_BusyboxImageByUmoci_SameTreeAsUmociUnpack()
    {
        await Sh("""
            umoci init --layout L
            umoci new --image L:t
            umoci unpack --image L:t B
            mkdir -p B/rootfs/bin B/rootfs/tmp B/rootfs/home/u B/rootfs/etc
            cp /bin/busybox B/rootfs/bin/
            ln -s busybox B/rootfs/bin/sh
            ln -s /bin/busybox B/rootfs/bin/ls
            ln B/rootfs/bin/busybox B/rootfs/bin/bb
            chmod 1777 B/rootfs/tmp
            chmod 4755 B/rootfs/bin/busybox
            chown 1000:1001 B/rootfs/home/u
            echo hi > B/rootfs/etc/motd
            umoci repack --image L:t B
            umoci unpack --image L:t B2
            rm B2/rootfs/bin/ls
            rm -r B2/rootfs/home
            echo x > B2/rootfs/etc/new
            umoci repack --image L:t B2
            umoci unpack --image L:t C
            """);
        var layout = Path.Combine(_box.Base, "L");
        string Blob(Digest d) => Path.Combine(layout, "blobs", d.Algorithm, d.Hex);
        var index = JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(layout, "index.json")), OciJsonContext.Default.OciIndex)!;
        var manifest = JsonSerializer.Deserialize(File.ReadAllBytes(Blob(index.Manifests[0].Digest)), OciJsonContext.Default.OciManifest)!;
        var config = JsonSerializer.Deserialize(File.ReadAllBytes(Blob(manifest.Config.Digest)), OciJsonContext.Default.ImageConfig)!;
        Assert.Equal(2, manifest.Layers.Count);
        var layers = manifest.Layers.Select((l, i) => LayerSource.FromFile(Blob(l.Digest), l, config.RootFs.DiffIds[i]));

        var ours = Path.Combine(_box.Base, "ours");
        var result = await new LayerUnpacker().UnpackImageAsync(layers, ours);

        Assert.Equal(config.RootFs.DiffIds, result.Layers.Select(l => l.DiffId!.Value));
        var theirs = Path.Combine(_box.Base, "C", "rootfs");
        Assert.Equal(RootfsDigest.CanonicalLines(theirs), RootfsDigest.CanonicalLines(ours));
        Assert.Equal(RootfsDigest.Compute(theirs), RootfsDigest.Compute(ours));
        Assert.Contains("bin/busybox f 4755 0 0 sha256:", string.Join('\n', RootfsDigest.CanonicalLines(ours)), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(ours, "home")));
        Assert.Equal(2, Sandbox.LinkCount(Path.Combine(ours, "bin", "busybox"))); // busybox and bb
    }
}
