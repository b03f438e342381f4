using TrustLaunch.Testing;

namespace TrustLaunch.Oci.Tests.Policy;

/// <summary>A key made by gpg in a throwaway GNUPGHOME: its fingerprint and its public and secret keyrings (binary).</summary>
public sealed record GpgKey(string Fingerprint, string PublicPath, string SecretPath);

/// <summary>
/// A registry with an image in an OCI layout (for skopeo to copy and sign), a throwaway GNUPGHOME with an ed25519, an
/// RSA and an unrelated key (no passphrase), and a registries.d naming a file:// lookaside for the registry.
/// </summary>
public sealed class GpgSigningFixture : RegistryFixture
{
    public string GnupgHome { get; } = System.IO.Directory.CreateTempSubdirectory("tl-gpg-").FullName;
    public string Layout => Path.Combine(Directory, "layout");
    public string RegistriesD => Path.Combine(Directory, "registries.d");
    public string Lookaside => Path.Combine(Directory, "lookaside");
    public GpgKey Ed25519 { get; private set; } = null!;
    public GpgKey Rsa { get; private set; } = null!;
    public GpgKey Other { get; private set; } = null!;

    public IReadOnlyDictionary<string, string> GpgEnvironment => new Dictionary<string, string> { ["GNUPGHOME"] = GnupgHome };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await TestImages.BuildAsync(Layout, "v1");
        System.IO.Directory.CreateDirectory(RegistriesD);
        await File.WriteAllTextAsync(Path.Combine(RegistriesD, "test.yaml"), $"docker:\n  {Host}:\n    lookaside: file://{Lookaside}\n");
        Ed25519 = await CreateKeyAsync("ed25519", "ed25519");
        Rsa = await CreateKeyAsync("rsa", "rsa3072");
        Other = await CreateKeyAsync("other", "ed25519");
    }

    private async Task<GpgKey> CreateKeyAsync(string name, string algorithm)
    {
        var uid = $"TrustLaunch {name} <{name}@trustlaunch.test>";
        await GpgAsync("--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", uid, algorithm, "sign", "never");
        var listing = await GpgAsync("--with-colons", "--list-keys", uid);
        var fingerprint = listing.Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        var publicPath = Path.Combine(Directory, $"{name}.pub.gpg");
        var secretPath = Path.Combine(Directory, $"{name}.sec.gpg");
        await GpgAsync("--batch", "--output", publicPath, "--export", fingerprint);
        await GpgAsync("--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--output", secretPath, "--export-secret-keys", fingerprint);
        return new GpgKey(fingerprint, publicPath, secretPath);
    }

    public async Task<string> GpgAsync(params string[] arguments) =>
        (await ProcessRunner.RunAsync("gpg", arguments, GpgEnvironment)).EnsureSuccess("gpg " + arguments[^1]).StandardOutput;

    /// <summary><c>skopeo copy</c> with this GNUPGHOME; returns the result whatever the exit code.</summary>
    public Task<ProcessResult> SkopeoAsync(params string[] arguments) => ProcessRunner.RunAsync("skopeo", arguments, GpgEnvironment, timeout: TimeSpan.FromMinutes(2));

    public override async Task DisposeAsync()
    {
        await ProcessRunner.RunAsync("gpgconf", ["--kill", "gpg-agent"], GpgEnvironment);
        System.IO.Directory.Delete(GnupgHome, recursive: true);
        await base.DisposeAsync();
    }
}
