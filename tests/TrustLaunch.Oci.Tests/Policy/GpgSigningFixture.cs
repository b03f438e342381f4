using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Policy;

/// <summary>
/// A registry with an image in an OCI layout (for skopeo to copy and sign), a throwaway GNUPGHOME with an ed25519, an
/// RSA and an unrelated key (no passphrase), and a registries.d naming a file:// lookaside for the registry.
/// </summary>
public sealed class GpgSigningFixture : RegistryFixture
{
    private readonly GpgHome _gpg = new();

    public string Layout => Path.Combine(Directory, "layout");
    public string RegistriesD => Path.Combine(Directory, "registries.d");
    public string Lookaside => Path.Combine(Directory, "lookaside");
    public GpgKey Ed25519 { get; private set; } = null!;
    public GpgKey Rsa { get; private set; } = null!;
    public GpgKey Other { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await TestImages.BuildAsync(Layout, "v1");
        System.IO.Directory.CreateDirectory(RegistriesD);
        await File.WriteAllTextAsync(Path.Combine(RegistriesD, "test.yaml"), $"docker:\n  {Host}:\n    lookaside: file://{Lookaside}\n");
        Ed25519 = await _gpg.CreateKeyAsync("ed25519", "ed25519", Directory);
        Rsa = await _gpg.CreateKeyAsync("rsa", "rsa3072", Directory);
        Other = await _gpg.CreateKeyAsync("other", "ed25519", Directory);
    }

    public Task<string> GpgAsync(params string[] arguments) => _gpg.GpgAsync(arguments);

    /// <summary><c>skopeo copy</c> with this GNUPGHOME; returns the result whatever the exit code.</summary>
    public Task<ProcessResult> SkopeoAsync(params string[] arguments) => ProcessRunner.RunAsync("skopeo", arguments, _gpg.Environment, timeout: TimeSpan.FromMinutes(2));

    public override async Task DisposeAsync()
    {
        await _gpg.DisposeAsync();
        await base.DisposeAsync();
    }
}
