using System.Security.Cryptography;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Verification;

public static partial class QuoteVerifier
{
    /// <summary>A reason when the signature's algorithm cannot have been made by the key, else null.</summary>
    private static string? KeyMismatch(AsymmetricAlgorithm key, TpmSignature signature)
    {
        var matches = key switch
        {
            RSA => signature.Algorithm is TpmAlgId.Rsassa or TpmAlgId.Rsapss,
            _ => signature.Algorithm is TpmAlgId.Ecdsa,
        };
        return matches ? null : $"signature algorithm {AlgorithmName(signature.Algorithm)} does not match an {(key is RSA ? "RSA" : "ECC")} key";
    }

    private static string AlgorithmName(TpmAlgId alg) => alg switch
    {
        TpmAlgId.Rsassa => "RSASSA",
        TpmAlgId.Rsapss => "RSAPSS",
        TpmAlgId.Ecdsa => "ECDSA",
        TpmAlgId.Hmac => "HMAC",
        TpmAlgId.Null => "NULL",
        _ => $"0x{(ushort)alg:X4}",
    };

    /// <summary>Checks the signature over exactly the bytes given. Any cryptographic error counts as invalid.</summary>
    private static bool VerifySignature(AsymmetricAlgorithm key, TpmSignature signature, ReadOnlySpan<byte> signed)
    {
        try
        {
            return key switch
            {
                RSA rsa => VerifyRsa(rsa, signature, signed),
                ECDsa ecdsa => VerifyEcdsa(ecdsa, signature, signed),
                _ => false,
            };
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private static bool VerifyRsa(RSA rsa, TpmSignature signature, ReadOnlySpan<byte> signed)
    {
        if (signature.Signature.Length != (rsa.KeySize + 7) / 8)
            return false;
        var hash = TpmHash.Name(signature.Hash);
        if (signature.Algorithm == TpmAlgId.Rsassa)
            return rsa.VerifyData(signed, signature.Signature, hash, RSASignaturePadding.Pkcs1);
        // Current TPMs salt PSS with the digest size; TPMs built to older revisions of the reference code use the
        // largest salt that fits. .NET checks only the first, so PSS is verified for any salt length here.
        var parameters = rsa.ExportParameters(includePrivateParameters: false);
        return RsaPublicKeyOperations.PssVerify(parameters.Modulus, RsaPublicKeyOperations.Exponent(parameters.Exponent),
            signature.Hash, TpmHash.Hash(signature.Hash, signed), signature.Signature);
    }

    private static bool VerifyEcdsa(ECDsa ecdsa, TpmSignature signature, ReadOnlySpan<byte> signed)
    {
        var fieldSize = (ecdsa.KeySize + 7) / 8;
        var r = TrimLeadingZeros(signature.R);
        var s = TrimLeadingZeros(signature.S);
        if (r.Length > fieldSize || s.Length > fieldSize)
            return false;
        // r and s arrive as minimal big-endian integers; IEEE P1363 wants each left-padded to the field size.
        Span<byte> rs = stackalloc byte[2 * fieldSize];
        rs.Clear();
        r.CopyTo(rs[(fieldSize - r.Length)..fieldSize]);
        s.CopyTo(rs[(2 * fieldSize - s.Length)..]);
        var hash = TpmHash.Hash(signature.Hash, signed);
        return ecdsa.VerifyHash(hash, rs, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
    }

    private static ReadOnlySpan<byte> TrimLeadingZeros(ReadOnlySpan<byte> value)
    {
        var i = value.IndexOfAnyExcept((byte)0);
        return i < 0 ? [] : value[i..];
    }
}
