using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Agent.Tpm;

/// <summary>
/// The agent's view of its TPM: finds or creates the EK and the persistent AK once at start and answers the
/// registrar's credential challenge; its <see cref="Device"/> carries the launch log's PCR reads, extends and quotes.
/// </summary>
public sealed class AgentTpm : IDisposable
{
    /// <summary>Where swtpm_setup (and most provisioning tools) persist the RSA EK.</summary>
    public const uint PersistentRsaEkHandle = 0x8101_0001;

    private AgentTpm(TpmDevice device, AgentKeys keys)
    {
        Device = device;
        Keys = keys;
    }

    public TpmDevice Device { get; }
    public AgentKeys Keys { get; }

    /// <summary>Starts the TPM if needed and loads (or creates once) the agent's keys. Takes ownership of the device.</summary>
    public static async Task<AgentTpm> OpenAsync(TpmDevice device, string dataDirectory, uint akHandle, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await device.StartupAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var persistent = await device.GetHandlesAsync(TpmHandles.PersistentFirst, cancellationToken).ConfigureAwait(false);
            var (ekPublic, ekHandle) = await LoadEkAsync(device, persistent, cancellationToken).ConfigureAwait(false);
            var ekCertificate = await device.ReadEkCertificateAsync(TpmHandles.EkCertificateRsa2048, cancellationToken).ConfigureAwait(false);
            var akPublic = await LoadOrCreateAkAsync(device, persistent, dataDirectory, akHandle, logger, cancellationToken).ConfigureAwait(false);
            return new AgentTpm(device, new AgentKeys(ekPublic, ekHandle, ekCertificate, akHandle, akPublic));
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }

    private static async Task<(TpmPublic Public, uint? Handle)> LoadEkAsync(TpmDevice device, IReadOnlyList<uint> persistent, CancellationToken cancellationToken)
    {
        if (persistent.Contains(PersistentRsaEkHandle))
        {
            var read = await device.ReadPublicAsync(PersistentRsaEkHandle, cancellationToken).ConfigureAwait(false);
            if (IsDefaultRsaEk(read.Public))
                return (read.Public, PersistentRsaEkHandle);
        }
        var ek = await device.CreateEkAsync(TpmAlgId.Rsa, cancellationToken).ConfigureAwait(false);
        await device.FlushContextAsync(ek.Handle, CancellationToken.None).ConfigureAwait(false);
        return (ek.Public, null);
    }

    // A persistent object at the EK handle is only used as the EK if it has the default EK's shape and policy.
    private static bool IsDefaultRsaEk(TpmPublic key)
    {
        var template = TpmTemplates.EkRsa2048();
        return key.Type == TpmAlgId.Rsa && key.Attributes == template.Attributes &&
            key.AuthPolicy.AsSpan().SequenceEqual(template.AuthPolicy);
    }

    private static async Task<TpmPublic> LoadOrCreateAkAsync(
        TpmDevice device, IReadOnlyList<uint> persistent, string dataDirectory, uint akHandle, ILogger logger, CancellationToken cancellationToken)
    {
        var stored = PersistedAk.Load(dataDirectory);
        if (stored is not null && stored.Handle != akHandle)
            throw new InvalidOperationException(
                $"the AK of this data directory is persisted at 0x{stored.Handle:x8}, not the configured 0x{akHandle:x8}");
        if (persistent.Contains(akHandle))
        {
            var current = await device.ReadPublicAsync(akHandle, cancellationToken).ConfigureAwait(false);
            var bytes = current.Public.ToTpm2bPublic();
            if (stored is not null && CryptographicOperations.FixedTimeEquals(bytes, stored.Public))
                return current.Public;
            throw new InvalidOperationException(stored is null
                ? $"TPM handle 0x{akHandle:x8} holds a key this agent did not create: evict it (trustlaunch tpm ak evict) or configure another AK handle"
                : $"TPM handle 0x{akHandle:x8} holds a different key than the AK recorded in {PersistedAk.FileName}");
        }
        if (stored is not null)
            logger.LogWarning("The AK recorded at 0x{AkHandle:x8} is gone from the TPM (cleared?): creating a new one", akHandle);

        var ak = await device.CreateAkAsync(TpmAlgId.Ecc, TpmAlgId.Rsa, cancellationToken).ConfigureAwait(false);
        try
        {
            await device.PersistAsync(ak.Handle, akHandle, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await device.FlushContextAsync(ak.Handle, CancellationToken.None).ConfigureAwait(false);
        }
        new PersistedAk(akHandle, ak.Public.ToTpm2bPublic()).Save(dataDirectory);
        logger.LogInformation("Created a persistent AK at 0x{AkHandle:x8}", akHandle);
        return ak.Public;
    }

    /// <summary>TPM2_ActivateCredential of a registrar challenge with the EK and the AK; returns the credential.</summary>
    public async Task<byte[]> ActivateCredentialAsync(byte[] credentialBlob, byte[] encryptedSecret, CancellationToken cancellationToken)
    {
        if (Keys.PersistentEkHandle is { } persistentEk)
            return await Device.ActivateCredentialAsync(Keys.AkHandle, persistentEk, credentialBlob, encryptedSecret, cancellationToken).ConfigureAwait(false);
        var ek = await Device.CreateEkAsync(TpmAlgId.Rsa, cancellationToken).ConfigureAwait(false);
        try
        {
            return await Device.ActivateCredentialAsync(Keys.AkHandle, ek.Handle, credentialBlob, encryptedSecret, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await Device.FlushContextAsync(ek.Handle, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public void Dispose() => Device.Dispose();
}
