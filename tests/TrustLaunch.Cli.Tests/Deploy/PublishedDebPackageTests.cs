using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>The package built from the real Native AOT binary (published once per test run, as HsmPublishedBinaryTests uses it).</summary>
[Trait("Category", "Slow")]
public sealed class PublishedDebPackageTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("trustlaunch-deb-aot-").FullName;

    [Fact]
    public async Task BuildDeb_PublishedCli_InstalledBinaryServesEveryRoleAndUnitsVerify()
    {
        var deb = (await DebPackage.BuildAsync(await PublishedCli.PathAsync(), "0.1.0", Path.Combine(_directory, "out")))
            .EnsureSuccess("deploy/build-deb").StandardOutput.Trim();
        var root = DebPackage.CreateScratchRoot(Path.Combine(_directory, "root"));
        (await DebPackage.DpkgAsync(root, "--install", deb)).EnsureSuccess("dpkg --install");

        foreach (var role in DebPackage.Roles)
        {
            var help = (await ProcessRunner.RunAsync(Path.Combine(root, "usr/bin/trustlaunch"), ["serve", role, "--help"])).EnsureSuccess($"serve {role} --help");
            Assert.Contains("--data-dir", help.StandardOutput, StringComparison.Ordinal);
        }
        var verify = await DebPackage.VerifyAsync(root, [.. DebPackage.Roles.Select(r => DebPackage.UnitPath(root, r))]);
        Assert.Equal("", verify.StandardError + verify.StandardOutput);
        Assert.Equal(0, verify.ExitCode);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
