using System.Diagnostics;
using System.Security.Cryptography;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// The TPM of one simulated agent, in software: an RSA 2048 EK with the TCG default EK template (L-1) public area, a
/// restricted ECC P-256 signing AK as <c>tpm2_createak</c> makes it, and a monotonic clock in milliseconds. Quotes are
/// TPMS_ATTEST structures signed ECDSA-SHA256 into a TPMT_SIGNATURE, exactly what a hardware TPM returns.
/// </summary>
public sealed class SoftwareTpm : IDisposable
{
    /// <summary>Any fixed value: verifiers do not judge firmware versions.</summary>
    private const ulong FirmwareVersion = 0x2023_0117_0017_0000;

    private readonly RSA _ek;
    private readonly ECDsa _ak;
    private readonly long _poweredOn = Stopwatch.GetTimestamp();
    private readonly ulong _clockAtPowerOn;

    public SoftwareTpm(RSA ek)
    {
        ArgumentNullException.ThrowIfNull(ek);
        _ek = ek;
        _ak = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var modulus = ek.ExportParameters(false).Modulus!;
        EkPublic = TpmTemplates.EkRsa2048() with { Rsa = new TpmRsaKey(2048, 0, modulus) };
        var q = _ak.ExportParameters(false).Q;
        AkPublic = TpmTemplates.AkEccP256() with { Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, q.X!, q.Y!) };
        AkName = AkPublic.ComputeName();
        // A TPM's clock survives power cycles; start somewhere plausible rather than at zero.
        _clockAtPowerOn = (ulong)RandomNumberGenerator.GetInt32(1_000_000, 1_000_000_000);
    }

    public RSA Ek => _ek;
    public TpmPublic EkPublic { get; }
    public TpmPublic AkPublic { get; }
    public byte[] AkName { get; }
    public uint ResetCount { get; } = 1;
    public uint RestartCount { get; }

    public ulong Clock => _clockAtPowerOn + (ulong)Stopwatch.GetElapsedTime(_poweredOn).TotalMilliseconds;

    /// <summary>TPM2_Quote: signs a TPMS_ATTEST over <paramref name="selection"/> with the digest of its values.</summary>
    public (byte[] Attest, byte[] Signature) Quote(byte[] nonce, PcrSelection selection, ReadOnlySpan<byte> concatenatedValues)
    {
        var clock = new TpmClockInfo(Clock, ResetCount, RestartCount, Safe: true);
        var attest = TpmAttest.Quote(AkName, nonce, clock, FirmwareVersion, [selection], SHA256.HashData(concatenatedValues)).Raw;
        var rs = _ak.SignHash(SHA256.HashData(attest), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var half = rs.Length / 2;
        return (attest, TpmSignature.Ecdsa(TpmAlgId.Sha256, rs[..half], rs[half..]).ToBytes());
    }

    /// <summary>TPM2_ActivateCredential of a registrar challenge with this EK, for this AK.</summary>
    public byte[] ActivateCredential(byte[] credentialBlob, byte[] encryptedSecret) =>
        SoftwareCredentialActivation.Activate(_ek, EkPublic, AkName, credentialBlob, encryptedSecret);

    public void Dispose()
    {
        _ek.Dispose();
        _ak.Dispose();
    }
}
