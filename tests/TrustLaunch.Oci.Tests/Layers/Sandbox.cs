namespace TrustLaunch.Oci.Tests.Layers;

/// <summary>
/// A scratch directory holding <c>root/</c> (the unpack target) next to <c>sentinel/</c> (holding one file,
/// <c>secret</c>) which a malicious layer must never touch.
/// </summary>
internal sealed class Sandbox : IDisposable
{
    public Sandbox()
    {
        Base = Path.Combine(Path.GetTempPath(), "tl-unpack-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Sentinel);
        File.WriteAllText(SecretFile, "secret");
    }

    public string Base { get; }
    public string Root => Path.Combine(Base, "root");
    public string Sentinel => Path.Combine(Base, "sentinel");
    public string SecretFile => Path.Combine(Sentinel, "secret");

    /// <summary>Path of a file in the root by its rootfs-relative name.</summary>
    public string InRoot(string relative) => Path.Combine(Root, relative);

    /// <summary>Nothing changed outside the root: sentinel holds only the untouched secret, the base only the given entries.</summary>
    public void AssertNothingOutside(params string[] baseEntries)
    {
        Assert.Equal(["secret"], Directory.EnumerateFileSystemEntries(Sentinel).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("secret", File.ReadAllText(SecretFile));
        Assert.Equal(1, LinkCount(SecretFile));
        var expected = baseEntries.Length == 0 ? ["root", "sentinel"] : baseEntries;
        Assert.Equal(expected.Order(StringComparer.Ordinal), Directory.EnumerateFileSystemEntries(Base).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    public static long LinkCount(string path)
    {
        var stat = TrustLaunch.Testing.ProcessRunner.RunAsync("stat", ["-c", "%h", path]).GetAwaiter().GetResult().EnsureSuccess("stat");
        return long.Parse(stat.StandardOutput.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        // Never follows the symlinks malicious layers leave in the root.
        TrustLaunch.Oci.Layers.LayerUnpacker.RemoveTree(Base);
    }
}
