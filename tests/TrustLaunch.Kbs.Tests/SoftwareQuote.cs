using System.Security.Cryptography;
using TrustLaunch.Kbs.Protocol;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Kbs.Tests;

/// <summary>A TPM quote made in software (as the load simulator's AKs make them): an ECC P-256 AK, qualifying data
/// of the caller's choice, all 24 SHA-256 PCRs selected.</summary>
internal sealed class SoftwareQuote : IDisposable
{
    private readonly ECDsa _ak = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public SoftwareQuote()
    {
        var q = _ak.ExportParameters(false).Q;
        AkPublic = (TpmTemplates.AkEccP256() with { Ecc = new TpmEccKey(TpmEccCurve.NistP256, TpmScheme.None, q.X!, q.Y!) }).ToTpm2bPublic();
    }

    /// <summary>TPM2B_PUBLIC of the AK.</summary>
    public byte[] AkPublic { get; }

    public List<string> Pcrs { get; } = Enumerable.Range(0, 24).Select(_ => Convert.ToHexString(RandomNumberGenerator.GetBytes(32))).ToList();

    public TpmQuoteEvidence Quote(byte[] qualifyingData)
    {
        var selection = PcrSelection.ParseList("sha256:" + string.Join(',', Enumerable.Range(0, 24)));
        var values = Pcrs.SelectMany(Convert.FromHexString).ToArray();
        var w = new TpmWriter()
            .WriteUInt32(TpmAttest.Magic).WriteUInt16((ushort)TpmSt.AttestQuote)
            .WriteSized(RandomNumberGenerator.GetBytes(34)).WriteSized(qualifyingData)
            .WriteUInt64(123_456).WriteUInt32(3).WriteUInt32(0).WriteByte(1)
            .WriteUInt64(0x2019_1023_0016_3636);
        PcrSelection.WriteList(w, selection);
        w.WriteSized(SHA256.HashData(values));
        var attest = w.ToArray();
        var rs = _ak.SignData(attest, HashAlgorithmName.SHA256);
        var signature = TpmSignature.Ecdsa(TpmAlgId.Sha256, rs[..32], rs[32..]).ToBytes();
        return new TpmQuoteEvidence(Convert.ToBase64String(attest), Convert.ToBase64String(signature), [.. Pcrs]);
    }

    public void Dispose() => _ak.Dispose();
}
