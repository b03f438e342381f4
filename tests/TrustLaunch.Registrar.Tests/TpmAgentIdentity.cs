using TrustLaunch.Hosting.Contracts;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Commands;

namespace TrustLaunch.Registrar.Tests;

/// <summary>What an agent registers, made on the real TPM: the RSA EK (default template, the one swtpm_setup
/// certified), its EK certificate from NV, and a fresh restricted signing AK under it. Flushes both on dispose.</summary>
public sealed class TpmAgentIdentity : IAsyncDisposable
{
    private TpmAgentIdentity(TpmDevice device, LoadedObject ek, LoadedObject ak, byte[]? ekCertificate)
    {
        Device = device;
        Ek = ek;
        Ak = ak;
        EkCertificate = ekCertificate;
    }

    public TpmDevice Device { get; }
    public LoadedObject Ek { get; }
    public LoadedObject Ak { get; }
    public byte[]? EkCertificate { get; }

    public static async Task<TpmAgentIdentity> CreateAsync(TpmDevice device)
    {
        var ak = await device.CreateAkAsync(TpmAlgId.Ecc, TpmAlgId.Rsa);
        var ek = await device.CreateEkAsync(TpmAlgId.Rsa);
        return new TpmAgentIdentity(device, ek, ak, await device.ReadEkCertificateAsync(TpmHandles.EkCertificateRsa2048));
    }

    public AgentRegistration Registration(string tlsCertificate, byte[]? ekCertificate = null, byte[]? akPublic = null) =>
        new(Ek.Public.ToTpm2bPublic(), ekCertificate ?? EkCertificate, akPublic ?? Ak.Public.ToTpm2bPublic(), tlsCertificate, "127.0.0.1:9002");

    /// <summary>TPM2_ActivateCredential of the registrar's challenge: the credential, if this TPM holds the EK and AK.</summary>
    public Task<byte[]> ActivateAsync(CredentialChallenge challenge) =>
        Device.ActivateCredentialAsync(Ak.Handle, Ek.Handle, challenge.CredentialBlob, challenge.EncryptedSecret);

    public async ValueTask DisposeAsync()
    {
        await Device.FlushContextAsync(Ak.Handle);
        await Device.FlushContextAsync(Ek.Handle);
        Device.Dispose();
    }
}
