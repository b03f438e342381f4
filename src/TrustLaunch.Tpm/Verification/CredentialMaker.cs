using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Tpm.Codec;
using TrustLaunch.Tpm.Structures;

namespace TrustLaunch.Tpm.Verification;

/// <summary>
/// TPM2_MakeCredential in software, for a registrar that holds only the EK public area and the AK name
/// (TPM 2.0 Part 1, sections 24 and 11.4.10; Part 3, TPM2_MakeCredential). The result can be activated only by the
/// TPM holding that EK, and only for the key with that name loaded.
/// </summary>
public static class CredentialMaker
{
    /// <summary>KDF label binding the seed to credential protection (with its zero octet in RSA-OAEP).</summary>
    internal const string IdentityLabel = "IDENTITY";
    internal const string StorageLabel = "STORAGE";
    internal const string IntegrityLabel = "INTEGRITY";

    private const int AesBlockSize = 16;
    private const int MaxNameSize = 2 + TpmHash.MaxDigestSize;

    /// <summary>
    /// Protects <paramref name="secret"/> for the TPM that holds <paramref name="ek"/>, bound to <paramref name="akName"/>.
    /// </summary>
    /// <param name="ek">EK public area: a restricted decryption key, RSA or ECC (NIST P-256/384/521), AES-CFB symmetric.</param>
    /// <param name="akName">The name of the key to be credentialed (nameAlg || H(TPMT_PUBLIC)).</param>
    /// <param name="secret">The credential: 1 to digest-size-of-the-EK-nameAlg bytes.</param>
    /// <exception cref="ArgumentException">The EK, the name or the secret is unusable; the message says which.</exception>
    public static MadeCredential Make(TpmPublic ek, ReadOnlySpan<byte> akName, ReadOnlySpan<byte> secret)
    {
        ArgumentNullException.ThrowIfNull(ek);
        Validate(ek, akName, secret);
        var digestSize = TpmHash.DigestSize(ek.NameAlg);
        var (seed, encryptedSecret) = ek.Type == TpmAlgId.Rsa ? RsaSeed(ek, digestSize) : EcdhSeed(ek, digestSize);
        try
        {
            return new MadeCredential(Seal(ek.NameAlg, ek.Symmetric.KeyBits, seed, akName, secret), encryptedSecret);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(seed);
        }
    }

    private static void Validate(TpmPublic ek, ReadOnlySpan<byte> akName, ReadOnlySpan<byte> secret)
    {
        if (ek.Type is not (TpmAlgId.Rsa or TpmAlgId.Ecc))
            throw new ArgumentException($"the EK must be an RSA or ECC key, not {ek.Type}", nameof(ek));
        const TpmaObject storage = TpmaObject.Restricted | TpmaObject.Decrypt;
        if ((ek.Attributes & storage) != storage || (ek.Attributes & TpmaObject.Sign) != 0)
            throw new ArgumentException(
                $"the EK must be a restricted decryption key (restricted|decrypt without sign); its attributes are 0x{(uint)ek.Attributes:X8}", nameof(ek));
        if (!TpmHash.IsHash(ek.NameAlg))
            throw new ArgumentException($"the EK nameAlg {ek.NameAlg} is not a supported hash", nameof(ek));
        var sym = ek.Symmetric;
        if (sym.Algorithm != TpmAlgId.Aes || sym.Mode != TpmAlgId.Cfb || sym.KeyBits is not (128 or 192 or 256))
            throw new ArgumentException(
                $"the EK symmetric {sym.Algorithm}-{sym.KeyBits}-{sym.Mode} is unsupported: MakeCredential needs AES-128/192/256 in CFB mode", nameof(ek));
        switch (ek.Type)
        {
            case TpmAlgId.Rsa when ek.Rsa is not { Modulus.Length: > 0 }:
                throw new ArgumentException("the RSA EK has no modulus (a template, not a created key?)", nameof(ek));
            case TpmAlgId.Ecc when ek.Ecc is not { X.Length: > 0, Y.Length: > 0 }:
                throw new ArgumentException("the ECC EK has no public point (a template, not a created key?)", nameof(ek));
            case TpmAlgId.Ecc when ek.Ecc.Curve is not (TpmEccCurve.NistP256 or TpmEccCurve.NistP384 or TpmEccCurve.NistP521):
                throw new ArgumentException($"the ECC EK curve {ek.Ecc.Curve} is unsupported: use NIST P-256, P-384 or P-521", nameof(ek));
        }
        if (akName.IsEmpty)
            throw new ArgumentException("the AK name is empty", nameof(akName));
        if (akName.Length > MaxNameSize)
            throw new ArgumentException($"the AK name is {akName.Length} bytes, a TPM name has at most {MaxNameSize}", nameof(akName));
        var digestSize = TpmHash.DigestSize(ek.NameAlg);
        if (secret.IsEmpty)
            throw new ArgumentException("the secret is empty", nameof(secret));
        if (secret.Length > digestSize)
            throw new ArgumentException(
                $"the secret is {secret.Length} bytes, too long: at most {digestSize} (the digest size of the EK nameAlg {ek.NameAlg})", nameof(secret));
    }

    // RSA: seed = random, encrypted with RSAES-OAEP (hash = EK nameAlg, label "IDENTITY\0").
    private static (byte[] Seed, byte[] EncryptedSecret) RsaSeed(TpmPublic ek, int digestSize)
    {
        var rsa = ek.Rsa!;
        var seed = RandomNumberGenerator.GetBytes(digestSize);
        try
        {
            var encrypted = RsaPublicKeyOperations.OaepEncrypt(rsa.Modulus, RsaPublicKeyOperations.Exponent(rsa.Exponent),
                ek.NameAlg, Encoding.ASCII.GetBytes(IdentityLabel + "\0"), seed);
            return (seed, encrypted);
        }
        catch (ArgumentException e)
        {
            CryptographicOperations.ZeroMemory(seed);
            throw new ArgumentException($"the RSA EK ({rsa.KeyBits} bits) is too small for OAEP with {ek.NameAlg}: {e.Message}", nameof(ek), e);
        }
    }

    // ECC: an ephemeral key on the EK's curve; Z = x(d_e * Q_ek);
    // seed = KDFe(nameAlg, Z, "IDENTITY", x(Q_e), x(Q_ek), digest bits); the secret is Q_e as TPMS_ECC_POINT.
    private static (byte[] Seed, byte[] EncryptedSecret) EcdhSeed(TpmPublic ek, int digestSize)
    {
        var ecc = ek.Ecc!;
        var curve = TpmPublic.ToCurve(ecc.Curve);
        var size = TpmPublic.CoordinateSize(ecc.Curve);
        if (ecc.X.Length > size || ecc.Y.Length > size)
            throw new ArgumentException($"the ECC EK point has coordinates longer than {size} bytes for {ecc.Curve}", nameof(ek));
        using var peer = ECDiffieHellman.Create();
        try
        {
            peer.ImportParameters(new ECParameters { Curve = curve, Q = new ECPoint { X = PadLeft(ecc.X, size), Y = PadLeft(ecc.Y, size) } });
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"the ECC EK point is not on {ecc.Curve}", nameof(ek), e);
        }
        using var ephemeral = ECDiffieHellman.Create(curve);
        var q = ephemeral.ExportParameters(false).Q;
        var z = ephemeral.DeriveRawSecretAgreement(peer.PublicKey);
        try
        {
            var seed = TpmKdf.KdfE(ek.NameAlg, z, IdentityLabel, q.X, ecc.X, digestSize * 8);
            var point = new TpmWriter(4 + 2 * size).WriteSized(q.X).WriteSized(q.Y).ToArray();
            return (seed, point);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(z);
        }
    }

    /// <summary>
    /// TPMS_ID_OBJECT from the seed: encIdentity = AES-CFB(KDFa(STORAGE, name), IV 0, TPM2B credential);
    /// integrityHMAC = HMAC(KDFa(INTEGRITY), encIdentity || name). Returns u16 size || integrityHMAC || encIdentity.
    /// </summary>
    private static byte[] Seal(TpmAlgId nameAlg, int symKeyBits, ReadOnlySpan<byte> seed, ReadOnlySpan<byte> akName, ReadOnlySpan<byte> secret)
    {
        var digestSize = TpmHash.DigestSize(nameAlg);
        var identityLength = 2 + secret.Length;
        var blob = new byte[2 + digestSize + identityLength];
        var hmacOut = blob.AsSpan(2, digestSize);
        var encIdentity = blob.AsSpan(2 + digestSize);
        BinaryPrimitives.WriteUInt16BigEndian(blob, (ushort)digestSize);

        var symKey = TpmKdf.KdfA(nameAlg, seed, StorageLabel, akName, [], symKeyBits);
        var hmacKey = TpmKdf.KdfA(nameAlg, seed, IntegrityLabel, [], [], digestSize * 8);
        var identity = new byte[identityLength];
        try
        {
            BinaryPrimitives.WriteUInt16BigEndian(identity, (ushort)secret.Length);
            secret.CopyTo(identity.AsSpan(2));
            AesCfbEncrypt(symKey, identity, encIdentity);
            using var hmac = IncrementalHash.CreateHMAC(TpmHash.Name(nameAlg), hmacKey);
            hmac.AppendData(encIdentity);
            hmac.AppendData(akName);
            hmac.GetHashAndReset(hmacOut);
            return blob;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(symKey);
            CryptographicOperations.ZeroMemory(hmacKey);
            CryptographicOperations.ZeroMemory(identity);
        }
    }

    // CFB with a full-block (128-bit) shift register and a zero IV, as the TPM uses for parameter and credential
    // encryption; the last block may be partial.
    private static void AesCfbEncrypt(byte[] key, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        Span<byte> register = stackalloc byte[AesBlockSize];
        Span<byte> keystream = stackalloc byte[AesBlockSize];
        register.Clear();
        try
        {
            for (var offset = 0; offset < plaintext.Length; offset += AesBlockSize)
            {
                aes.EncryptEcb(register, keystream, PaddingMode.None);
                var n = Math.Min(AesBlockSize, plaintext.Length - offset);
                for (var i = 0; i < n; i++)
                    ciphertext[offset + i] = (byte)(plaintext[offset + i] ^ keystream[i]);
                if (n == AesBlockSize)
                    ciphertext.Slice(offset, AesBlockSize).CopyTo(register);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(keystream);
        }
    }

    private static byte[] PadLeft(byte[] value, int size) =>
        value.Length == size ? value : [.. new byte[size - value.Length], .. value];
}
