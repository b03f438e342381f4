namespace TrustLaunch.Oci.Layers;

/// <summary>
/// Resolves tar entry names inside a root filesystem directory, component by component, so that nothing is ever
/// written, linked or deleted outside it. Every destination and every hard-link target goes through here.
/// </summary>
/// <remarks>
/// Symbolic links met on the way are followed the way the container will see them: an absolute target starts again
/// at the root filesystem (never at the host's <c>/</c>), a relative one from the directory holding the link. A
/// <c>..</c> that would climb above the root is refused. The final component is never followed: an entry replaces
/// whatever is there. Missing parent directories are created (mode 0755) and checked again after creation.
/// </remarks>
internal sealed class SafeRoot(string hostRoot, string displayRoot)
{
    private const int MaxSymlinks = 40;
    private const uint DefaultDirectoryMode = 0x1ED; // 0755

    public string HostRoot { get; } = hostRoot;
    public string DisplayRoot { get; } = displayRoot;

    /// <summary>A place in the root: its parent resolved to real directories, the last component not followed.</summary>
    public readonly record struct Destination(string RelativePath, string HostPath);

    /// <summary>Splits a tar name into components; refuses absolute names and <c>..</c>. Empty = the root itself.</summary>
    public static string[] Split(string entryName, string what = "entry")
    {
        if (entryName.StartsWith('/'))
            throw new LayerUnpackException($"{what} '{entryName}' has an absolute path");
        var components = entryName.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(c => c != ".").ToArray();
        if (components.Contains(".."))
            throw new LayerUnpackException($"{what} '{entryName}' has a '..' component");
        if (entryName.Contains('\0', StringComparison.Ordinal))
            throw new LayerUnpackException($"{what} '{entryName}' contains a NUL character");
        return components;
    }

    public LayerUnpackException Outside(string entryName) =>
        new($"entry '{entryName}' would be written outside the root filesystem '{DisplayRoot}'");

    /// <summary>
    /// The destination of an entry: parents resolved (and created if <paramref name="create"/>), or null when a
    /// parent is missing and <paramref name="create"/> is false.
    /// </summary>
    public Destination? GetDestination(string entryName, ReadOnlySpan<string> components, bool create) =>
        GetDestination(entryName, components, create, () => Outside(entryName));

    /// <summary>Resolves a directory (following symlinks inside the root); null when missing or not a directory.</summary>
    public Destination? GetDirectory(string entryName, ReadOnlySpan<string> components)
    {
        var resolved = new List<string>();
        var links = 0;
        if (!Walk(resolved, components.ToArray(), create: false, entryName, () => Outside(entryName), ref links))
            return null;
        var relative = string.Join('/', resolved);
        return new Destination(relative, Host(resolved, null));
    }

    /// <summary>The existing, non-directory file a hard link points to, inside the root.</summary>
    public string GetHardLinkTarget(string entryName, string linkName)
    {
        LayerUnpackException Refused() =>
            new($"hard link '{entryName}' -> '{linkName}' points outside the root filesystem '{DisplayRoot}'");
        string[] components;
        try
        {
            components = Split(linkName, "hard link target");
        }
        catch (LayerUnpackException)
        {
            throw Refused();
        }
        if (components.Length == 0)
            throw new LayerUnpackException($"hard link '{entryName}' -> '{linkName}' points to the root directory");
        var target = GetDestination(entryName, components, create: false, Refused);
        if (target is not { } t || !Posix.TryLstat(t.HostPath, out var status))
            throw new LayerUnpackException($"hard link '{entryName}' -> '{linkName}': the target does not exist");
        if (status.IsDirectory)
            throw new LayerUnpackException($"hard link '{entryName}' -> '{linkName}': the target is a directory");
        return t.HostPath;
    }

    private Destination? GetDestination(string entryName, ReadOnlySpan<string> components, bool create, Func<LayerUnpackException> outside)
    {
        var resolved = new List<string>();
        var links = 0;
        if (!Walk(resolved, components[..^1].ToArray(), create, entryName, outside, ref links))
            return null;
        var name = components[^1];
        var relative = resolved.Count == 0 ? name : string.Join('/', resolved) + "/" + name;
        return new Destination(relative, Host(resolved, name));
    }

    private bool Walk(List<string> resolved, string[] components, bool create, string entryName, Func<LayerUnpackException> outside, ref int links)
    {
        foreach (var component in components)
        {
            if (component is "" or ".")
                continue;
            if (component == "..")
            {
                if (resolved.Count == 0)
                    throw outside();
                resolved.RemoveAt(resolved.Count - 1);
                continue;
            }
            var host = Host(resolved, component);
            if (!Posix.TryLstat(host, out var status))
            {
                if (!create)
                    return false;
                Posix.Mkdir(host, DefaultDirectoryMode);
                Posix.Chmod(host, DefaultDirectoryMode);
                // Re-check what we created before descending into it.
                if (!Posix.TryLstat(host, out status) || !status.IsDirectory)
                    throw new LayerUnpackException($"entry '{entryName}': could not create the directory '{Relative(resolved, component)}'");
                resolved.Add(component);
                continue;
            }
            if (status.IsDirectory)
            {
                resolved.Add(component);
                continue;
            }
            if (!status.IsSymlink)
                throw new LayerUnpackException($"entry '{entryName}': '{Relative(resolved, component)}' is not a directory");
            if (++links > MaxSymlinks)
                throw new LayerUnpackException($"entry '{entryName}': too many levels of symbolic links");
            var target = new FileInfo(host).LinkTarget
                ?? throw new LayerUnpackException($"entry '{entryName}': cannot read the symbolic link '{Relative(resolved, component)}'");
            if (target.StartsWith('/'))
                resolved.Clear();
            if (!Walk(resolved, target.Split('/'), create, entryName, outside, ref links))
                return false;
        }
        return true;
    }

    private static string Relative(List<string> resolved, string name) =>
        resolved.Count == 0 ? name : string.Join('/', resolved) + "/" + name;

    private string Host(List<string> resolved, string? name)
    {
        var relative = name is null ? string.Join('/', resolved) : Relative(resolved, name);
        return relative.Length == 0 ? HostRoot : HostRoot + "/" + relative;
    }
}
