using System.Diagnostics.CodeAnalysis;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Registry;

/// <summary>A platform to pick from an image index: <c>os/arch[/variant]</c>, default <c>linux/amd64</c>.</summary>
public sealed record Platform(string Os, string Architecture, string? Variant = null)
{
    public static Platform Default { get; } = new("linux", "amd64");

    public static Platform Parse(string text) =>
        TryParse(text, out var p) ? p : throw new FormatException($"'{text}' is not a platform: expected os/arch[/variant], e.g. linux/arm64/v8");

    public static bool TryParse(string? text, [NotNullWhen(true)] out Platform? platform)
    {
        platform = null;
        var parts = text?.Split('/') ?? [];
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0 || p.Any(char.IsWhiteSpace)))
            return false;
        platform = new Platform(parts[0], parts[1], parts.Length == 3 ? parts[2] : null);
        return true;
    }

    /// <summary>Same os and architecture; the variant must match only when this platform names one.</summary>
    public bool Matches(OciPlatform? candidate) =>
        candidate is not null && candidate.Os == Os && candidate.Architecture == Architecture &&
        (Variant is null || candidate.Variant == Variant);

    /// <summary>The index entry for this platform: an exact variant match first, then the first os/arch match.</summary>
    public OciDescriptor? Select(IReadOnlyList<OciDescriptor> manifests)
    {
        var matches = manifests.Where(m => MediaTypes.IsManifest(m.MediaType) && Matches(m.Platform)).ToList();
        return matches.FirstOrDefault(m => m.Platform!.Variant == Variant) ?? matches.FirstOrDefault();
    }

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}
