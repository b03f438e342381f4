using System.Runtime.InteropServices;
using System.Text.Json;
using TrustLaunch.Oci.Bundles;

namespace TrustLaunch.Oci.Tests.Bundles;

/// <summary>The default seccomp profile's data turned into <c>linux.seccomp</c>, rule by rule as containerd's generator does.</summary>
public sealed class SeccompProfileTests
{
    private static JsonElement Profile(IReadOnlyCollection<string> caps, string arch = "x64", string kernel = "6.1")
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            SeccompProfile.Write(w, caps, arch, SeccompProfile.ParseKernel(kernel));
            w.WriteEndObject();
        }
        return JsonDocument.Parse(buffer.ToArray()).RootElement.GetProperty("seccomp").Clone();
    }

    private static List<(string Name, string Action, string Args)> Rules(JsonElement profile) =>
        profile.GetProperty("syscalls").EnumerateArray().SelectMany(r => r.GetProperty("names").EnumerateArray().Select(n => (n.GetString()!,
            r.GetProperty("action").GetString() + (r.TryGetProperty("errnoRet", out var e) ? ":" + e.GetInt32() : ""),
            r.TryGetProperty("args", out var a) ? a.GetRawText() : ""))).ToList();

    [Fact]
    public void Write_DefaultCapabilitiesX64_NamespacesKeyringsAndMountsDenied()
    {
        var profile = Profile(RuntimeBundle.DefaultCapabilities.ToList());
        var rules = Rules(profile);
        var names = rules.Select(r => r.Name).ToHashSet();

        Assert.Equal(("SCMP_ACT_ERRNO", 1), (profile.GetProperty("defaultAction").GetString(), profile.GetProperty("defaultErrnoRet").GetInt32()));
        Assert.Equal(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], profile.GetProperty("architectures").EnumerateArray().Select(a => a.GetString()));
        Assert.Contains("arch_prctl", names);
        Assert.Contains("chroot", names); // CAP_SYS_CHROOT is a default capability
        Assert.Contains("ptrace", names); // kernel >= 4.8
        foreach (var denied in new[] { "unshare", "setns", "mount", "umount2", "keyctl", "add_key", "request_key", "bpf", "cacheflush", "reboot", "init_module" })
            Assert.DoesNotContain(denied, names);
        Assert.Contains(("clone", "SCMP_ACT_ALLOW", """[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]"""), rules);
        Assert.Contains(("clone3", "SCMP_ACT_ERRNO:38", ""), rules);
        Assert.Contains(("socket", "SCMP_ACT_ALLOW", """[{"index":0,"value":40,"op":"SCMP_CMP_NE"}]"""), rules);
    }

    [Fact]
    public void Write_SysAdminArm64OldKernel_RulesFollowCapsArchAndKernel()
    {
        var rules = Rules(Profile([.. RuntimeBundle.DefaultCapabilities, "CAP_SYS_ADMIN"], "arm64", "4.4.0-generic"));
        var names = rules.Select(r => r.Name).ToHashSet();

        Assert.Contains("mount", names);
        Assert.Contains("unshare", names);
        Assert.Contains("cacheflush", names);
        Assert.DoesNotContain("arch_prctl", names);
        Assert.DoesNotContain(rules, r => r.Name == "clone3" && r.Action.StartsWith("SCMP_ACT_ERRNO", StringComparison.Ordinal));
        Assert.DoesNotContain(rules, r => r.Name == "clone" && r.Args.Length > 0);
        Assert.DoesNotContain("ptrace", names); // needs 4.8 (or CAP_SYS_PTRACE)
    }

    [Fact]
    public void Write_ArchitectureWithoutRules_Refused() =>
        Assert.Equal("the default seccomp profile has no rules for architecture 'riscv64'",
            Assert.Throws<PlatformNotSupportedException>(() => Profile(RuntimeBundle.DefaultCapabilities.ToList(), "riscv64")).Message);

    [Fact]
    public void HostArchitecture_ThisMachine_HasRules() =>
        Assert.Equal(RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "x64", SeccompProfile.HostArchitecture);

    [Theory]
    [InlineData("6.18.44-fc-v1300", 6, 18)]
    [InlineData("4.8.0", 4, 8)]
    [InlineData("5.10.0-28-amd64\n", 5, 10)]
    public void ParseKernel_Releases(string release, int major, int minor) =>
        Assert.Equal(new Version(major, minor), SeccompProfile.ParseKernel(release));
}
