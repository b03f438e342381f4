using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests;

/// <summary>The Native AOT <c>trustlaunch</c> executable (what scripts/publish-cli installs), published once per test run.</summary>
public static class PublishedCli
{
    private static readonly SemaphoreSlim PublishLock = new(1, 1);
    private static string? _published;

    public static async Task<string> PathAsync()
    {
        await PublishLock.WaitAsync();
        try
        {
            if (_published is not null)
                return _published;
            var root = RepositoryRoot.Path;
            var output = Directory.CreateTempSubdirectory("trustlaunch-aot-").FullName;
            (await ProcessRunner.RunAsync("dotnet",
                ["publish", System.IO.Path.Combine(root, "src", "TrustLaunch.Cli"), "-c", "Release", "-r", "linux-x64", "-o", output, "--nologo", "-v", "quiet"],
                timeout: TimeSpan.FromMinutes(8))).EnsureSuccess("dotnet publish (Native AOT)");
            return _published = System.IO.Path.Combine(output, "trustlaunch");
        }
        finally
        {
            PublishLock.Release();
        }
    }
}
