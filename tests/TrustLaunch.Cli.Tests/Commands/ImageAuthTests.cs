using TrustLaunch.Testing;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary>A busybox image in a registry that wants credentials.</summary>
public sealed class BasicAuthImageFixture : IAsyncLifetime
{
    public BasicAuthRegistryFixture Registry { get; } = new();
    public PushedImage Image { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Registry.InitializeAsync();
        Image = await TestImages.BuildAndPushAsync(Registry, "private/busybox", "v1");
    }

    public Task DisposeAsync() => Registry.DisposeAsync();
}

/// <summary><c>image pull</c> with <c>--username</c> / <c>--password-stdin</c> against htpasswd basic auth.</summary>
public sealed class ImageAuthTests(BasicAuthImageFixture fixture) : IClassFixture<BasicAuthImageFixture>, IDisposable
{
    private readonly ScratchDirectory _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Fact]
    public async Task Pull_PasswordOnStdin_PullsAndNeverPrintsIt()
    {
        var result = await CliHarness.RunWithInputAsync(RegistryFixture.Password + "\n",
            "image", "pull", fixture.Image.Reference, "--username", RegistryFixture.Username, "--password-stdin", "--data-dir", _scratch["data"]);

        result.EnsureSuccess();
        Assert.EndsWith($"pulled {fixture.Image.Reference} {fixture.Image.ManifestDigest}\n", result.Stdout);
        Assert.DoesNotContain(RegistryFixture.Password, result.Stdout + result.Stderr);
    }

    [Fact]
    public async Task Pull_WrongPassword_ExitOneWithoutPassword()
    {
        var result = await CliHarness.RunWithInputAsync("not the password\n",
            "image", "pull", fixture.Image.Reference, "--username", RegistryFixture.Username, "--password-stdin", "--data-dir", _scratch["data"]);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: manifest {fixture.Image.Reference}: 401 Unauthorized", result.Stderr);
        Assert.DoesNotContain("not the password", result.Stderr);
    }

    [Fact]
    public async Task Pull_NoCredentials_ExitOne()
    {
        var result = await CliHarness.RunAsync("image", "pull", fixture.Image.Reference, "--data-dir", _scratch["data"]);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: manifest {fixture.Image.Reference}: 401 Unauthorized", result.Stderr);
    }

    [Fact]
    public async Task Pull_PasswordStdinWithoutUser_ExitTwo()
    {
        var result = await CliHarness.RunWithInputAsync("x\n", "image", "pull", fixture.Image.Reference, "--password-stdin", "--data-dir", _scratch["data"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("error: --password-stdin needs --username (or $TRUSTLAUNCH_REGISTRY_USER)\n", result.Stderr);
    }
}
