using TrustLaunch.Measurement.Native;
using TrustLaunch.Oci.Layers;
using static TrustLaunch.Oci.Tests.Layers.TarBuilder;

namespace TrustLaunch.Oci.Tests.Layers;

/// <summary>A rootfs changed under the unpacker while it runs: a swapped-in symlink never redirects a write.</summary>
public sealed class LayerUnpackerRaceTests : IDisposable
{
    private const int Layers = 3000;
    private const int MaxSwaps = 200_000;
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    [Fact]
    public async Task ApplyLayer_DirectorySwappedForSymlinkDuringUnpack_NothingLandsOutside()
    {
        var directory = _box.InRoot("d");
        var link = _box.InRoot("d.link");
        Directory.CreateDirectory(directory);
        System.IO.File.CreateSymbolicLink(link, _box.Sentinel);
        using var done = new CancellationTokenSource();
        var swapper = new Thread(() => Swap(directory, link, done.Token));
        swapper.Start();
        try
        {
            // One small layer at a time: a layer refused because its directory was replaced under it is a fine
            // outcome and must not end the race early; writing outside is not.
            var unpacker = new LayerUnpacker();
            for (var i = 0; i < Layers; i++)
            {
                try
                {
                    await unpacker.ApplyLayerAsync(new MemoryStream(Tar(File($"d/f{i}", "x"), File($"d/sub/g{i}", "x"))), _box.Root);
                }
                catch (Exception e) when (e is LayerUnpackException or IOException)
                {
                    // refused: the next layer races again
                }
            }
        }
        finally
        {
            done.Cancel();
            swapper.Join();
        }
        _box.AssertNothingOutside();
    }

    /// <summary>
    /// Repeatedly exchanges the directory with a symlink to the outside directory (renameat2 RENAME_EXCHANGE: the
    /// name is never missing, so the unpacker never recreates it), and back.
    /// </summary>
    private static void Swap(string directory, string link, CancellationToken done)
    {
        for (var i = 0; i < MaxSwaps && !done.IsCancellationRequested; i++)
        {
            Exchange(directory, link);
            Thread.SpinWait(2000);
            Exchange(directory, link);
            Thread.SpinWait(2000);
        }
    }

    private static void Exchange(string a, string b)
    {
        if (Libc.Renameat2(Libc.AT_FDCWD, a, Libc.AT_FDCWD, b, Libc.RENAME_EXCHANGE) != 0)
            throw new IOException($"renameat2 '{a}' '{b}': {Libc.ErrorText(Libc.LastError)}");
    }
}
