using System.Text;
using TrustLaunch.Oci.Rootfs;

namespace TrustLaunch.Oci.Layers;

/// <summary>
/// Which extended attributes belong to an image: <c>user.*</c> and <c>security.capability</c> (file capabilities)
/// are applied from layers and covered by the rootfs digest (version 2); the rest (<c>trusted.*</c>, which would
/// steer overlayfs, <c>security.selinux</c> and other LSM labels the host assigns, <c>system.*</c> ACLs) are skipped
/// and counted.
/// </summary>
public static class ImageXattrs
{
    public const string Capability = "security.capability";

    public static bool IsApplied(string name) => name.StartsWith("user.", StringComparison.Ordinal) || name == Capability;

    /// <summary>The XATTRS field of a rootfs digest line: <c>-</c>, or <c>NAME=HEX</c> pairs sorted by name, joined by <c>,</c>.</summary>
    internal static string Field(string path)
    {
        var names = Posix.ListXattrs(path).Where(IsApplied).Select(n => (Key: Encoding.UTF8.GetBytes(n), Name: n)).ToList();
        if (names.Count == 0)
            return "-";
        names.Sort((a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key));
        var field = new StringBuilder();
        foreach (var (_, name) in names)
        {
            var value = Posix.TryGetXattr(path, name) ?? throw new IOException($"extended attribute {name} of '{path}' disappeared while the root filesystem digest was computed");
            if (field.Length > 0)
                field.Append(',');
            field.Append(RootfsDigest.Escape(name)).Append('=').Append(Convert.ToHexStringLower(value));
        }
        return field.ToString();
    }
}
