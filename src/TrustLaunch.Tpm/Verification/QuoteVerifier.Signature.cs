using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
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
        // Current TPMs salt PSS with the digest size (what .NET checks); TPMs built to older revisions of the
        // reference code use the largest salt that fits, which only BouncyCastle can check.
        return rsa.VerifyData(signed, signature.Signature, hash, RSASignaturePadding.Pss)
            || VerifyPssMaxSalt(rsa, signature, signed);
    }

    private static bool VerifyPssMaxSalt(RSA rsa, TpmSignature signature, ReadOnlySpan<byte> signed)
    {
        var parameters = rsa.ExportParameters(includePrivateParameters: false);
        var digestSize = TpmHash.DigestSize(signature.Hash);
        var encodedLength = (rsa.KeySize - 1 + 7) / 8;
        var saltLength = encodedLength - digestSize - 2;
        if (saltLength < 0)
            return false;
        IDigest digest = signature.Hash switch
        {
            TpmAlgId.Sha1 => new Sha1Digest(),
            TpmAlgId.Sha256 => new Sha256Digest(),
            TpmAlgId.Sha384 => new Sha384Digest(),
            _ => new Sha512Digest(),
        };
        var signer = new PssSigner(new RsaBlindedEngine(), digest, saltLength);
        signer.Init(false, new RsaKeyParameters(false,
            new Org.BouncyCastle.Math.BigInteger(1, parameters.Modulus),
            new Org.BouncyCastle.Math.BigInteger(1, parameters.Exponent)));
        signer.BlockUpdate(signed);
        return signer.VerifySignature(signature.Signature);
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
