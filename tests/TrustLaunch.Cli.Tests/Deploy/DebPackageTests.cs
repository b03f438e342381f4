using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>deploy/build-deb's package: its metadata and files, and what installing, removing and purging it do.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DebPackageTests(StandInPackageFixture package) : IClassFixture<StandInPackageFixture>
{
    private static readonly string[] Conffiles = [.. DebPackage.Roles.Select(r => $"/etc/trustlaunch/{r}.yaml")];

    [Fact]
    public async Task BuildDeb_Info_NamesPackageVersionScriptsAndConffiles()
    {
        var arch = (await ProcessRunner.RunAsync("dpkg", ["--print-architecture"])).EnsureSuccess("dpkg --print-architecture").StandardOutput.Trim();
        var info = (await ProcessRunner.RunAsync("dpkg-deb", ["--info", package.Deb])).EnsureSuccess("dpkg-deb --info").StandardOutput;
        var conffiles = (await ProcessRunner.RunAsync("dpkg-deb", ["--info", package.Deb, "conffiles"])).EnsureSuccess("dpkg-deb --info conffiles").StandardOutput;

        Assert.Equal($"trustlaunch_{StandInPackageFixture.Version}_{arch}.deb", Path.GetFileName(package.Deb));
        Assert.Contains(" Package: trustlaunch\n", info, StringComparison.Ordinal);
        Assert.Contains($" Version: {StandInPackageFixture.Version}\n", info, StringComparison.Ordinal);
        Assert.Contains($" Architecture: {arch}\n", info, StringComparison.Ordinal);
        foreach (var script in new[] { "postinst", "prerm", "postrm" })
            Assert.Matches($@"\d+ bytes,\s+\d+ lines\s+\*\s+{script}\s", info);
        Assert.Equal(Conffiles, conffiles.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task BuildDeb_Contents_BinaryUnitsAndExamplesOwnedByRoot()
    {
        var contents = (await ProcessRunner.RunAsync("dpkg-deb", ["--contents", package.Deb])).EnsureSuccess("dpkg-deb --contents").StandardOutput;
        var entries = contents.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(f => f[^1], f => (Mode: f[0], Owner: f[1]));

        Assert.Equal(("-rwxr-xr-x", "root/root"), entries["./usr/bin/trustlaunch"]);
        Assert.Equal(("drwxr-xr-x", "root/root"), entries["./"]);
        foreach (var role in DebPackage.Roles)
        {
            Assert.Equal(("-rw-r--r--", "root/root"), entries[$"./lib/systemd/system/trustlaunch-{role}.service"]);
            Assert.Equal(("-rw-r--r--", "root/root"), entries[$"./etc/trustlaunch/{role}.yaml"]);
        }
        Assert.All(entries.Values, e => Assert.Equal("root/root", e.Owner));
    }

    [Fact]
    public async Task DryRunInstall_OnThisHost_Succeeds()
    {
        var result = await ProcessRunner.RunAsync("dpkg", ["--dry-run", "--install", package.Deb], timeout: TimeSpan.FromMinutes(1));

        Assert.True(result.ExitCode == 0, result.StandardError + result.StandardOutput);
    }

    [Fact]
    public async Task Install_ScratchRoot_CreatesSystemUserAndPrivateDirectories()
    {
        var passwd = File.ReadAllLines(Path.Combine(package.Root, "etc/passwd")).Single(l => l.StartsWith("trustlaunch:", StringComparison.Ordinal)).Split(':');
        var group = File.ReadAllLines(Path.Combine(package.Root, "etc/group")).Single(l => l.StartsWith("trustlaunch:", StringComparison.Ordinal)).Split(':');
        var softhsm = File.ReadAllLines(Path.Combine(package.Root, "etc/group")).Single(l => l.StartsWith("softhsm:", StringComparison.Ordinal));
        var tls = Path.Combine(package.Root, "etc/trustlaunch/tls");

        Assert.InRange(int.Parse(passwd[2], System.Globalization.CultureInfo.InvariantCulture), 1, 999);
        Assert.Equal(group[2], passwd[3]);
        Assert.Equal(["/nonexistent", "/usr/sbin/nologin"], passwd[5..]);
        Assert.EndsWith(":trustlaunch", softhsm, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute,
            File.GetUnixFileMode(tls));
        Assert.Equal(group[2], (await ProcessRunner.RunAsync("stat", ["--format", "%g", tls])).EnsureSuccess("stat").StandardOutput.Trim());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(package.Root, "etc/credstore")));
        var installed = await ProcessRunner.RunAsync(Path.Combine(package.Root, "usr/bin/trustlaunch"), ["serve", "verifier", "--help"]);
        Assert.Equal("stand-in serve verifier --help\n", installed.StandardOutput);
        Assert.DoesNotContain(File.ReadAllLines("/etc/passwd"), l => l.StartsWith("trustlaunch:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RemoveThenPurge_KeepsThenDropsConffiles()
    {
        var root = DebPackage.CreateScratchRoot(Path.Combine(package.Directory, "remove-root"));
        (await DebPackage.DpkgAsync(root, "--install", package.Deb)).EnsureSuccess("dpkg --install");
        var example = Path.Combine(root, "etc/trustlaunch/verifier.yaml");
        await File.AppendAllTextAsync(example, "# edited by the operator\n");

        (await DebPackage.DpkgAsync(root, "--remove", "trustlaunch")).EnsureSuccess("dpkg --remove");
        Assert.False(File.Exists(Path.Combine(root, "usr/bin/trustlaunch")));
        Assert.False(File.Exists(DebPackage.UnitPath(root, "agent")));
        Assert.EndsWith("# edited by the operator\n", await File.ReadAllTextAsync(example), StringComparison.Ordinal);

        (await DebPackage.DpkgAsync(root, "--purge", "trustlaunch")).EnsureSuccess("dpkg --purge");
        Assert.False(File.Exists(example));
    }

    [Fact]
    public async Task BuildDeb_BinaryNotExecutable_Refused()
    {
        var plain = Path.Combine(package.Directory, "not-executable");
        await File.WriteAllTextAsync(plain, "#!/bin/sh\n");
        File.SetUnixFileMode(plain, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var result = await DebPackage.BuildAsync(plain, "1.0", Path.Combine(package.Directory, "refused"));

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"build-deb: {plain} is not an executable file (run scripts/publish-cli, or pass --binary)\n", result.StandardError);
        Assert.False(Directory.Exists(Path.Combine(package.Directory, "refused")));
    }

    [Theory]
    [InlineData("v1.0")]
    [InlineData("1.0-1")]
    [InlineData("1:1.0")]
    [InlineData("1.0 beta")]
    public async Task BuildDeb_NotADebianVersion_Refused(string version)
    {
        var result = await DebPackage.BuildAsync(Path.Combine(package.Root, "usr/bin/trustlaunch"), version, Path.Combine(package.Directory, "refused"));

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"build-deb: version '{version}' is not a Debian version (a digit, then letters, digits, . + ~)\n", result.StandardError);
    }
}
