namespace TrustLaunch.Hosting.Storage;

/// <summary>
/// Data directories (0700) and the files in them (0600), whatever the umask: modes are set explicitly after creation,
/// and an existing directory or file with group or other bits is narrowed. A sticky directory (like /tmp) is shared
/// by design and refused as a data directory.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates <paramref name="path"/> (and missing parents) with mode 0700, or narrows it to 0700.</summary>
    public static string CreateDirectory(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (OperatingSystem.IsWindows())
            return Directory.CreateDirectory(path).FullName;
        // Each missing ancestor on its own: Directory.CreateDirectory gives parents the umask's mode, not ours.
        var full = Path.GetFullPath(path);
        var missing = new Stack<string>();
        for (var current = full; current is not null && !Directory.Exists(current); current = Path.GetDirectoryName(current))
            missing.Push(current);
        foreach (var ancestor in missing)
        {
            Directory.CreateDirectory(ancestor, DirectoryMode);
            File.SetUnixFileMode(ancestor, DirectoryMode);
        }
        var directory = new DirectoryInfo(full);
        var mode = File.GetUnixFileMode(directory.FullName);
        if ((mode & UnixFileMode.StickyBit) != 0)
            throw new IOException($"{directory.FullName} is a shared directory (sticky bit): give a data directory of its own");
        if ((mode & GroupOrOther) != 0 || (mode & DirectoryMode) != DirectoryMode)
            File.SetUnixFileMode(directory.FullName, DirectoryMode);
        return directory.FullName;
    }

    /// <summary>Creates <paramref name="path"/> empty with mode 0600 if it does not exist, else narrows its mode to 0600.</summary>
    public static void CreateFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (OperatingSystem.IsWindows())
            return;
        var options = new FileStreamOptions { Mode = System.IO.FileMode.OpenOrCreate, Access = FileAccess.Write, UnixCreateMode = FileMode };
        using (new FileStream(path, options))
        {
        }
        Narrow(path);
    }

    /// <summary>Sets an existing file's mode to 0600 if it has group or other bits; a missing file is left missing.</summary>
    public static void Narrow(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path))
            return;
        if ((File.GetUnixFileMode(path) & GroupOrOther) != 0)
            File.SetUnixFileMode(path, FileMode);
    }
}
