using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace TrustLaunch.Oci.Bundles;

/// <summary>
/// The default seccomp profile of containerd and moby, kept as data (<c>default-seccomp.json</c>, embedded), turned
/// into the runtime spec's <c>linux.seccomp</c> for one container: the host architecture's native and compat ABIs,
/// and only the rules whose conditions hold (architecture, the container's capabilities, the kernel version), as
/// containerd's generator does. Everything not allowed fails with EPERM.
/// </summary>
public static class SeccompProfile
{
    private const string ResourceName = "TrustLaunch.Oci.Bundles.default-seccomp.json";

    private static readonly Lazy<byte[]> Profile = new(() =>
    {
        using var stream = typeof(SeccompProfile).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the default seccomp profile ({ResourceName}) is not embedded in {typeof(SeccompProfile).Assembly.GetName().Name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>The profile's name for the architecture this process runs on.</summary>
    public static string HostArchitecture => ArchitectureName(RuntimeInformation.OSArchitecture);

    /// <summary>The running kernel's version (major.minor), from /proc/sys/kernel/osrelease.</summary>
    public static Version HostKernel { get; } = ParseKernel(File.ReadAllText("/proc/sys/kernel/osrelease"));

    /// <summary>Writes <c>"seccomp": {…}</c> for a container with <paramref name="capabilities"/> (its bounding set).</summary>
    public static void Write(Utf8JsonWriter w, IReadOnlyCollection<string> capabilities, string architecture, Version kernel)
    {
        using var doc = JsonDocument.Parse(Profile.Value);
        var profile = doc.RootElement;
        if (!profile.GetProperty("architectures").TryGetProperty(architecture, out var arches))
            throw new PlatformNotSupportedException($"the default seccomp profile has no rules for architecture '{architecture}'");

        w.WriteStartObject("seccomp");
        w.WriteString("defaultAction", profile.GetProperty("default_action").GetString());
        w.WriteNumber("defaultErrnoRet", profile.GetProperty("default_errno").GetUInt32());
        w.WriteStartArray("architectures");
        foreach (var arch in arches.EnumerateArray())
            w.WriteStringValue(arch.GetString());
        w.WriteEndArray();
        w.WriteStartArray("syscalls");
        foreach (var rule in profile.GetProperty("rules").EnumerateArray())
        {
            if (Applies(rule, capabilities, architecture, kernel))
                WriteRule(w, rule);
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static string ArchitectureName(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "x64",
        Architecture.Arm64 => "arm64",
        _ => throw new PlatformNotSupportedException($"the default seccomp profile has no rules for architecture '{architecture}'"),
    };

    internal static Version ParseKernel(string release)
    {
        var parts = release.Trim().Split('.', 3);
        return parts.Length >= 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            && int.TryParse(new string(parts[1].TakeWhile(char.IsAsciiDigit).ToArray()), NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            ? new Version(major, minor)
            : throw new FormatException($"cannot read a kernel version from '{release.Trim()}'");
    }

    private static bool Applies(JsonElement rule, IReadOnlyCollection<string> capabilities, string architecture, Version kernel)
    {
        if (rule.TryGetProperty("arches", out var arches) && !arches.EnumerateArray().Any(a => a.GetString() == architecture))
            return false;
        if (rule.TryGetProperty("caps", out var caps) && !caps.EnumerateArray().All(c => capabilities.Contains(c.GetString()!)))
            return false;
        if (rule.TryGetProperty("unless_caps", out var unless) && unless.EnumerateArray().Any(c => capabilities.Contains(c.GetString()!)))
            return false;
        return !rule.TryGetProperty("min_kernel", out var min) || kernel >= Version.Parse(min.GetString()!);
    }

    private static void WriteRule(Utf8JsonWriter w, JsonElement rule)
    {
        var allow = rule.TryGetProperty("allow", out var names);
        if (!allow)
            names = rule.GetProperty("errno");
        w.WriteStartObject();
        w.WriteStartArray("names");
        foreach (var name in names.EnumerateArray())
            w.WriteStringValue(name.GetString());
        w.WriteEndArray();
        w.WriteString("action", allow ? "SCMP_ACT_ALLOW" : "SCMP_ACT_ERRNO");
        if (!allow)
            w.WriteNumber("errnoRet", rule.GetProperty("errno_ret").GetUInt32());
        if (rule.TryGetProperty("args", out var args))
        {
            w.WriteStartArray("args");
            foreach (var arg in args.EnumerateArray())
            {
                w.WriteStartObject();
                w.WriteNumber("index", arg.GetProperty("index").GetUInt32());
                w.WriteNumber("value", arg.GetProperty("value").GetUInt64());
                if (arg.TryGetProperty("value_two", out var two))
                    w.WriteNumber("valueTwo", two.GetUInt64());
                w.WriteString("op", arg.GetProperty("op").GetString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }
}
