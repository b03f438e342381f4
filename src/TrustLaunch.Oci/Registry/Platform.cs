using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Oci.Registry;

/// <summary>A platform to pick from an image index: <c>os/arch[/variant]</c>, default the host's (<see cref="Default"/>).</summary>
public sealed record Platform(string Os, string Architecture, string? Variant = null)
{
    /// <summary>linux and the architecture this process runs on, in the OCI (GOARCH) spelling: an image for another
    /// architecture would not run here.</summary>
    public static Platform Default { get; } = new("linux", OciArchitecture(RuntimeInformation.OSArchitecture));

    /// <summary>The OCI image-spec name of <paramref name="architecture"/> (GOARCH values).</summary>
    public static string OciArchitecture(Architecture architecture) => architecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        System.Runtime.InteropServices.Architecture.Arm or System.Runtime.InteropServices.Architecture.Armv6 => "arm",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
        System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
        System.Runtime.InteropServices.Architecture.LoongArch64 => "loong64",
        _ => throw new PlatformNotSupportedException($"no OCI architecture name for {architecture}"),
    };

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
