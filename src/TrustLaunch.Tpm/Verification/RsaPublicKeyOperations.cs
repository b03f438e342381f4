using System.Numerics;
using System.Security.Cryptography;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Verification;

/// <summary>
/// The two RSA public-key operations .NET's <see cref="RSA"/> cannot do (RFC 8017): RSAES-OAEP encryption with a
/// label (MakeCredential's "IDENTITY\0") and RSASSA-PSS verification whatever the salt length (TPMs salt with the
/// digest size or with the largest salt that fits). Both use the public key only, so no secret exponent is at stake.
/// </summary>
internal static class RsaPublicKeyOperations
{
    /// <summary>RSAES-OAEP-ENCRYPT with MGF1 over <paramref name="hash"/>; the result is as long as the modulus.</summary>
    public static byte[] OaepEncrypt(ReadOnlySpan<byte> modulus, BigInteger exponent, TpmAlgId hash, ReadOnlySpan<byte> label, ReadOnlySpan<byte> message)
    {
        var k = modulus.Length;
        var hLen = TpmHash.DigestSize(hash);
        if (message.Length > k - 2 * hLen - 2)
            throw new ArgumentException($"a {k * 8}-bit RSA key takes at most {k - 2 * hLen - 2} bytes with OAEP and {TpmHash.ToName(hash)}");
        // EM = 0x00 || maskedSeed || maskedDB, DB = lHash || PS || 0x01 || M
        var em = new byte[k];
        var seed = em.AsSpan(1, hLen);
        var db = em.AsSpan(1 + hLen);
        try
        {
            TpmHash.Hash(hash, label).CopyTo(db);
            db[db.Length - message.Length - 1] = 0x01;
            message.CopyTo(db[^message.Length..]);
            RandomNumberGenerator.Fill(seed);
            XorMgf1(hash, seed, db);
            XorMgf1(hash, db, seed);
            return PublicOperation(em, modulus, exponent)
                ?? throw new InvalidOperationException("OAEP encoding produced a value above the modulus");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(em);
        }
    }

    /// <summary>RSASSA-PSS-VERIFY (MGF1 with the same hash) accepting any salt length.</summary>
    public static bool PssVerify(ReadOnlySpan<byte> modulus, BigInteger exponent, TpmAlgId hash, ReadOnlySpan<byte> messageHash, ReadOnlySpan<byte> signature)
    {
        var hLen = TpmHash.DigestSize(hash);
        var modBits = (int)new BigInteger(modulus, isUnsigned: true, isBigEndian: true).GetBitLength();
        var emBits = modBits - 1;
        var emLen = (emBits + 7) / 8;
        if (signature.Length != modulus.Length || messageHash.Length != hLen || emLen < hLen + 2)
            return false;
        var decoded = PublicOperation(signature, modulus, exponent);
        if (decoded is null)
            return false;
        // EM is emLen bytes; when modBits is a multiple of 8 the decoded value carries one leading zero byte more.
        if (decoded.Length > emLen && decoded[0] != 0)
            return false;
        var em = decoded.AsSpan(decoded.Length - emLen);
        if (em[^1] != 0xBC)
            return false;
        var maskedDb = em[..(emLen - hLen - 1)].ToArray();
        var h = em.Slice(emLen - hLen - 1, hLen);
        var unusedBits = 8 * emLen - emBits;
        if ((maskedDb[0] & (0xFF << (8 - unusedBits)) & 0xFF) != 0)
            return false;
        XorMgf1(hash, h, maskedDb);
        maskedDb[0] &= (byte)(0xFF >> unusedBits);
        var one = maskedDb.AsSpan().IndexOfAnyExcept((byte)0);
        if (one < 0 || maskedDb[one] != 0x01)
            return false;
        var salt = maskedDb.AsSpan(one + 1);
        byte[] mPrime = [.. new byte[8], .. messageHash, .. salt];
        return CryptographicOperations.FixedTimeEquals(TpmHash.Hash(hash, mPrime), h);
    }

    /// <summary>x^e mod n as a big-endian string the length of the modulus; null when x ≥ n.</summary>
    private static byte[]? PublicOperation(ReadOnlySpan<byte> input, ReadOnlySpan<byte> modulus, BigInteger exponent)
    {
        var n = new BigInteger(modulus, isUnsigned: true, isBigEndian: true);
        var x = new BigInteger(input, isUnsigned: true, isBigEndian: true);
        if (x >= n)
            return null;
        var y = BigInteger.ModPow(x, exponent, n).ToByteArray(isUnsigned: true, isBigEndian: true);
        var result = new byte[modulus.Length];
        y.CopyTo(result, result.Length - y.Length);
        return result;
    }

    /// <summary>target ^= MGF1(seed, target.Length).</summary>
    private static void XorMgf1(TpmAlgId hash, ReadOnlySpan<byte> seed, Span<byte> target)
    {
        var hLen = TpmHash.DigestSize(hash);
        var input = new byte[seed.Length + 4];
        seed.CopyTo(input);
        for (uint counter = 0, done = 0; done < target.Length; counter++, done += (uint)hLen)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(input.AsSpan(seed.Length), counter);
            var mask = TpmHash.Hash(hash, input);
            var n = Math.Min(hLen, target.Length - (int)done);
            for (var i = 0; i < n; i++)
                target[(int)done + i] ^= mask[i];
        }
    }

    public static BigInteger Exponent(uint tpmExponent) => tpmExponent == 0 ? 65537 : tpmExponent;

    public static BigInteger Exponent(ReadOnlySpan<byte> bigEndian) => new(bigEndian, isUnsigned: true, isBigEndian: true);
}
