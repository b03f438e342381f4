using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// The example settings files the package installs (<c>deploy/etc/ROLE.yaml</c>) are read by <c>serve ROLE</c> as they
/// ship: <c>config show</c> resolves each without a refusal, and its data directory is the unit's StateDirectory.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExampleConfigTests : IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("registrar")]
    [InlineData("verifier")]
    [InlineData("kbs")]
    [InlineData("agent")]
    public async Task ConfigShow_ShippedExample_ResolvesWithItsStateDirectory(string role)
    {
        // Copied with the mode dpkg gives a conffile: a settings file others can write is refused.
        var file = _scratch[role + ".yaml"];
        File.Copy(System.IO.Path.Combine(RepositoryRoot.Path, "deploy", "etc", role + ".yaml"), file);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var result = await CliHarness.RunAsync("config", "show", role, "--config", file);

        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        Assert.Contains(result.Stdout.Split('\n'), line => line.StartsWith($"data-dir: \"/var/lib/trustlaunch/{role}\"  # file {file}:", StringComparison.Ordinal));
    }
}
