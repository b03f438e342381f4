namespace TrustLaunch.Kbs.Resources;

/// <summary>
/// A resource's name, <c>repository/type/tag</c> as in <c>kbs:///repository/type/tag</c>: three non-empty segments of
/// ASCII letters, digits, <c>.</c>, <c>_</c> and <c>-</c>, none <c>.</c> or <c>..</c>, at most 128 characters each.
/// </summary>
public sealed record ResourcePath(string Repository, string Type, string Tag)
{
    public const int MaxSegment = 128;

    public override string ToString() => $"{Repository}/{Type}/{Tag}";

    /// <exception cref="FormatException">Names the segment that is not valid.</exception>
    public static ResourcePath Create(string repository, string type, string tag) =>
        new(Segment(repository, "repository"), Segment(type, "type"), Segment(tag, "tag"));

    /// <exception cref="FormatException">Not three valid segments.</exception>
    public static ResourcePath Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var parts = path.Split('/');
        return parts.Length == 3 ? Create(parts[0], parts[1], parts[2])
            : throw new FormatException($"resource path '{Shown(path)}' is not repository/type/tag");
    }

    private static string Segment(string value, string name)
    {
        if (value.Length is 0 or > MaxSegment || value is "." or ".."
            || !value.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-'))
            throw new FormatException($"resource {name} '{Shown(value)}' must be 1 to {MaxSegment} of A-Z a-z 0-9 . _ - (not . or ..)");
        return value;
    }

    /// <summary>A path as it may appear in a message: bounded, control characters replaced.</summary>
    private static string Shown(string value) =>
        new([.. (value.Length > 3 * MaxSegment ? value[..(3 * MaxSegment)] : value).Select(c => char.IsControl(c) ? '?' : c)]);
}
