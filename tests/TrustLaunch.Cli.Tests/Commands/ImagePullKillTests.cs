using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using TrustLaunch.Oci.Store;
using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>kill -9 of the real (Native AOT) <c>trustlaunch image pull</c> half-way through a layer download.</summary>
[Trait("Category", "Slow")]
public sealed class ImagePullKillTests(RegistryFixture registry) : IClassFixture<RegistryFixture>, IDisposable
{
    private const int LayerBytes = 64 << 20;
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Pull_KilledMidDownload_RepullSucceedsAndGcRemovesLeftovers()
    {
        var bin = await PublishedCli.PathAsync();
        var image = await TestImages.BuildAndPushAsync(registry, "kill/big", "v1", new Dictionary<string, byte[]>
        {
            ["/data/a"] = TestImages.RandomPayload(LayerBytes),
            ["/data/b"] = TestImages.RandomPayload(LayerBytes),
        });
        var data = _scratch["data"];
        var store = new ContentStore(data);

        var leftovers = await KillMidPullAsync(bin, image.Reference, data, store);
        Assert.Null(store.Find(image.Reference));

        var pull = await ProcessRunner.RunAsync(bin, ["image", "pull", image.Reference, "--data-dir", data, "--json"]);
        pull.EnsureSuccess("re-pull");
        var gc = await ProcessRunner.RunAsync(bin, ["image", "gc", "--data-dir", data, "--json"]);
        using var gcJson = JsonDocument.Parse(gc.EnsureSuccess("image gc").StandardOutput);

        Assert.Equal(leftovers, gcJson.RootElement.GetProperty("ingest_files_removed").GetInt32());
        Assert.Equal(0, gcJson.RootElement.GetProperty("blobs_removed").GetInt32());
        Assert.Empty(Directory.EnumerateFiles(store.IngestDirectory));
        Assert.Empty(Directory.EnumerateFiles(store.RefsDirectory, ".tmp-*"));
        var stored = store.Find(image.Reference);
        Assert.NotNull(stored);
        var blobs = Directory.EnumerateFiles(Path.Combine(store.BlobsDirectory, "sha256")).ToList();
        Assert.Equal(5, blobs.Count); // manifest, config, busybox layer, two payload layers
        foreach (var blob in blobs)
        {
            await using var file = File.OpenRead(blob);
            Assert.Equal(Path.GetFileName(blob), Convert.ToHexStringLower(await SHA256.HashDataAsync(file)));
        }
    }

    /// <summary>Starts a pull, SIGKILLs it once a layer is partly in ingest/, and returns how many ingest files it left.</summary>
    private static async Task<int> KillMidPullAsync(string bin, string reference, string data, ContentStore store)
    {
        var info = new ProcessStartInfo(bin) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "image", "pull", reference, "--data-dir", data, "--json" })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (!PartlyIngested(store))
        {
            Assert.False(process.HasExited, "the pull finished before it could be killed");
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "no layer download started within 60 s");
            await Task.Delay(2);
        }
        process.Kill(); // SIGKILL on Unix: no handler, no cleanup
        await process.WaitForExitAsync();
        Assert.Equal(137, process.ExitCode);
        var leftovers = Directory.EnumerateFiles(store.IngestDirectory).Count();
        Assert.InRange(leftovers, 1, 3);
        return leftovers;
    }

    private static bool PartlyIngested(ContentStore store) =>
        Directory.Exists(store.IngestDirectory)
        && Directory.EnumerateFiles(store.IngestDirectory).Any(f => new FileInfo(f) is { Exists: true } file && file.Length is > 1 << 20 and < LayerBytes); // Exists stats once: a file renamed meanwhile is skipped
}
