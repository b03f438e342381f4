using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using TrustLaunch.Agent.Tpm;
using TrustLaunch.Testing;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.Agent.Tests.Tpm;

/// <summary>The agent's keys on a real swtpm provisioned by swtpm_setup (persistent RSA EK, EK certificate in NV).</summary>
public sealed class AgentTpmTests(SwtpmFixture swtpm) : IClassFixture<SwtpmFixture>, IDisposable
{
    private const uint AkHandle = 0x8101_0010;
    private readonly string _data = Directory.CreateTempSubdirectory("trustlaunch-agent-tpm-").FullName;

    [Fact]
    public async Task OpenAsync_ProvisionedTpm_UsesPersistentEkAndItsCertificate()
    {
        using var tpm = await OpenAsync();

        Assert.Equal(AgentTpm.PersistentRsaEkHandle, tpm.Keys.PersistentEkHandle);
        Assert.NotNull(tpm.Keys.EkCertificate);
        // The persistent EK is the TCG default EK: the one the AK's parent (CreateAkAsync) recreates.
        var recreated = await tpm.Device.CreateEkAsync(TpmAlgId.Rsa);
        await tpm.Device.FlushContextAsync(recreated.Handle);
        Assert.Equal(recreated.Public.ToTpm2bPublic(), tpm.Keys.EkPublic.ToTpm2bPublic());
        using var cert = X509CertificateLoader.LoadCertificate(tpm.Keys.EkCertificate);
        Assert.Equal(((RSA)tpm.Keys.EkPublic.ToAsymmetricAlgorithm()).ExportRSAPublicKey(), cert.GetRSAPublicKey()!.ExportRSAPublicKey());
    }

    [Fact]
    public async Task OpenAsync_Reopened_ReusesPersistedAk()
    {
        byte[] first;
        using (var tpm = await OpenAsync())
            first = tpm.Keys.AkPublic.ToTpm2bPublic();
        using var again = await OpenAsync();

        Assert.Equal(first, again.Keys.AkPublic.ToTpm2bPublic());
        Assert.True(File.Exists(Path.Combine(_data, PersistedAk.FileName)));
    }

    [Fact]
    public async Task OpenAsync_HandleHoldsForeignKey_RefusesWithReason()
    {
        using (await OpenAsync())
        {
        }
        File.Delete(Path.Combine(_data, PersistedAk.FileName));

        var e = await Assert.ThrowsAsync<InvalidOperationException>(OpenAsync);

        Assert.Equal("TPM handle 0x81010010 holds a key this agent did not create: evict it (trustlaunch tpm ak evict) or configure another AK handle", e.Message);
    }

    [Fact]
    public async Task ActivateCredentialAsync_ChallengeForOurAk_RecoversCredential()
    {
        using var tpm = await OpenAsync();
        var credential = RandomNumberGenerator.GetBytes(32);
        var made = CredentialMaker.Make(tpm.Keys.EkPublic, tpm.Keys.AkName, credential);

        var activated = await tpm.ActivateCredentialAsync(made.CredentialBlob, made.EncryptedSecret, CancellationToken.None);

        Assert.Equal(credential, activated);
    }

    private Task<AgentTpm> OpenAsync() =>
        AgentTpm.OpenAsync(swtpm.OpenDevice(), _data, AkHandle, NullLogger.Instance, CancellationToken.None);

    public void Dispose()
    {
        using var device = swtpm.OpenDevice();
        if (device.GetHandlesAsync(TpmHandles.PersistentFirst).GetAwaiter().GetResult().Contains(AkHandle))
            device.EvictAsync(AkHandle).GetAwaiter().GetResult();
        Directory.Delete(_data, recursive: true);
    }
}
