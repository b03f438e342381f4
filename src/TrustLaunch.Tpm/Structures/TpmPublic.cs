using System.Security.Cryptography;
using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Structures;

/// <summary>TPMT_SYM_DEF_OBJECT: the symmetric algorithm of a storage key (or Null).</summary>
public sealed record TpmSymmetric(TpmAlgId Algorithm, ushort KeyBits = 0, TpmAlgId Mode = TpmAlgId.Null)
{
    public static readonly TpmSymmetric None = new(TpmAlgId.Null);
    public static readonly TpmSymmetric Aes128Cfb = new(TpmAlgId.Aes, 128, TpmAlgId.Cfb);
}

/// <summary>A signing, encryption or KDF scheme with its hash (TPMT_RSA_SCHEME, TPMT_ECC_SCHEME, TPMT_KDF_SCHEME).</summary>
public sealed record TpmScheme(TpmAlgId Algorithm, TpmAlgId Hash = TpmAlgId.Null)
{
    public static readonly TpmScheme None = new(TpmAlgId.Null);
}

/// <summary>RSA parameters and public modulus. An exponent of 0 means 65537.</summary>
public sealed record TpmRsaKey(ushort KeyBits, uint Exponent, byte[] Modulus);

/// <summary>ECC parameters and public point.</summary>
public sealed record TpmEccKey(TpmEccCurve Curve, TpmScheme Kdf, byte[] X, byte[] Y);

/// <summary>
/// TPMT_PUBLIC, the public area of a TPM object. RSA and ECC keys are decoded fully; keyed-hash and symmetric
/// objects keep their unique digest only.
/// </summary>
public sealed partial record TpmPublic(
    TpmAlgId Type,
    TpmAlgId NameAlg,
    TpmaObject Attributes,
    byte[] AuthPolicy,
    TpmSymmetric Symmetric,
    TpmScheme Scheme,
    TpmRsaKey? Rsa = null,
    TpmEccKey? Ecc = null,
    byte[]? UniqueDigest = null)
{
    public const int MaxRsaBytes = 512;
    public const int MaxEccCoordinateBytes = 66;

    /// <summary>Name = nameAlg || H_nameAlg(TPMT_PUBLIC).</summary>
    public byte[] ComputeName()
    {
        var w = new TpmWriter();
        Write(w);
        var digest = TpmHash.Hash(NameAlg, w.WrittenSpan);
        var name = new byte[2 + digest.Length];
        name[0] = (byte)((ushort)NameAlg >> 8);
        name[1] = (byte)NameAlg;
        digest.CopyTo(name, 2);
        return name;
    }

    /// <summary>The key as a .NET object: an <see cref="RSA"/> or an <see cref="ECDsa"/>.</summary>
    public AsymmetricAlgorithm ToAsymmetricAlgorithm()
    {
        if (Rsa is { } rsa)
        {
            var exponent = rsa.Exponent == 0 ? 65537u : rsa.Exponent;
            var e = BitConverter.GetBytes(exponent);
            if (BitConverter.IsLittleEndian)
                Array.Reverse(e);
            var key = RSA.Create();
            key.ImportParameters(new RSAParameters { Modulus = rsa.Modulus, Exponent = e.SkipWhile(b => b == 0).ToArray() });
            return key;
        }
        if (Ecc is { } ecc)
            return ECDsa.Create(new ECParameters { Curve = ToCurve(ecc.Curve), Q = new ECPoint { X = ecc.X, Y = ecc.Y } });
        throw new NotSupportedException($"a {Type} object has no asymmetric public key");
    }

    /// <summary>SubjectPublicKeyInfo PEM, as <c>tpm2_createak -f pem</c> writes it.</summary>
    public string ExportPem()
    {
        using var key = ToAsymmetricAlgorithm();
        return key.ExportSubjectPublicKeyInfoPem();
    }

    public static ECCurve ToCurve(TpmEccCurve curve) => curve switch
    {
        TpmEccCurve.NistP256 => ECCurve.NamedCurves.nistP256,
        TpmEccCurve.NistP384 => ECCurve.NamedCurves.nistP384,
        TpmEccCurve.NistP521 => ECCurve.NamedCurves.nistP521,
        _ => throw new NotSupportedException($"ECC curve {curve} is not supported"),
    };

    public static int CoordinateSize(TpmEccCurve curve) => curve switch
    {
        TpmEccCurve.NistP256 => 32,
        TpmEccCurve.NistP384 => 48,
        TpmEccCurve.NistP521 => 66,
        _ => throw new NotSupportedException($"ECC curve {curve} is not supported"),
    };
}
