using System.Security.Cryptography;
using TrustLaunch.Tpm.Commands;
using TrustLaunch.Tpm.Sessions;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm;

public sealed partial class TpmDevice
{
    private const uint BaseInitialize = 0x100;
    private const uint BaseHandle = 0x08B;

    private static readonly TpmAuthorization[] EmptyAuth = [TpmAuthorization.EmptyPassword];

    /// <summary>TPM2_Startup; a TPM that is already started (TPM_RC_INITIALIZE) is fine.</summary>
    public async Task StartupAsync(TpmSu type = TpmSu.Clear, CancellationToken cancellationToken = default)
    {
        try
        {
            await ExecuteAsync(new StartupCommand(type), null, cancellationToken).ConfigureAwait(false);
        }
        catch (TpmException e) when (e.BaseCode == BaseInitialize)
        {
        }
    }

    public async Task<byte[]> GetRandomAsync(int count, CancellationToken cancellationToken = default)
    {
        var result = new byte[count];
        for (var filled = 0; filled < count;)
        {
            var chunk = await ExecuteAsync(new GetRandomCommand((ushort)Math.Min(count - filled, TpmHash.MaxDigestSize)), null, cancellationToken).ConfigureAwait(false);
            if (chunk.Length == 0)
                throw new TpmTransportException($"TPM at {Description} returned no random bytes");
            chunk.AsSpan(0, Math.Min(chunk.Length, count - filled)).CopyTo(result.AsSpan(filled));
            filled += chunk.Length;
        }
        return result;
    }

    /// <summary>Reads all values of the selection; the TPM answers at most 8 per call, so this loops.</summary>
    public async Task<PcrValues> ReadPcrsAsync(IReadOnlyList<PcrSelection> selection, CancellationToken cancellationToken = default)
    {
        var values = new Dictionary<(TpmAlgId, int), byte[]>();
        var remaining = selection.ToList();
        while (remaining.Count > 0)
        {
            var response = await ExecuteAsync(new PcrReadCommand(remaining), null, cancellationToken).ConfigureAwait(false);
            var i = 0;
            foreach (var s in response.Selection)
                foreach (var pcr in s.Pcrs)
                    values[(s.Bank, pcr)] = response.Values[i++];
            if (i == 0)
                throw new ArgumentException($"the TPM has no PCRs {string.Join('+', remaining)}: is that bank allocated?");
            remaining = remaining
                .Select(s => new PcrSelection(s.Bank, s.Pcrs.Where(p => !values.ContainsKey((s.Bank, p)))))
                .Where(s => s.Pcrs.Count > 0)
                .ToList();
        }
        return new PcrValues(selection, values);
    }

    /// <summary>TPM2_PCR_Extend of one PCR in each bank given, authorized by the PCR's empty password.</summary>
    public Task ExtendPcrAsync(int pcr, IReadOnlyList<(TpmAlgId Bank, byte[] Digest)> digests, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new PcrExtendCommand(pcr, digests), EmptyAuth, cancellationToken);

    public Task<LoadedObject> CreatePrimaryAsync(uint hierarchy, TpmPublic template, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new CreatePrimaryCommand(hierarchy, template), EmptyAuth, cancellationToken);

    /// <summary>The default EK of the TCG EK Credential Profile (RSA 2048 or ECC P-256), created in the endorsement hierarchy.</summary>
    public Task<LoadedObject> CreateEkAsync(TpmAlgId type = TpmAlgId.Rsa, CancellationToken cancellationToken = default) =>
        CreatePrimaryAsync(TpmHandles.Endorsement, type switch
        {
            TpmAlgId.Rsa => TpmTemplates.EkRsa2048(),
            TpmAlgId.Ecc => TpmTemplates.EkEccP256(),
            _ => throw new ArgumentException($"EK type must be RSA or ECC, not {type}"),
        }, cancellationToken);

    /// <summary>The storage root key of the owner hierarchy (TCG provisioning guidance template, ECC P-256).</summary>
    public Task<LoadedObject> CreateSrkAsync(CancellationToken cancellationToken = default) =>
        CreatePrimaryAsync(TpmHandles.Owner, TpmTemplates.SrkEccP256(), cancellationToken);

    public Task<CreatedKey> CreateAsync(uint parent, TpmPublic template, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new CreateCommand(parent, template), EmptyAuth, cancellationToken);

    public Task<LoadedObject> LoadAsync(uint parent, CreatedKey key, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new LoadCommand(parent, key), EmptyAuth, cancellationToken);

    /// <summary>
    /// Creates and loads a restricted signing key (ECC P-256/ECDSA-SHA256 or RSA-2048/RSASSA-SHA256) under the default
    /// EK of <paramref name="ekType"/>, as <c>tpm2_createak</c> does. Being in the endorsement hierarchy matters: a TPM
    /// obfuscates resetCount, restartCount and firmwareVersion in quotes signed by keys of other hierarchies, and the
    /// verifier needs them in clear. The EK is flushed again; the returned handle is transient.
    /// </summary>
    public async Task<LoadedObject> CreateAkAsync(TpmAlgId type = TpmAlgId.Ecc, TpmAlgId ekType = TpmAlgId.Ecc, CancellationToken cancellationToken = default)
    {
        var template = type switch
        {
            TpmAlgId.Ecc => TpmTemplates.AkEccP256(),
            TpmAlgId.Rsa => TpmTemplates.AkRsa2048(),
            _ => throw new ArgumentException($"AK type must be RSA or ECC, not {type}"),
        };
        var ek = await CreateEkAsync(ekType, cancellationToken).ConfigureAwait(false);
        try
        {
            var created = await WithEndorsementPolicyAsync(
                session => ExecuteAsync(new CreateCommand(ek.Handle, template), [session], cancellationToken), cancellationToken).ConfigureAwait(false);
            return await WithEndorsementPolicyAsync(
                session => ExecuteAsync(new LoadCommand(ek.Handle, created), [session], cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await FlushContextAsync(ek.Handle, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Runs one command authorized by a fresh policy session satisfying PolicySecret(TPM_RH_ENDORSEMENT): the
    /// authPolicy of the default EKs. A policy session is good for one command, so each call starts its own.</summary>
    private async Task<T> WithEndorsementPolicyAsync<T>(Func<PolicySession, Task<T>> command, CancellationToken cancellationToken)
    {
        var session = await StartPolicySessionAsync(cancellationToken).ConfigureAwait(false);
        await using (session.ConfigureAwait(false))
        {
            await PolicySecretAsync(TpmHandles.Endorsement, session, cancellationToken).ConfigureAwait(false);
            return await command(session).ConfigureAwait(false);
        }
    }

    public Task<ReadPublicResponse> ReadPublicAsync(uint handle, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new ReadPublicCommand(handle), null, cancellationToken);

    public Task<NvPublic> NvReadPublicAsync(uint index, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new NvReadPublicCommand(index), null, cancellationToken);

    /// <summary>Reads a whole NV index, authorized by the index itself with the empty password, in chunks.</summary>
    public async Task<byte[]> NvReadAsync(uint index, CancellationToken cancellationToken = default)
    {
        const int chunk = 512; // below every TPM's TPM_PT_NV_BUFFER_MAX
        var pub = await NvReadPublicAsync(index, cancellationToken).ConfigureAwait(false);
        var data = new byte[pub.DataSize];
        for (var offset = 0; offset < data.Length; offset += chunk)
        {
            var size = (ushort)Math.Min(chunk, data.Length - offset);
            var part = await ExecuteAsync(new NvReadCommand(index, index, size, (ushort)offset), EmptyAuth, cancellationToken).ConfigureAwait(false);
            part.CopyTo(data, offset);
        }
        return data;
    }

    /// <summary>The EK certificate (DER) from its NV index, or null when the TPM has none there.</summary>
    public async Task<byte[]?> ReadEkCertificateAsync(uint index = TpmHandles.EkCertificateRsa2048, CancellationToken cancellationToken = default)
    {
        try
        {
            return await NvReadAsync(index, cancellationToken).ConfigureAwait(false);
        }
        catch (TpmException e) when (e.BaseCode == BaseHandle)
        {
            return null;
        }
    }

    public Task<SignedAttestation> QuoteAsync(uint akHandle, byte[] nonce, IReadOnlyList<PcrSelection> selection, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new QuoteCommand(akHandle, nonce, selection), EmptyAuth, cancellationToken);

    public Task<SignedAttestation> CertifyAsync(uint objectHandle, uint signHandle, byte[] qualifyingData, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new CertifyCommand(objectHandle, signHandle, qualifyingData),
            [TpmAuthorization.EmptyPassword, TpmAuthorization.EmptyPassword], cancellationToken);

    /// <summary>Starts a policy session; dispose it to flush it.</summary>
    public async Task<PolicySession> StartPolicySessionAsync(CancellationToken cancellationToken = default)
    {
        var started = await ExecuteAsync(new StartAuthSessionCommand(TpmSe.Policy, RandomNumberGenerator.GetBytes(32)), null, cancellationToken).ConfigureAwait(false);
        return new PolicySession(this, started.Handle, started.NonceTpm);
    }

    public Task PolicySecretAsync(uint authHandle, PolicySession session, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new PolicySecretCommand(authHandle, session.Handle), EmptyAuth, cancellationToken);

    /// <summary>
    /// TPM2_ActivateCredential with a default-template EK: the EK is authorized by a policy session satisfying
    /// PolicySecret(TPM_RH_ENDORSEMENT), the AK by its empty password.
    /// </summary>
    public Task<byte[]> ActivateCredentialAsync(uint akHandle, uint ekHandle, byte[] credentialBlob, byte[] encryptedSecret, CancellationToken cancellationToken = default) =>
        WithEndorsementPolicyAsync(session => ExecuteAsync(new ActivateCredentialCommand(akHandle, ekHandle, credentialBlob, encryptedSecret),
            [TpmAuthorization.EmptyPassword, session], cancellationToken), cancellationToken);

    /// <summary>Makes a loaded object persistent at <paramref name="persistentHandle"/> (owner hierarchy).</summary>
    public Task PersistAsync(uint objectHandle, uint persistentHandle, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new EvictControlCommand(TpmHandles.Owner, objectHandle, persistentHandle), EmptyAuth, cancellationToken);

    /// <summary>Removes a persistent object.</summary>
    public Task EvictAsync(uint persistentHandle, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new EvictControlCommand(TpmHandles.Owner, persistentHandle, persistentHandle), EmptyAuth, cancellationToken);

    public Task FlushContextAsync(uint handle, CancellationToken cancellationToken = default) =>
        ExecuteAsync(new FlushContextCommand(handle), null, cancellationToken);

    /// <summary>All handles from <paramref name="first"/> within its range (e.g. persistent objects from 0x81000000).</summary>
    public async Task<IReadOnlyList<uint>> GetHandlesAsync(uint first, CancellationToken cancellationToken = default)
    {
        var result = new List<uint>();
        var next = first;
        while (true)
        {
            var data = await ExecuteAsync(new GetCapabilityCommand(TpmCap.Handles, next, 256), null, cancellationToken).ConfigureAwait(false);
            result.AddRange(data.Handles.Where(h => h >> 24 == first >> 24));
            if (!data.MoreData || data.Handles.Count == 0)
                return result;
            next = data.Handles[^1] + 1;
        }
    }
}
