namespace TrustLaunch.Cli.Tests.Deploy;

/// <summary>
/// trustlaunch_1.2.3_ARCH.deb built by deploy/build-deb from a stand-in executable (a shell script: the package's
/// layout and scripts do not depend on the binary, and publishing the native one takes minutes), installed once into
/// a scratch root.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class StandInPackageFixture : IAsyncLifetime
{
    public const string Version = "1.2.3";

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("trustlaunch-deb-").FullName;
    public string Deb { get; private set; } = "";
    public string Root { get; private set; } = "";
    public string InstallOutput { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var binary = Path.Combine(Directory, "stand-in");
        await File.WriteAllTextAsync(binary, "#!/bin/sh\necho stand-in \"$@\"\n");
        File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Deb = (await DebPackage.BuildAsync(binary, Version, Path.Combine(Directory, "out"))).EnsureSuccess("deploy/build-deb").StandardOutput.Trim();
        Root = DebPackage.CreateScratchRoot(Path.Combine(Directory, "root"));
        var install = (await DebPackage.DpkgAsync(Root, "--install", Deb)).EnsureSuccess("dpkg --install");
        InstallOutput = install.StandardOutput + install.StandardError;
    }

    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }
}
