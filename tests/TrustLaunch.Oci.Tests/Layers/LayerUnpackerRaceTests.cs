using System.Formats.Tar;
using TrustLaunch.Oci.Layers;
using static TrustLaunch.Oci.Tests.Layers.TarBuilder;

namespace TrustLaunch.Oci.Tests.Layers;

/// <summary>A rootfs changed under the unpacker while it runs: a swapped-in symlink never redirects a write.</summary>
public sealed class LayerUnpackerRaceTests : IDisposable
{
    private const int Files = 3000;
    private const int MaxSwaps = 200_000;
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    [Fact]
    public async Task ApplyLayer_DirectorySwappedForSymlinkDuringUnpack_NothingLandsOutside()
    {
        var directory = _box.InRoot("d");
        var held = _box.InRoot("d.held");
        var link = _box.InRoot("d.link");
        Directory.CreateDirectory(directory);
        System.IO.File.CreateSymbolicLink(link, _box.Sentinel);
        var entries = Enumerable.Range(0, Files).Select(i => (TarEntry)File($"d/f{i}", "x")).ToArray();
        var tar = Tar(entries);
        using var done = new CancellationTokenSource();
        var swapper = new Thread(() => Swap(directory, held, link, done.Token));
        swapper.Start();
        try
        {
            await new LayerUnpacker().ApplyLayerAsync(new MemoryStream(tar), _box.Root);
        }
        catch (Exception e) when (e is LayerUnpackException or IOException)
        {
            // Refusing an entry that was replaced under it is a fine outcome; writing outside is not.
        }
        finally
        {
            done.Cancel();
            swapper.Join();
        }
        _box.AssertNothingOutside();
    }

    /// <summary>Repeatedly replaces the directory with a symlink to the outside directory, and back.</summary>
    private static void Swap(string directory, string held, string link, CancellationToken done)
    {
        for (var i = 0; i < MaxSwaps && !done.IsCancellationRequested; i++)
        {
            TryMove(() => Directory.Move(directory, held));
            TryMove(() => System.IO.File.Move(link, directory));
            Thread.Yield();
            TryMove(() => System.IO.File.Move(directory, link));
            TryMove(() => Directory.Move(held, directory));
        }
    }

    private static void TryMove(Action move)
    {
        try
        {
            move();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The unpacker (re)created the name meanwhile: the next round swaps again.
        }
    }
}
