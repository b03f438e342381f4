using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// deploy/build-deb and what checks its output: a scratch root dpkg installs into (<c>dpkg --root</c>, the maintainer
/// scripts run chrootless with <c>$DPKG_ROOT</c>, so the host's users and units are never touched), holding the host's
/// systemd targets so <c>systemd-analyze --root</c> resolves the units' dependencies.
/// </summary>
public static class DebPackage
{
    public static readonly string[] Roles = ["registrar", "verifier", "kbs", "agent"];

    public static string DeployDirectory => Path.Combine(RepositoryRoot.Path, "deploy");

    public static Task<ProcessResult> BuildAsync(string binary, string version, string output) =>
        ProcessRunner.RunAsync(Path.Combine(DeployDirectory, "build-deb"), ["--binary", binary, "--version", version, "--output", output],
            timeout: TimeSpan.FromMinutes(2));

    /// <summary>An empty system for dpkg: its database, root and a softhsm group in /etc, the host's .target units.</summary>
    public static string CreateScratchRoot(string directory)
    {
        var root = Directory.CreateDirectory(directory).FullName;
        foreach (var sub in new[] { "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers", "etc", "usr/lib/systemd/system" })
            Directory.CreateDirectory(Path.Combine(root, sub));
        File.WriteAllText(Path.Combine(root, "var/lib/dpkg/status"), "");
        File.WriteAllText(Path.Combine(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
        File.WriteAllText(Path.Combine(root, "etc/group"), "root:x:0:\nsofthsm:x:995:\n");
        File.WriteAllText(Path.Combine(root, "etc/shadow"), "root:*:19000:0:99999:7:::\n");
        File.WriteAllText(Path.Combine(root, "etc/gshadow"), "root:*::\nsofthsm:!::\n");
        foreach (var target in Directory.GetFiles("/usr/lib/systemd/system", "*.target"))
            File.Copy(target, Path.Combine(root, "usr/lib/systemd/system", Path.GetFileName(target)));
        return root;
    }

    /// <summary>dpkg on the scratch root. The dependencies (libc6, libssl3, passwd) are the host's, not the root's.</summary>
    public static Task<ProcessResult> DpkgAsync(string root, params string[] arguments) =>
        ProcessRunner.RunAsync("dpkg", ["--root", root, "--force-script-chrootless", "--force-depends", .. arguments], timeout: TimeSpan.FromMinutes(2));

    public static string UnitPath(string root, string role) => Path.Combine(root, "lib/systemd/system", $"trustlaunch-{role}.service");

    /// <summary>systemd-analyze verify on units under <paramref name="root"/>; its warnings ("…, ignoring") count as failures.</summary>
    public static Task<ProcessResult> VerifyAsync(string root, params string[] units) =>
        ProcessRunner.RunAsync("systemd-analyze", ["verify", "--man=no", $"--root={root}", .. units], timeout: TimeSpan.FromMinutes(1));

    public static Task<ProcessResult> SecurityAsync(string root, string unit, params string[] options) =>
        ProcessRunner.RunAsync("systemd-analyze", ["security", "--offline=true", $"--root={root}", .. options, unit], timeout: TimeSpan.FromMinutes(1));
}
