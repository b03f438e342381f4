using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Kbs.Secrets;

namespace TrustLaunch.Cli.Tests.Commands;

/// <summary><c>trustlaunch secret seal</c>: what it prints opens with <see cref="SealedSecret.Open"/> under the
/// signer's kid, and an envelope unseals with the KEK it was given.</summary>
public sealed class SecretSealTests : IDisposable
{
    private readonly ScratchDirectory _dir = new();
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public SecretSealTests()
    {
        File.WriteAllText(_dir["signer.key"], _key.ExportPkcs8PrivateKeyPem());
        Directory.CreateDirectory(_dir["trust"]);
        File.WriteAllText(Path.Combine(_dir["trust"], "team-a.pem"), _key.ExportSubjectPublicKeyInfoPem());
    }

    public void Dispose()
    {
        _key.Dispose();
        _dir.Dispose();
    }

    private SealedSecret Open(CliResult result)
    {
        Assert.Equal((0, ""), (result.ExitCode, result.Stderr));
        using var signers = SealedSecretSigners.Load(_dir["trust"]);
        return SealedSecret.Open(result.Stdout.TrimEnd('\n'), signers);
    }

    [Fact]
    public async Task SealEnvelope_RoundTripsThroughTheParserAndUnsealsWithTheKek()
    {
        var kek = RandomNumberGenerator.GetBytes(32);
        File.WriteAllBytes(_dir["kek"], kek);
        File.WriteAllText(_dir["value"], "s3cr3t value");

        var secret = Open(await CliHarness.RunAsync("secret", "seal", "envelope", "--kek-file", _dir["kek"], "--key-id", "kbs:///default/kek/app",
            "--file", _dir["value"], "--key", _dir["signer.key"], "--kid", "team-a"));

        Assert.Equal(("team-a", "kbs:///default/kek/app"), (secret.Kid, secret.ResourceUri));
        var value = await secret.UnsealAsync((uri, _) => Task.FromResult(kek.ToArray()), CancellationToken.None);
        Assert.Equal("s3cr3t value", Encoding.UTF8.GetString(value));
    }

    [Fact]
    public async Task SealVault_RoundTripsThroughTheParser()
    {
        var secret = Open(await CliHarness.RunAsync("secret", "seal", "vault", "--resource", "kbs:///default/secret/db", "--key", _dir["signer.key"], "--kid", "team-a"));

        Assert.Equal(new VaultSecret("kbs:///default/secret/db"), secret.Payload);
    }

    [Fact]
    public async Task Seal_NoKid_UsesTheKeyThumbprint()
    {
        var result = await CliHarness.RunAsync("secret", "seal", "vault", "--resource", "kbs:///default/secret/db", "--key", _dir["signer.key"]);

        Assert.Equal(0, result.ExitCode);
        var thumbprint = TrustLaunch.Jose.Jwk.ThumbprintOf(_key);
        Assert.Equal(thumbprint, TrustLaunch.Jose.Jws.Parse(result.Stdout.Trim()[SealedSecret.Prefix.Length..]).KeyId);
    }

    [Fact]
    public async Task SealEnvelope_KekNot32Bytes_ExitsTwo()
    {
        File.WriteAllBytes(_dir["kek"], new byte[16]);
        File.WriteAllText(_dir["value"], "v");

        var result = await CliHarness.RunAsync("secret", "seal", "envelope", "--kek-file", _dir["kek"], "--key-id", "kbs:///default/kek/app",
            "--file", _dir["value"], "--key", _dir["signer.key"]);

        Assert.Equal((2, $"error: --kek-file {_dir["kek"]} holds 16 bytes; a KEK is 32\n", ""), (result.ExitCode, result.Stderr, result.Stdout));
    }

    [Fact]
    public async Task SealVault_NotAResourceUri_ExitsTwo()
    {
        var result = await CliHarness.RunAsync("secret", "seal", "vault", "--resource", "https://kbs/x/y/z", "--key", _dir["signer.key"]);

        Assert.Equal((2, "error: --resource resource URI 'https://kbs/x/y/z' does not start with kbs://\n"), (result.ExitCode, result.Stderr));
    }

    [Fact]
    public async Task Seal_RsaKey_ExitsTwo()
    {
        using var rsa = RSA.Create(2048);
        File.WriteAllText(_dir["rsa.key"], rsa.ExportPkcs8PrivateKeyPem());

        var result = await CliHarness.RunAsync("secret", "seal", "vault", "--resource", "kbs:///a/b/c", "--key", _dir["rsa.key"]);

        Assert.Equal((2, "error: sealed secrets are signed ES256; this key signs RS256\n"), (result.ExitCode, result.Stderr));
    }
}
