namespace TrustLaunch.Kbs.Client;

/// <summary>
/// A resource URI in Confidential Containers' form: <c>kbs://HOST:PORT/REPOSITORY/TYPE/TAG</c>, or
/// <c>kbs:///REPOSITORY/TYPE/TAG</c> for the node's configured broker; <c>kbs:///TYPE/TAG</c> names repository
/// <see cref="DefaultRepository"/>. Each segment is letters, digits, <c>.</c>, <c>_</c> or <c>-</c> (never <c>.</c> or
/// <c>..</c> alone), so the path means the same to every broker.
/// </summary>
public sealed record KbsResourceUri(string? Authority, string Repository, string Type, string Tag)
{
    public const string Scheme = "kbs";
    public const string DefaultRepository = "default";

    /// <summary><c>REPOSITORY/TYPE/TAG</c>, as in <c>/kbs/v0/resource/…</c>.</summary>
    public string Path => $"{Repository}/{Type}/{Tag}";

    /// <summary>The URI without its broker (<c>kbs:///REPOSITORY/TYPE/TAG</c>), as the launch log records it.</summary>
    public string WithoutAuthority => $"{Scheme}:///{Path}";

    public override string ToString() => $"{Scheme}://{Authority}/{Path}";

    /// <exception cref="FormatException">Not a <c>kbs://</c> resource URI; the message says what is wrong.</exception>
    public static KbsResourceUri Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        const string prefix = Scheme + "://";
        if (!uri.StartsWith(prefix, StringComparison.Ordinal))
            throw new FormatException($"resource URI '{uri}' does not start with {prefix}");
        var rest = uri[prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
            throw new FormatException($"resource URI '{uri}' has no path: expected {prefix}[HOST:PORT]/REPOSITORY/TYPE/TAG");
        var authority = rest[..slash];
        if (authority.Length > 0 && !IsAuthority(authority))
            throw new FormatException($"resource URI '{uri}': '{authority}' is not HOST:PORT");
        var segments = rest[(slash + 1)..].Split('/');
        foreach (var segment in segments)
        {
            if (!IsSegment(segment))
                throw new FormatException($"resource URI '{uri}': segment '{segment}' is not letters, digits, '.', '_' or '-' (and not '.' or '..')");
        }
        return segments.Length switch
        {
            3 => new KbsResourceUri(authority.Length == 0 ? null : authority, segments[0], segments[1], segments[2]),
            2 => new KbsResourceUri(authority.Length == 0 ? null : authority, DefaultRepository, segments[0], segments[1]),
            _ => throw new FormatException($"resource URI '{uri}' has {segments.Length} path segments: expected REPOSITORY/TYPE/TAG (or TYPE/TAG in '{DefaultRepository}')"),
        };
    }

    private static bool IsSegment(string segment) =>
        segment.Length is > 0 and <= 255 && segment is not ("." or "..") && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    private static bool IsAuthority(string authority) =>
        authority.IndexOfAny(['@', '?', '#', '\\']) < 0 && !authority.EndsWith(':') &&
        Uri.TryCreate($"https://{authority}/", UriKind.Absolute, out var parsed) && parsed.PathAndQuery == "/";

    /// <summary>Whether this URI may be fetched from <paramref name="broker"/>: it names no broker, or that one
    /// (host and port; a port left out is 443, as in <c>https://</c>).</summary>
    public bool IsFor(Uri broker)
    {
        ArgumentNullException.ThrowIfNull(broker);
        if (Authority is null)
            return true;
        var named = new Uri($"https://{Authority}/");
        return string.Equals(named.IdnHost, broker.IdnHost, StringComparison.OrdinalIgnoreCase) && named.Port == broker.Port;
    }
}
