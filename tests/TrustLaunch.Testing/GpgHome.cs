namespace TrustLaunch.Testing;

/// <summary>A key made by gpg: its fingerprint and its public and secret keyrings (binary, no passphrase).</summary>
public sealed record GpgKey(string Fingerprint, string PublicPath, string SecretPath);

/// <summary>
/// A throwaway GNUPGHOME (Debian's gnupg) for one test class: keys made with <c>gpg --quick-gen-key</c> and exported;
/// tools run with it as their GNUPGHOME. Disposing stops the gpg-agent gpg started for it and deletes it.
/// </summary>
public sealed class GpgHome : IAsyncDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("tl-gpg-").FullName;

    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["GNUPGHOME"] = Path };

    /// <summary>A signing key without passphrase (<paramref name="algorithm"/>: ed25519, rsa3072 …), exported into <paramref name="directory"/>.</summary>
    public async Task<GpgKey> CreateKeyAsync(string name, string algorithm, string directory)
    {
        var uid = $"TrustLaunch {name} <{name}@trustlaunch.test>";
        await GpgAsync("--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", uid, algorithm, "sign", "never");
        var listing = await GpgAsync("--with-colons", "--list-keys", uid);
        var fingerprint = listing.Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        var publicPath = System.IO.Path.Combine(directory, $"{name}.pub.gpg");
        var secretPath = System.IO.Path.Combine(directory, $"{name}.sec.gpg");
        await GpgAsync("--batch", "--output", publicPath, "--export", fingerprint);
        await GpgAsync("--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--output", secretPath, "--export-secret-keys", fingerprint);
        return new GpgKey(fingerprint, publicPath, secretPath);
    }

    public async Task<string> GpgAsync(params string[] arguments) =>
        (await ProcessRunner.RunAsync("gpg", arguments, Environment)).EnsureSuccess("gpg " + arguments[^1]).StandardOutput;

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("gpgconf", ["--kill", "gpg-agent"], Environment);
        Directory.Delete(Path, recursive: true);
    }
}
