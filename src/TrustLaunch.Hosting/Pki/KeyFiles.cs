using System.Text;

namespace TrustLaunch.Hosting.Pki;

/// <summary>Writes PEM files; private keys are created with mode 0600 from the start, never readable by others;
/// public files replace the old one by an atomic rename, so a service reading them never sees half a file.</summary>
public static class KeyFiles
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void WritePrivate(string path, string pem)
    {
        // A new inode, so an existing file's wider mode is never inherited.
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = OwnerOnly;
        using var stream = new FileStream(path, options);
        stream.Write(Encoding.ASCII.GetBytes(pem));
        stream.Flush(flushToDisk: true);
    }

    public static void WritePublic(string path, string pem)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(Encoding.ASCII.GetBytes(pem));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
