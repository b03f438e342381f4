using System.Security.Cryptography;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Benchmarks;

/// <summary>A quote as a TPM would sign it, made in software so the benchmark needs no TPM.</summary>
public sealed record QuoteSample(AsymmetricAlgorithm Key, byte[] Attest, byte[] Signature, byte[] PcrValues, byte[] Nonce)
{
    public static QuoteSample Create(TpmAlgId keyType)
    {
        var nonce = RandomNumberGenerator.GetBytes(32);
        var selection = PcrSelection.ParseList("sha256:0,1,2,3,4,5,6,7,10,15");
        var values = selection[0].Pcrs.SelectMany(_ => RandomNumberGenerator.GetBytes(32)).ToArray();
        var w = new TpmWriter()
            .WriteUInt32(TpmAttest.Magic).WriteUInt16((ushort)TpmSt.AttestQuote)
            .WriteSized(RandomNumberGenerator.GetBytes(34)).WriteSized(nonce)
            .WriteUInt64(123_456).WriteUInt32(3).WriteUInt32(0).WriteByte(1)
            .WriteUInt64(0x2019_1023_0016_3636);
        PcrSelection.WriteList(w, selection);
        w.WriteSized(SHA256.HashData(values));
        var attest = w.ToArray();

        AsymmetricAlgorithm key;
        TpmSignature signature;
        if (keyType == TpmAlgId.Ecc)
        {
            var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var rs = ecdsa.SignData(attest, HashAlgorithmName.SHA256);
            signature = TpmSignature.Ecdsa(TpmAlgId.Sha256, rs[..32], rs[32..]);
            key = ecdsa;
        }
        else
        {
            var rsa = RSA.Create(2048);
            signature = TpmSignature.Rsa(TpmAlgId.Rsassa, TpmAlgId.Sha256,
                rsa.SignData(attest, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
            key = rsa;
        }
        return new QuoteSample(key, attest, signature.ToBytes(), values, nonce);
    }
}
