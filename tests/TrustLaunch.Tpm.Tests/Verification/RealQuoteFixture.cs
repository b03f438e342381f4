using System.Security.Cryptography;
using TrustLaunch.Testing;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Tests.Verification;

/// <summary>
/// Quotes made once by a private swtpm through <see cref="TpmDevice"/>: one by an ECC AK, one by an RSA AK, a
/// TPM2_Certify by the ECC AK, and the public key of a further AK that signed nothing here.
/// </summary>
public sealed class RealQuoteFixture : IAsyncLifetime
{
    private readonly SwtpmFixture _tpm = new();

    public static IReadOnlyList<PcrSelection> Selection { get; } = PcrSelection.ParseList("sha256:0,1,15");

    public QuoteSample Ecc { get; private set; } = null!;
    public QuoteSample Rsa { get; private set; } = null!;
    public QuoteSample Certify { get; private set; } = null!;
    public AsymmetricAlgorithm OtherEccKey { get; private set; } = null!;

    public QuoteSample Get(string type) => type == "ecc" ? Ecc : Rsa;

    public async Task InitializeAsync()
    {
        await _tpm.InitializeAsync();
        using var device = _tpm.OpenDevice();
        await device.ExtendPcrAsync(15, [(TpmAlgId.Sha256, SHA256.HashData("trustlaunch"u8))]);
        Ecc = await QuoteAsync(device, TpmAlgId.Ecc, certify: true);
        Rsa = await QuoteAsync(device, TpmAlgId.Rsa, certify: false);
        var other = await device.CreateAkAsync(TpmAlgId.Ecc);
        OtherEccKey = other.Public.ToAsymmetricAlgorithm();
        await device.FlushContextAsync(other.Handle);
    }

    private async Task<QuoteSample> QuoteAsync(TpmDevice device, TpmAlgId type, bool certify)
    {
        var ak = await device.CreateAkAsync(type);
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(32);
            var quote = await device.QuoteAsync(ak.Handle, nonce, Selection);
            var values = await device.ReadPcrsAsync(Selection);
            var key = ak.Public.ToAsymmetricAlgorithm();
            if (certify)
            {
                var certified = await device.CertifyAsync(ak.Handle, ak.Handle, nonce);
                Certify = new QuoteSample(key, certified.Attest, certified.Signature.ToBytes(), [], nonce);
            }
            return new QuoteSample(key, quote.Attest, quote.Signature.ToBytes(), values.Concatenate(), nonce);
        }
        finally
        {
            await device.FlushContextAsync(ak.Handle);
        }
    }

    public async Task DisposeAsync()
    {
        Ecc?.Key.Dispose();
        Rsa?.Key.Dispose();
        OtherEccKey?.Dispose();
        await _tpm.DisposeAsync();
    }
}
