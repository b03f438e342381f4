using System.Buffers.Binary;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Tpm;
using TrustLaunch.Tpm.Structures;
using TrustLaunch.Tpm.Verification;

namespace TrustLaunch.LoadSim.Simulation;

/// <summary>
/// TPM2_ActivateCredential in software for an RSA EK (TPM 2.0 Part 1, 24; the inverse of <see cref="CredentialMaker"/>):
/// seed = RSAES-OAEP-DECRYPT(EK, "IDENTITY\0"), integrity HMAC checked over encIdentity || AK name, then
/// encIdentity decrypted with AES-CFB under KDFa(STORAGE, AK name). .NET's RSA cannot decrypt OAEP with a label, so the
/// private operation is done here with the key's CRT parameters.
/// </summary>
internal static class SoftwareCredentialActivation
{
    private const int AesBlockSize = 16;

    public static byte[] Activate(RSA ek, TpmPublic ekPublic, ReadOnlySpan<byte> akName, ReadOnlySpan<byte> credentialBlob, ReadOnlySpan<byte> encryptedSecret)
    {
        var nameAlg = ekPublic.NameAlg;
        var seed = OaepDecrypt(ek, nameAlg, Encoding.ASCII.GetBytes("IDENTITY\0"), encryptedSecret);
        try
        {
            var digestSize = TpmHash.DigestSize(nameAlg);
            var hmacSize = BinaryPrimitives.ReadUInt16BigEndian(credentialBlob);
            if (hmacSize != digestSize || credentialBlob.Length < 2 + hmacSize + 2)
                throw new CryptographicException($"credential blob integrity HMAC is {hmacSize} bytes, expected {digestSize}");
            var integrity = credentialBlob.Slice(2, hmacSize);
            var encIdentity = credentialBlob[(2 + hmacSize)..];

            var hmacKey = TpmKdf.KdfA(nameAlg, seed, "INTEGRITY", [], [], digestSize * 8);
            using (var hmac = IncrementalHash.CreateHMAC(TpmHash.Name(nameAlg), hmacKey))
            {
                hmac.AppendData(encIdentity);
                hmac.AppendData(akName);
                if (!CryptographicOperations.FixedTimeEquals(hmac.GetHashAndReset(), integrity))
                    throw new CryptographicException("credential blob integrity check failed (wrong EK or AK name)");
            }
            var symKey = TpmKdf.KdfA(nameAlg, seed, "STORAGE", akName, [], ekPublic.Symmetric.KeyBits);
            var identity = AesCfbDecrypt(symKey, encIdentity);
            var size = BinaryPrimitives.ReadUInt16BigEndian(identity);
            if (size != identity.Length - 2)
                throw new CryptographicException($"decrypted credential claims {size} bytes, holds {identity.Length - 2}");
            return identity[2..];
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static byte[] OaepDecrypt(RSA key, TpmAlgId hash, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ciphertext)
    {
        var p = key.ExportParameters(includePrivateParameters: true);
        var k = p.Modulus!.Length;
        var hLen = TpmHash.DigestSize(hash);
        if (ciphertext.Length != k)
            throw new CryptographicException($"OAEP ciphertext is {ciphertext.Length} bytes, the modulus {k}");
        var em = PrivateOperation(p, ciphertext, k);
        // EM = 0x00 || maskedSeed || maskedDB, DB = lHash || PS || 0x01 || M
        var seed = em.AsSpan(1, hLen);
        var db = em.AsSpan(1 + hLen);
        XorMgf1(hash, db, seed);
        XorMgf1(hash, seed, db);
        var one = db[hLen..].IndexOfAnyExcept((byte)0);
        if (em[0] != 0 || !db[..hLen].SequenceEqual(TpmHash.Hash(hash, label)) || one < 0 || db[hLen + one] != 1)
            throw new CryptographicException("OAEP decoding failed (not encrypted to this EK with label IDENTITY)");
        return db[(hLen + one + 1)..].ToArray();
    }

    // m = c^d mod n through the CRT: m1 = c^dP mod p, m2 = c^dQ mod q, h = qInv (m1 - m2) mod p, m = m2 + h q.
    private static byte[] PrivateOperation(RSAParameters key, ReadOnlySpan<byte> input, int length)
    {
        static BigInteger Big(ReadOnlySpan<byte> b) => new(b, isUnsigned: true, isBigEndian: true);
        var c = Big(input);
        var (p, q) = (Big(key.P), Big(key.Q));
        var m1 = BigInteger.ModPow(c, Big(key.DP), p);
        var m2 = BigInteger.ModPow(c, Big(key.DQ), q);
        var h = Big(key.InverseQ) * (m1 - m2) % p;
        if (h.Sign < 0)
            h += p;
        var m = (m2 + h * q).ToByteArray(isUnsigned: true, isBigEndian: true);
        var result = new byte[length];
        m.CopyTo(result, length - m.Length);
        return result;
    }

    private static void XorMgf1(TpmAlgId hash, ReadOnlySpan<byte> seed, Span<byte> target)
    {
        var input = new byte[seed.Length + 4];
        seed.CopyTo(input);
        var hLen = TpmHash.DigestSize(hash);
        for (uint counter = 0, done = 0; done < target.Length; counter++, done += (uint)hLen)
        {
            BinaryPrimitives.WriteUInt32BigEndian(input.AsSpan(seed.Length), counter);
            var mask = TpmHash.Hash(hash, input);
            var n = Math.Min(hLen, target.Length - (int)done);
            for (var i = 0; i < n; i++)
                target[(int)done + i] ^= mask[i];
        }
    }

    private static byte[] AesCfbDecrypt(byte[] key, ReadOnlySpan<byte> ciphertext)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        var plaintext = new byte[ciphertext.Length];
        Span<byte> register = stackalloc byte[AesBlockSize];
        Span<byte> keystream = stackalloc byte[AesBlockSize];
        register.Clear();
        for (var offset = 0; offset < ciphertext.Length; offset += AesBlockSize)
        {
            aes.EncryptEcb(register, keystream, PaddingMode.None);
            var n = Math.Min(AesBlockSize, ciphertext.Length - offset);
            for (var i = 0; i < n; i++)
                plaintext[offset + i] = (byte)(ciphertext[offset + i] ^ keystream[i]);
            if (n == AesBlockSize)
                ciphertext.Slice(offset, AesBlockSize).CopyTo(register);
        }
        return plaintext;
    }
}
