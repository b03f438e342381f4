using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// deploy/systemd's units as the package installs them, checked offline by systemd-analyze (systemd is not PID 1
/// here, so nothing starts them): verify must print nothing, the hardening each unit is meant to have must be what
/// systemd understood from it, and the exposure figure must stay at or below the unit's threshold.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class SystemdUnitTests(StandInPackageFixture package) : IClassFixture<StandInPackageFixture>
{
    /// <summary>systemd-analyze security checks every unit passes.</summary>
    private static readonly string[] Everywhere =
    [
        "ProtectSystem=", "ProtectKernelModules=", "ProtectKernelLogs=", "ProtectClock=", "ProtectHostname=", "LockPersonality=",
        "RestrictRealtime=", "SystemCallArchitectures=", "UMask=", "CapabilityBoundingSet=~CAP_SYS_MODULE", "CapabilityBoundingSet=~CAP_SYS_RAWIO",
        "CapabilityBoundingSet=~CAP_BPF",
    ];

    /// <summary>What the three network services (not the agent, which mounts and starts crun) take besides.</summary>
    private static readonly string[] Services =
    [
        .. Everywhere, "User=/DynamicUser=", "NoNewPrivileges=", "ProtectHome=", "PrivateTmp=", "PrivateDevices=", "ProtectKernelTunables=",
        "ProtectControlGroups=", "ProtectProc=", "RestrictSUIDSGID=", "RestrictNamespaces=~user", "RestrictNamespaces=~mnt",
        "RestrictAddressFamilies=~AF_PACKET", "RestrictAddressFamilies=~AF_NETLINK", "CapabilityBoundingSet=~CAP_SYS_ADMIN",
        "CapabilityBoundingSet=~CAP_SET(UID|GID|PCAP)", "CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)", "SystemCallFilter=~@privileged",
        "SystemCallFilter=~@mount", "SystemCallFilter=~@module", "SystemCallFilter=~@raw-io", "RemoveIPC=",
    ];

    public static TheoryData<string, string[]> Hardening => new()
    {
        { "registrar", [.. Services, "PrivateUsers="] },
        { "verifier", [.. Services, "PrivateUsers="] },
        { "kbs", Services },
        { "agent", Everywhere },
    };

    /// <summary>
    /// The exposure systemd-analyze security may give each unit (today 1.4, 1.4, 1.5 and 7.8): the services stay "OK";
    /// the agent, root with mounts, namespaces and crun, is "EXPOSED" by necessity but may not get worse.
    /// </summary>
    public static TheoryData<string, double> Thresholds => new()
    {
        { "registrar", 2.0 },
        { "verifier", 2.0 },
        { "kbs", 2.0 },
        { "agent", 8.0 },
    };

    public static TheoryData<string> Roles => new(DebPackage.Roles);

    [Fact]
    public async Task Verify_InstalledUnits_PrintNothing()
    {
        var result = await DebPackage.VerifyAsync(package.Root, [.. DebPackage.Roles.Select(r => DebPackage.UnitPath(package.Root, r))]);

        Assert.Equal("", result.StandardError + result.StandardOutput);
        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task Verify_MisspelledDirective_IsReported()
    {
        var broken = BrokenCopy("verifier", "ProtectSystem=strict", "ProtectSytem=strict");

        var result = await DebPackage.VerifyAsync(package.Root, broken);

        Assert.Contains("Unknown key 'ProtectSytem' in section [Service], ignoring.", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_MissingExecutable_Fails()
    {
        var broken = BrokenCopy("registrar", "ExecStart=/usr/bin/trustlaunch ", "ExecStart=/usr/bin/trustlaunch-missing ");

        var result = await DebPackage.VerifyAsync(package.Root, broken);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Command /usr/bin/trustlaunch-missing is not executable: No such file or directory", result.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Hardening))]
    public async Task Security_Unit_HasItsHardening(string role, string[] required)
    {
        Assert.Empty(await UnsetAsync(DebPackage.UnitPath(package.Root, role), required));
    }

    [Fact]
    public async Task Security_UnitWithoutNoNewPrivileges_IsCaught()
    {
        var broken = BrokenCopy("kbs", "NoNewPrivileges=yes\n", "");

        Assert.Equal(["NoNewPrivileges="], await UnsetAsync(broken, Services));
    }

    [Theory]
    [MemberData(nameof(Thresholds))]
    public async Task Security_Unit_ExposureAtMostItsThreshold(string role, double threshold)
    {
        var unit = DebPackage.UnitPath(package.Root, role);
        // --threshold counts on systemd's internal scale, ten times the figure it prints.
        var result = await DebPackage.SecurityAsync(package.Root, unit, $"--threshold={(int)Math.Round(threshold * 10)}");

        var overall = OverallExposure().Match(result.StandardOutput);
        Assert.True(overall.Success, result.StandardOutput + result.StandardError);
        Assert.InRange(double.Parse(overall.Groups[1].Value, CultureInfo.InvariantCulture), 0, threshold);
        Assert.Equal(0, result.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Roles))]
    public void Unit_RunsTheRoleWithItsStateDirectoryOnly(string role)
    {
        var lines = File.ReadAllLines(DebPackage.UnitPath(package.Root, role));

        Assert.Single(lines, l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        Assert.Contains($"ExecStart=/usr/bin/trustlaunch serve {role} --data-dir /var/lib/trustlaunch/{role}", lines);
        Assert.Contains($"StateDirectory=trustlaunch/{role}", lines);
        Assert.Contains("StateDirectoryMode=0700", lines);
        Assert.Contains("ProtectSystem=strict", lines);
        Assert.Contains("Restart=on-failure", lines);
        Assert.Contains("UMask=0077", lines);
    }

    [Theory]
    [InlineData("registrar", "store-password:trustlaunch-registrar-store-password")]
    [InlineData("verifier", "store-password:trustlaunch-verifier-store-password")]
    [InlineData("kbs", "store-password:trustlaunch-kbs-store-password", "hsm-pin:trustlaunch-kbs-hsm-pin", "signing-key:trustlaunch-kbs-signing-key")]
    public void Unit_TakesItsSecretsAsCredentials(string role, params string[] credentials)
    {
        var lines = File.ReadAllLines(DebPackage.UnitPath(package.Root, role));

        Assert.Equal(credentials.Select(c => "LoadCredential=" + c), lines.Where(l => l.StartsWith("LoadCredential", StringComparison.Ordinal)));
        Assert.Contains("User=trustlaunch", lines);
        Assert.Contains("CapabilityBoundingSet=", lines);
    }

    /// <summary>The checks of <paramref name="required"/> systemd-analyze security finds not met in <paramref name="unit"/>.</summary>
    private async Task<string[]> UnsetAsync(string unit, string[] required)
    {
        var result = (await DebPackage.SecurityAsync(package.Root, unit, "--json=short")).EnsureSuccess("systemd-analyze security --json=short");
        using var checks = JsonDocument.Parse(result.StandardOutput);
        var set = checks.RootElement.EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!, c => c.GetProperty("set").ValueKind == JsonValueKind.True);
        return [.. required.Where(name => !set.GetValueOrDefault(name))];
    }

    /// <summary>A copy of ROLE's installed unit, as trustlaunch-broken-ROLE.service beside it, with one text replaced.</summary>
    private string BrokenCopy(string role, string text, string replacement)
    {
        var original = File.ReadAllText(DebPackage.UnitPath(package.Root, role));
        Assert.Contains(text, original, StringComparison.Ordinal);
        var path = DebPackage.UnitPath(package.Root, "broken-" + role);
        File.WriteAllText(path, original.Replace(text, replacement, StringComparison.Ordinal));
        return path;
    }

    [GeneratedRegex(@"Overall exposure level for \S+: (\d+\.\d+) ")]
    private static partial Regex OverallExposure();
}
