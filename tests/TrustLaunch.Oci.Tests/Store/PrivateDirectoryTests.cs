using System.Runtime.Versioning;
using TrustLaunch.Oci.Store;
using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Store;

/// <summary>The data tree's directories: 0700 and ours, or refused.</summary>
[SupportedOSPlatform("linux")]
public sealed class PrivateDirectoryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tl-private-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Ensure_Missing_CreatedOwnerOnly()
    {
        var path = PrivateDirectory.Ensure(Path.Combine(_dir, "new", "data"));

        Assert.Equal(PrivateDirectory.Mode, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Ensure_ExistingWorldReadable_Tightened()
    {
        var path = Directory.CreateDirectory(Path.Combine(_dir, "open"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute).FullName;

        PrivateDirectory.Ensure(path);

        Assert.Equal(PrivateDirectory.Mode, File.GetUnixFileMode(path));
    }

    [Fact]
    public void Ensure_SharedDirectory_RefusedAndLeftAlone()
    {
        var path = Directory.CreateDirectory(Path.Combine(_dir, "shared")).FullName;
        var shared = (UnixFileMode)0b1_111_111_111;
        File.SetUnixFileMode(path, shared);

        var e = Assert.Throws<IOException>(() => PrivateDirectory.Ensure(path));

        Assert.Equal($"'{path}' is a shared directory (mode 1777): give trustlaunch a directory of its own", e.Message);
        Assert.Equal(shared, File.GetUnixFileMode(path));
    }

    [Fact]
    public async Task Ensure_OwnedByAnotherUser_Refused()
    {
        var path = Directory.CreateDirectory(Path.Combine(_dir, "theirs")).FullName;
        (await ProcessRunner.RunAsync("chown", ["65534:65534", path])).EnsureSuccess("chown");

        var e = Assert.Throws<IOException>(() => PrivateDirectory.Ensure(path));

        Assert.Equal($"'{path}' is owned by uid 65534, not by uid 0 that trustlaunch runs as: refusing to keep private data in it", e.Message);
    }

    [Fact]
    public void Ensure_AFile_Refused()
    {
        var path = Path.Combine(_dir, "file");
        File.WriteAllText(path, "");

        Assert.Equal($"'{path}' is not a directory", Assert.Throws<IOException>(() => PrivateDirectory.Ensure(path)).Message);
    }
}
