using System.Security.Cryptography;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace TrustLaunch.Hsm;

/// <summary>The operations with a key; each first checks that the key's usage allows it.</summary>
public sealed partial class HsmSession
{
    // ---- sign / verify -------------------------------------------------------------------------------------------

    /// <summary>Signs <paramref name="data"/> with a JWS algorithm (RS256/384/512, PS256/384/512, ES256/384). ECDSA
    /// signatures are r||s (P1363): SoftHSM 2.6 has no CKM_ECDSA_SHA256, so the data is hashed here and signed with
    /// CKM_ECDSA.</summary>
    public byte[] Sign(HsmKey key, string algorithm, ReadOnlySpan<byte> data)
    {
        ThrowIfDisposed();
        var (mechanism, input) = SignMechanism(key, algorithm, data, "C_SignInit", HsmObjectType.Private);
        key.Require(HsmKeyFunctions.Sign, "C_SignInit");
        return Pkcs11Call.Run(() => _session.Sign(mechanism, H(key), input));
    }

    /// <summary>True when the signature verifies in the HSM; ECDSA signatures may be r||s or DER.</summary>
    public bool Verify(HsmKey key, string algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        ThrowIfDisposed();
        var (mechanism, input) = SignMechanism(key, algorithm, data, "C_VerifyInit", HsmObjectType.Public);
        key.Require(HsmKeyFunctions.Verify, "C_VerifyInit");
        var sig = signature.ToArray();
        if (key.Kind == HsmKeyKind.Ec && sig.Length > 0 && sig[0] == 0x30 && sig.Length != 2 * key.FieldSize)
            sig = EcdsaSignatureFormats.DerToP1363(sig, key.FieldSize);
        try
        {
            var valid = false;
            Pkcs11Call.Run(() => _session.Verify(mechanism, H(key), input, sig, out valid));
            return valid;
        }
        catch (HsmException e) when (e.Code is "CKR_SIGNATURE_INVALID" or "CKR_SIGNATURE_LEN_RANGE")
        {
            return false;
        }
    }

    private (IMechanism Mechanism, byte[] Input) SignMechanism(HsmKey key, string algorithm, ReadOnlySpan<byte> data, string function, HsmObjectType expect)
    {
        if (key.Type != expect)
            throw new HsmException(function, "CKR_KEY_TYPE_INCONSISTENT", $"{key.Describe()} cannot {(expect == HsmObjectType.Private ? "sign" : "verify")}; use its {Pkcs11Uri.TypeName(expect)} key (type={Pkcs11Uri.TypeName(expect)})");
        var (kind, hash) = algorithm switch
        {
            "RS256" or "PS256" or "ES256" => (algorithm[0], HashAlgorithmName.SHA256),
            "RS384" or "PS384" or "ES384" => (algorithm[0], HashAlgorithmName.SHA384),
            "RS512" or "PS512" => (algorithm[0], HashAlgorithmName.SHA512),
            _ => throw new FormatException($"signature algorithm '{algorithm}' is not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384"),
        };
        var needs = kind == 'E' ? HsmKeyKind.Ec : HsmKeyKind.Rsa;
        if (key.Kind != needs || kind == 'E' && (algorithm == "ES256" ? 256 : 384) != key.Bits)
            throw new HsmException(function, "CKR_KEY_TYPE_INCONSISTENT",
                $"{key.Describe()} cannot make {algorithm} signatures; {algorithm} needs {(kind == 'E' ? $"an EC P-{algorithm[2..]} key" : "an RSA key")}");
        if (kind == 'E')
            return (Mech(CKM.CKM_ECDSA), CryptographicOperations.HashData(hash, data));
        if (kind == 'R')
        {
            var m = hash == HashAlgorithmName.SHA256 ? CKM.CKM_SHA256_RSA_PKCS : hash == HashAlgorithmName.SHA384 ? CKM.CKM_SHA384_RSA_PKCS : CKM.CKM_SHA512_RSA_PKCS;
            return (Mech(m), data.ToArray());
        }
        var (pss, h, mgf, len) = hash == HashAlgorithmName.SHA256 ? (CKM.CKM_SHA256_RSA_PKCS_PSS, CKM.CKM_SHA256, CKG.CKG_MGF1_SHA256, 32UL)
            : hash == HashAlgorithmName.SHA384 ? (CKM.CKM_SHA384_RSA_PKCS_PSS, CKM.CKM_SHA384, CKG.CKG_MGF1_SHA384, 48UL)
            : (CKM.CKM_SHA512_RSA_PKCS_PSS, CKM.CKM_SHA512, CKG.CKG_MGF1_SHA512, 64UL);
        var p = _session.Factories.MechanismParamsFactory.CreateCkRsaPkcsPssParams((ulong)h, (ulong)mgf, len);
        return (Mech(pss, p), data.ToArray());
    }

    // ---- encrypt / decrypt ---------------------------------------------------------------------------------------

    /// <summary>RSA-OAEP (SHA-1 MGF/hash: what SoftHSM 2.6 implements) with a public key, or AES-GCM with a secret
    /// key; the AES-GCM output is iv(12) || ciphertext || tag(16).</summary>
    public byte[] Encrypt(HsmKey key, ReadOnlySpan<byte> plaintext)
    {
        ThrowIfDisposed();
        var data = plaintext.ToArray();
        if (key.Kind == HsmKeyKind.Aes)
        {
            key.Require(HsmKeyFunctions.Encrypt, "C_EncryptInit");
            var iv = RandomNumberGenerator.GetBytes(12);
            var ct = Pkcs11Call.Run(() => _session.Encrypt(Gcm(iv), H(key), data));
            return [.. iv, .. ct];
        }
        RequireRsa(key, HsmObjectType.Public, "C_EncryptInit", "encrypt");
        key.Require(HsmKeyFunctions.Encrypt, "C_EncryptInit");
        return Pkcs11Call.Run(() => _session.Encrypt(Oaep(), H(key), data));
    }

    public byte[] Decrypt(HsmKey key, ReadOnlySpan<byte> ciphertext)
    {
        ThrowIfDisposed();
        if (key.Kind == HsmKeyKind.Aes)
        {
            key.Require(HsmKeyFunctions.Decrypt, "C_DecryptInit");
            if (ciphertext.Length < 12 + 16)
                throw new FormatException($"AES-GCM input is {ciphertext.Length} bytes; it needs at least iv(12) + tag(16)");
            var iv = ciphertext[..12].ToArray();
            var body = ciphertext[12..].ToArray();
            return Pkcs11Call.Run(() => _session.Decrypt(Gcm(iv), H(key), body));
        }
        RequireRsa(key, HsmObjectType.Private, "C_DecryptInit", "decrypt");
        key.Require(HsmKeyFunctions.Decrypt, "C_DecryptInit");
        var input = ciphertext.ToArray();
        return Pkcs11Call.Run(() => _session.Decrypt(Oaep(), H(key), input));
    }

    private IMechanism Gcm(byte[] iv) =>
        Mech(CKM.CKM_AES_GCM, _session.Factories.MechanismParamsFactory.CreateCkGcmParams(iv, 96, [], 128));

    private IMechanism Oaep() =>
        Mech(CKM.CKM_RSA_PKCS_OAEP, _session.Factories.MechanismParamsFactory.CreateCkRsaPkcsOaepParams(
            (ulong)CKM.CKM_SHA_1, (ulong)CKG.CKG_MGF1_SHA1, (ulong)CKZ.CKZ_DATA_SPECIFIED, null));

    private static void RequireRsa(HsmKey key, HsmObjectType type, string function, string verb)
    {
        if (key.Kind != HsmKeyKind.Rsa || key.Type != type)
            throw new HsmException(function, "CKR_KEY_TYPE_INCONSISTENT", $"{key.Describe()} cannot {verb}; use an AES key or an RSA {Pkcs11Uri.TypeName(type)} key");
    }

    // ---- wrap / unwrap -------------------------------------------------------------------------------------------

    /// <summary>Wraps an extractable key: with an AES key by AES key wrap (RFC 5649, CKM_AES_KEY_WRAP_PAD), with an
    /// RSA public key by RSA-OAEP.</summary>
    public byte[] Wrap(HsmKey wrappingKey, HsmKey key)
    {
        ThrowIfDisposed();
        var mechanism = wrappingKey.Kind switch
        {
            HsmKeyKind.Aes => Mech(CKM.CKM_AES_KEY_WRAP_PAD),
            HsmKeyKind.Rsa when wrappingKey.Type == HsmObjectType.Public => Oaep(),
            _ => throw new HsmException("C_WrapKey", "CKR_WRAPPING_KEY_TYPE_INCONSISTENT", $"{wrappingKey.Describe()} cannot wrap; use an AES key or an RSA public key"),
        };
        wrappingKey.Require(HsmKeyFunctions.Wrap, "C_WrapKey");
        return Pkcs11Call.Run(() => _session.WrapKey(mechanism, H(wrappingKey), H(key)));
    }
}
