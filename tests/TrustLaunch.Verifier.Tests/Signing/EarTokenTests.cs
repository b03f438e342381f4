using System.Text.Json;
using TrustLaunch.Jose;
using TrustLaunch.Oci.Signing;
using TrustLaunch.Verifier.Signing;

namespace TrustLaunch.Verifier.Tests.Signing;

public sealed class EarTokenTests : IDisposable
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("trustlaunch-verifier-key-").FullName;

    [Fact]
    public void Create_Failure_SignedContraindicatedWithReasonAndPolicy()
    {
        using var key = VerifierSigningKey.LoadOrCreate(_dataDirectory);
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

        var token = EarToken.Create(key.Signer, "trustlaunch-verifier", "node-1", "prod:v2", "event 4 (ContainerCreated): image x is not allowed", true, 4, now);

        var parts = Jws.Parse(token);
        using var verifier = PemPayloadVerifier.FromPem(key.PublicKeyPem);
        Assert.True(verifier.Verify(parts.Algorithm, parts.SigningInput, parts.Signature));
        Assert.Equal((JwsAlgorithms.ES256, key.KeyId, "JWT"), (parts.Algorithm, parts.KeyId, parts.Type));
        using var claims = JsonDocument.Parse(parts.Payload);
        var root = claims.RootElement;
        Assert.Equal(EarToken.Profile, root.GetProperty("eat_profile").GetString());
        Assert.Equal(1_800_000_300, root.GetProperty("exp").GetInt64());
        var submod = root.GetProperty("submods").GetProperty("node-1");
        Assert.Equal("contraindicated", submod.GetProperty("ear.status").GetString());
        Assert.Equal("prod:v2", submod.GetProperty("ear.appraisal-policy-id").GetString());
        Assert.Equal(33, submod.GetProperty("ear.trustworthiness-vector").GetProperty("executables").GetInt32());
        Assert.Equal(4, submod.GetProperty("trustlaunch.event-index").GetInt64());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void LoadOrCreate_SecondTime_SameKeyOwnerOnlyFile()
    {
        using var first = VerifierSigningKey.LoadOrCreate(_dataDirectory);
        using var second = VerifierSigningKey.LoadOrCreate(_dataDirectory);

        Assert.Equal(first.KeyId, second.KeyId);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dataDirectory, VerifierSigningKey.FileName)));
    }

    public void Dispose() => Directory.Delete(_dataDirectory, recursive: true);
}
