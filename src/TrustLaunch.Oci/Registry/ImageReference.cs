using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using TrustLaunch.Oci.Content;

namespace TrustLaunch.Oci.Registry;

/// <summary>
/// A normalized image reference, <c>[registry[:port]/]repository[:tag][@digest]</c>, with Docker's defaults: no
/// registry means <c>docker.io</c>, a one-component Docker Hub repository gets <c>library/</c>, and a reference with
/// neither tag nor digest means <c>:latest</c>.
/// </summary>
public sealed partial record ImageReference
{
    public const string DockerHub = "docker.io";
    public const string DefaultTag = "latest";
    private const int MaxNameLength = 255;

    private ImageReference(string registry, string repository, string? tag, Digest? digest)
    {
        Registry = registry;
        Repository = repository;
        Tag = tag;
        Digest = digest;
    }

    /// <summary>Registry host with optional port, e.g. <c>docker.io</c> or <c>127.0.0.1:5000</c>.</summary>
    public string Registry { get; }

    /// <summary>Repository path inside the registry, e.g. <c>library/busybox</c>.</summary>
    public string Repository { get; }

    /// <summary>The tag; null only when the reference names a digest and no tag.</summary>
    public string? Tag { get; }

    public Digest? Digest { get; }

    /// <summary>The host the distribution API is served from (Docker Hub's API lives at registry-1.docker.io).</summary>
    public string ApiHost => Registry == DockerHub ? "registry-1.docker.io" : Registry;

    /// <summary>What goes after <c>/manifests/</c>: the digest when there is one, else the tag.</summary>
    public string ManifestReference => Digest?.ToString() ?? Tag!;

    /// <summary>The same repository and tag, pinned to a digest.</summary>
    public ImageReference WithDigest(Digest digest) => new(Registry, Repository, Tag, digest);

    /// <summary>The same repository with another tag and no digest.</summary>
    public ImageReference WithTag(string tag) =>
        TagPattern().IsMatch(tag) ? new(Registry, Repository, tag, null) : throw new FormatException($"'{tag}' is not a valid tag: expected [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}");

    /// <summary>The repository name with its registry, without tag or digest: <c>docker.io/library/busybox</c>.</summary>
    public string Name => $"{Registry}/{Repository}";

    public override string ToString() =>
        Name + (Tag is null ? "" : ":" + Tag) + (Digest is { } d ? "@" + d : "");

    public static ImageReference Parse(string text) =>
        TryParse(text, out var reference, out var error) ? reference : throw new FormatException(error);

    public static bool TryParse(string? text, [NotNullWhen(true)] out ImageReference? reference, [NotNullWhen(false)] out string? error)
    {
        reference = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "image reference is empty";
            return false;
        }
        if (text.Trim() != text)
        {
            error = $"image reference '{text}' has leading or trailing whitespace";
            return false;
        }

        var rest = text;
        Digest? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            if (!Content.Digest.TryParse(rest[(at + 1)..], out var d, out var digestError))
            {
                error = $"image reference '{text}': {digestError}";
                return false;
            }
            digest = d;
            rest = rest[..at];
        }

        string? tag = null;
        var lastSlash = rest.LastIndexOf('/');
        var colon = rest.IndexOf(':', lastSlash + 1);
        if (colon >= 0)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagPattern().IsMatch(tag))
            {
                error = $"image reference '{text}': '{tag}' is not a valid tag (expected [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})";
                return false;
            }
        }

        string registry;
        string repository;
        var firstSlash = rest.IndexOf('/', StringComparison.Ordinal);
        var first = firstSlash < 0 ? null : rest[..firstSlash];
        if (first is not null && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"))
        {
            registry = first;
            repository = rest[(firstSlash + 1)..];
            if (!RegistryPattern().IsMatch(registry))
            {
                error = $"image reference '{text}': '{registry}' is not a valid registry host[:port]";
                return false;
            }
        }
        else
        {
            registry = DockerHub;
            repository = rest;
        }
        if (registry is "index.docker.io" or "registry-1.docker.io")
            registry = DockerHub;
        if (registry == DockerHub && !repository.Contains('/', StringComparison.Ordinal))
            repository = "library/" + repository;

        if (repository.Length == 0)
        {
            error = $"image reference '{text}' has no repository name";
            return false;
        }
        if (repository.Any(char.IsUpper))
        {
            error = $"image reference '{text}': repository name '{repository}' must be lowercase";
            return false;
        }
        foreach (var component in repository.Split('/'))
        {
            if (!ComponentPattern().IsMatch(component))
            {
                error = $"image reference '{text}': '{component}' is not a valid repository path component (lowercase letters, digits and single separators . _ __ -)";
                return false;
            }
        }
        if (registry.Length + 1 + repository.Length > MaxNameLength)
        {
            error = $"image reference '{text}': name is longer than {MaxNameLength} characters";
            return false;
        }
        if (tag is null && digest is null)
            tag = DefaultTag;
        reference = new ImageReference(registry, repository, tag, digest);
        error = null;
        return true;
    }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();

    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")]
    private static partial Regex ComponentPattern();

    [GeneratedRegex(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:]+\])(?::[0-9]{1,5})?$")]
    private static partial Regex RegistryPattern();
}
